%% @doc What a Hornbeam process does with a message it does not expect: it logs the
%% first one, naming itself, and drops the rest quietly, so that a sender in a loop
%% cannot flood the log.
-module(hornbeam_unexpected).

-include_lib("kernel/include/logger.hrl").

-export([message/2]).

%% @doc Logs `Message' if it is the first unexpected one this process got.
-spec message(module(), term()) -> ok.
message(Module, Message) ->
    case get(?MODULE) of
        undefined ->
            put(?MODULE, logged),
            ?LOG_WARNING("~p ~p: unexpected message ~0P (further ones are not logged)",
                         [Module, self(), Message, 20]);
        logged ->
            ok
    end.
