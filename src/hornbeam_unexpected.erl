%% @doc What a Hornbeam process does with a message it does not expect: it logs the
%% first one, naming itself, and drops the rest quietly, so that a sender in a loop
%% cannot flood the log.
-module(hornbeam_unexpected).

-include_lib("kernel/include/logger.hrl").

-export([message/2, call/3, cast/3, info/3]).

%% @doc A gen_server's last `handle_call' clause: logs, and answers `unknown_call'.
-spec call(module(), term(), State) -> {reply, {error, unknown_call}, State}.
call(Module, Request, State) ->
    message(Module, {call, Request}),
    {reply, {error, unknown_call}, State}.

%% @doc A gen_server's last `handle_cast' clause.
-spec cast(module(), term(), State) -> {noreply, State}.
cast(Module, Message, State) ->
    message(Module, {cast, Message}),
    {noreply, State}.

%% @doc A gen_server's last `handle_info' clause.
-spec info(module(), term(), State) -> {noreply, State}.
info(Module, Message, State) ->
    message(Module, Message),
    {noreply, State}.

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
