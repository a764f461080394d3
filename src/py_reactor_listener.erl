%% @doc Accepts TCP connections and hands each to a reactor context: the Erlang half
%% of serving a Python `erlang.reactor' protocol (pykrozen's, or your own) on a port.
%%
%% ```
%% {ok, _} = py_reactor_context:start_link(web, subinterp, #{setup_code => Setup}),
%% {ok, Listener} = py_reactor_listener:start_link(#{context => web, port => 8000}).
%% '''
%%
%% Several acceptor processes share the listening socket; each accepted socket is
%% given to the context with `py_reactor_context:handoff/3', which takes it over (a
%% refused hand-off closes it). The acceptors run under a supervisor of their own
%% (`py_reactor_acceptors'), linked to the listener: a crashed acceptor is replaced,
%% and stopping the listener (`stop/1', or its supervisor) closes the port and ends
%% them; open connections stay with the reactor.
-module(py_reactor_listener).
-behaviour(gen_server).

-export([start_link/1, port/1, stop/1]).
-export([init/1, handle_call/3, handle_cast/2, handle_info/2, terminate/2]).


-define(DEFAULTS, #{context => default, ip => {127, 0, 0, 1}, port => 8000,
                    acceptors => 4, backlog => 1024}).

%% @doc Starts listening. Options (all optional): `context' (a reactor's id or pid,
%% default `default'), `ip' (an address tuple or string, default 127.0.0.1), `port'
%% (default 8000; 0 picks a free one, see port/1), `acceptors' (default 4), `backlog'
%% (default 1024). Returns `{error, {invalid_option, Key, Value}}' for a bad one, and
%% `{error, {listen, Reason}}' when the port cannot be opened.
-spec start_link(map()) -> {ok, pid()} | {error, term()}.
start_link(Opts) when is_map(Opts) ->
    try maps:fold(fun validate/3, ?DEFAULTS, Opts) of
        Valid -> listen_then_start(Valid)
    catch
        throw:{invalid_option, _, _} = Invalid -> {error, Invalid}
    end.

%% Listening happens here, not in init/1: a failed init of a linked gen_server would
%% also kill the caller, and `{error, {listen, eaddrinuse}}' is an answer, not a crash.
listen_then_start(#{ip := Ip, port := Port, backlog := Backlog} = Valid) ->
    case gen_tcp:listen(Port, [binary, {active, false}, {reuseaddr, true}, {ip, Ip},
                               {backlog, Backlog}, {nodelay, true}]) of
        {ok, Listen} ->
            {ok, Pid} = gen_server:start_link(?MODULE, Valid#{listen => Listen}, []),
            ok = gen_tcp:controlling_process(Listen, Pid),
            {ok, Pid};
        {error, Reason} ->
            {error, {listen, Reason}}
    end.

%% @doc The port the listener is bound to.
-spec port(pid()) -> inet:port_number().
port(Listener) ->
    gen_server:call(Listener, port).

%% @doc Closes the listening socket and ends the acceptors.
-spec stop(pid()) -> ok.
stop(Listener) ->
    gen_server:stop(Listener).

validate(context, V, Acc) -> Acc#{context => V};
validate(ip, V, Acc) when is_tuple(V) -> Acc#{ip => V};
validate(ip, V, Acc) when is_list(V); is_binary(V) ->
    case inet:parse_address(unicode:characters_to_list(V)) of
        {ok, Ip} -> Acc#{ip => Ip};
        {error, _} -> throw({invalid_option, ip, V})
    end;
validate(port, V, Acc) when is_integer(V), V >= 0, V =< 65535 -> Acc#{port => V};
validate(acceptors, V, Acc) when is_integer(V), V >= 1 -> Acc#{acceptors => V};
validate(backlog, V, Acc) when is_integer(V), V >= 1 -> Acc#{backlog => V};
validate(Key, V, _) -> throw({invalid_option, Key, V}).

init(#{context := Ctx, listen := Listen, acceptors := N}) ->
    process_flag(trap_exit, true),
    {ok, Bound} = inet:port(Listen),
    {ok, Acceptors} = py_reactor_acceptors:start_link(Listen, Ctx, N),
    {ok, #{listen => Listen, port => Bound, acceptors => Acceptors}}.

handle_call(port, _From, #{port := Port} = State) -> {reply, Port, State};
handle_call(Request, _From, State) ->
    hornbeam_unexpected:call(?MODULE, Request, State).

handle_cast(Message, State) ->
    hornbeam_unexpected:cast(?MODULE, Message, State).

handle_info({'EXIT', Acceptors, Reason}, #{acceptors := Acceptors} = State) ->
    {stop, {acceptors_failed, Reason}, State};
handle_info(Message, State) ->
    hornbeam_unexpected:info(?MODULE, Message, State).

%% Closing the socket ends the acceptors (their accept returns `{error, closed}').
terminate(_Reason, #{listen := Listen}) ->
    gen_tcp:close(Listen).
