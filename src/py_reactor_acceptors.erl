%% @doc The acceptors of a `py_reactor_listener', supervised: each waits in
%% `gen_tcp:accept/1' on the listener's socket and hands every connection it accepts to
%% the reactor context; one that crashes is replaced. The listener owns the socket and
%% starts this supervisor linked, so the two end together: closing the socket ends the
%% acceptors normally, and they are not restarted. If they keep crashing, the
%% supervisor gives up and the listener stops with `{acceptors_failed, Reason}'.
-module(py_reactor_acceptors).
-behaviour(supervisor).

-include_lib("kernel/include/logger.hrl").

-export([start_link/3, start_acceptor/2]).
-export([init/1]).

-spec start_link(gen_tcp:socket(), py_reactor_context:ctx(), pos_integer()) ->
    {ok, pid()} | {error, term()}.
start_link(Listen, Ctx, Count) ->
    supervisor:start_link(?MODULE, {Listen, Ctx, Count}).

-spec init({gen_tcp:socket(), py_reactor_context:ctx(), pos_integer()}) ->
    {ok, {supervisor:sup_flags(), [supervisor:child_spec()]}}.
init({Listen, Ctx, Count}) ->
    Acceptor = fun(N) ->
                   #{id => {acceptor, N},
                     start => {?MODULE, start_acceptor, [Listen, Ctx]},
                     restart => transient,
                     %% Enough to finish a hand-off in progress: the listener closed
                     %% the socket first, so the next accept returns at once.
                     shutdown => 5000}
               end,
    {ok, {#{strategy => one_for_one, intensity => 10, period => 10},
          [Acceptor(N) || N <- lists:seq(1, Count)]}}.

%% @doc One acceptor. A plain process, not a gen_server: it spends its life blocked in
%% `gen_tcp:accept/1', where it could not answer a system message anyway.
-spec start_acceptor(gen_tcp:socket(), py_reactor_context:ctx()) -> {ok, pid()}.
start_acceptor(Listen, Ctx) ->
    {ok, proc_lib:spawn_link(fun() ->
                                 %% A shutdown waits for the accept in progress to end:
                                 %% a connection just accepted is handed off, not dropped.
                                 process_flag(trap_exit, true),
                                 accept(Listen, Ctx)
                             end)}.

accept(Listen, Ctx) ->
    case gen_tcp:accept(Listen) of
        {ok, Socket} ->
            case py_reactor_context:handoff(Ctx, Socket, #{}) of
                ok -> ok;
                {error, Reason} ->
                    ?LOG_WARNING("py_reactor_listener: hand-off to ~0p refused: ~0p", [Ctx, Reason])
            end,
            accept(Listen, Ctx);
        {error, closed} ->
            ok;
        {error, Reason} ->
            ?LOG_WARNING("py_reactor_listener: accept failed: ~0p", [Reason]),
            timer:sleep(100),  % emfile and the like: do not spin
            accept(Listen, Ctx)
    end.
