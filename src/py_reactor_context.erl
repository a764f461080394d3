%% @doc A reactor context: Python protocols (`erlang.reactor') serving file
%% descriptors that Erlang hands over.
%%
%% The context owns one interpreter on one OS thread, which watches the handed-off
%% fds with epoll, reads them without the GIL and calls each connection's protocol.
%% Hand-offs do not pass through this process: `handoff/2,3' gives the fd straight to
%% the NIF. This process owns the interpreter (it ends when this process dies), logs
%% what the protocols raise, and runs the Erlang functions Python calls.
%%
%% ```
%% {ok, Sock} = gen_tcp:accept(Listen),
%% ok = py_reactor_context:handoff(Sock, #{type => tcp}).   % Python owns it now
%% '''
%%
%% Options: `setup_code' (Python run once in the context's interpreter, typically to
%% call `erlang.reactor.set_protocol_factory'), `max_connections', `read_size' (bytes
%% per read), and the interpreter options `pythonpath', `venv', `python_home'.
-module(py_reactor_context).
-behaviour(gen_server).

-include("py.hrl").

-export([start_link/3, start/3, stop/1,
         handoff/2, handoff/3, stats/1,
         exec/2, eval/2, eval/3]).
-export([init/1, handle_call/3, handle_cast/2, handle_info/2, terminate/2]).

-type ctx() :: pid() | term().
-type fd_or_socket() :: non_neg_integer() | port().
-type client_info() :: #{addr => inet:ip_address() | string() | binary(),
                         port => inet:port_number(),
                         type => tcp | udp | unix | pipe,
                         term() => term()}.
-export_type([ctx/0, client_info/0]).

-define(DEFAULT_MAX_CONNECTIONS, 65536).
-define(DEFAULT_READ_SIZE, 65536).
%% How long stop/1 waits for every connection_lost to run.
-define(STOP_TIMEOUT, 10000).

%%% Lifecycle

%% @doc Starts a reactor context registered as `Id' (any term; `default' is the one the
%% application starts). `Mode' is `subinterp' or `main'.
-spec start_link(term(), subinterp | main, map()) -> {ok, pid()} | {error, term()}.
start_link(Id, Mode, Opts) ->
    with_valid_options(Mode, Opts, fun(Valid) -> gen_server:start_link(?MODULE, {Id, Valid}, []) end).

%% @doc Like start_link/3, not linked to the caller.
-spec start(term(), subinterp | main, map()) -> {ok, pid()} | {error, term()}.
start(Id, Mode, Opts) ->
    with_valid_options(Mode, Opts, fun(Valid) -> gen_server:start(?MODULE, {Id, Valid}, []) end).

%% @doc Closes every connection (each protocol's `connection_lost' runs), then ends
%% the interpreter.
-spec stop(ctx()) -> ok | {error, no_reactor}.
stop(Ctx) ->
    case py_registry:lookup_reactor(Ctx) of
        {ok, Pid, _} -> gen_server:stop(Pid, normal, ?STOP_TIMEOUT + 1000);
        error -> {error, no_reactor}
    end.

%%% Connections

%% @doc Hands an fd, or a `gen_tcp' socket, to the default reactor context.
-spec handoff(fd_or_socket(), client_info()) -> ok | {error, term()}.
handoff(FdOrSocket, ClientInfo) ->
    handoff(default, FdOrSocket, ClientInfo).

%% @doc Hands an fd to a reactor context (its pid or id). From this call on the fd
%% belongs to the reactor: it is closed when the connection ends, and at once when
%% the hand-off is refused (`{error, max_connections}', `{error, no_reactor}'...).
%%
%% A `gen_tcp' socket is taken over: the reactor gets a duplicate of its fd and the
%% socket is closed, because Erlang's inet driver always closes its own fd. `addr',
%% `port' and `type' default to what the socket says.
-spec handoff(ctx(), fd_or_socket(), client_info()) -> ok | {error, term()}.
handoff(Ctx, Socket, ClientInfo) when is_port(Socket) ->
    case take_socket(Socket) of
        {ok, Fd, Peer} when is_map(ClientInfo) -> handoff(Ctx, Fd, maps:merge(Peer, ClientInfo));
        {ok, Fd, _} -> handoff(Ctx, Fd, ClientInfo);
        {error, _} = Error -> Error
    end;
handoff(Ctx, Fd, ClientInfo) when is_integer(Fd), Fd >= 0 ->
    Outcome =
        try
            Info = client_info(ClientInfo),
            case py_registry:lookup_reactor(Ctx) of
                {ok, _Pid, Resource} -> py_nif:reactor_handoff(Resource, Fd, Info);
                error -> {refused, no_reactor}
            end
        catch
            throw:{badarg, _} = Bad -> {refused, Bad}
        end,
    case Outcome of
        {refused, Reason} ->
            _ = py_nif:close_fd(Fd),
            {error, Reason};
        Result ->
            %% The NIF closed the fd itself if it refused it.
            Result
    end;
handoff(_Ctx, Fd, _ClientInfo) ->
    {error, {badarg, {fd, Fd}}}.

%% @doc Counters: `connections' (open now), `accepted', `closed', `bytes_in',
%% `bytes_out', `callbacks' (protocol callbacks run), `wakeups' (loop turns), and
%% `max_connections', `mode', `interp_id'.
-spec stats(ctx()) -> #{atom() => term()} | {error, no_reactor}.
stats(Ctx) ->
    case py_registry:lookup_reactor(Ctx) of
        {ok, _Pid, Resource} -> py_nif:reactor_stats(Resource);
        error -> {error, no_reactor}
    end.

%%% Code in the context's interpreter

%% @doc Runs statements in the context's interpreter, in the namespace `setup_code'
%% ran in, on the reactor's thread (so `set_protocol_factory' may be called).
-spec exec(ctx(), iodata()) -> ok | {error, term()}.
exec(Ctx, Code) ->
    code_call(Ctx, exec, Code, call_timeout()).

%% @doc Evaluates an expression in that namespace.
-spec eval(ctx(), iodata()) -> {ok, term()} | {error, term()}.
eval(Ctx, Expr) ->
    eval(Ctx, Expr, call_timeout()).

-spec eval(ctx(), iodata(), timeout()) -> {ok, term()} | {error, term()}.
eval(Ctx, Expr, Timeout) ->
    code_call(Ctx, eval, Expr, Timeout).

code_call(Ctx, Kind, Code, Timeout) ->
    case py_registry:lookup_reactor(Ctx) of
        {ok, Pid, _} ->
            try gen_server:call(Pid, {Kind, unicode:characters_to_binary(Code)}, Timeout)
            catch
                exit:{timeout, _} -> {error, timeout};
                exit:{noproc, _} -> {error, no_reactor}
            end;
        error -> {error, no_reactor}
    end.

call_timeout() ->
    application:get_env(hornbeam, call_timeout, ?PY_DEFAULT_TIMEOUT).

%%% Options and arguments

with_valid_options(Mode, Opts, Start) when is_map(Opts) ->
    try maps:fold(fun validate/3, validate(mode, Mode, defaults()), Opts) of
        Valid -> Start(Valid)
    catch
        throw:{invalid_option, _, _} = Invalid -> {error, Invalid}
    end;
with_valid_options(_Mode, Opts, _Start) ->
    {error, {invalid_option, options, Opts}}.

defaults() ->
    (py_interp_opts:defaults())#{setup_code => undefined,
                                 max_connections => ?DEFAULT_MAX_CONNECTIONS,
                                 read_size => ?DEFAULT_READ_SIZE}.

validate(setup_code, undefined, Acc) -> Acc#{setup_code => undefined};
validate(setup_code, Code, Acc) when is_binary(Code); is_list(Code) ->
    case unicode:characters_to_binary(Code) of
        Bin when is_binary(Bin) -> Acc#{setup_code => Bin};
        _ -> throw({invalid_option, setup_code, Code})
    end;
validate(max_connections, N, Acc) when is_integer(N), N > 0 -> Acc#{max_connections => N};
validate(read_size, N, Acc) when is_integer(N), N > 0, N =< 16#4000000 -> Acc#{read_size => N};
validate(Key, Value, Acc) ->
    py_interp_opts:validate(Key, Value, Acc).

%% The client info map as Python gets it: `addr' as text, `type' checked.
client_info(Info) when is_map(Info) ->
    maps:fold(fun client_field/3, #{}, Info);
client_info(Info) ->
    throw({badarg, {client_info, Info}}).

client_field(addr, Addr, Acc) when is_tuple(Addr) ->
    case inet:ntoa(Addr) of
        {error, einval} -> throw({badarg, {addr, Addr}});
        Text -> Acc#{addr => list_to_binary(Text)}
    end;
client_field(addr, Addr, Acc) when is_list(Addr) ->
    Acc#{addr => unicode:characters_to_binary(Addr)};
client_field(type, Type, Acc) ->
    lists:member(Type, [tcp, udp, unix, pipe]) orelse throw({badarg, {type, Type}}),
    Acc#{type => Type};
client_field(Key, Value, Acc) ->
    Acc#{Key => Value}.

%% A gen_tcp socket's fd, duplicated, and what the socket knows of its peer.
take_socket(Socket) ->
    case inet:getfd(Socket) of
        {ok, Fd} ->
            case py_nif:dup_fd(Fd) of
                {ok, Dup} ->
                    Peer = peer_info(Socket),
                    gen_tcp:close(Socket),
                    {ok, Dup, Peer};
                {error, _} = Error -> Error
            end;
        {error, Reason} -> {error, {badarg, {socket, Reason}}}
    end.

peer_info(Socket) ->
    case inet:peername(Socket) of
        {ok, {local, Path}} -> #{type => unix, addr => Path};
        {ok, {Addr, Port}} -> #{type => tcp, addr => Addr, port => Port};
        _ -> #{}
    end.

%%% gen_server

init({Id, #{mode := Mode} = Opts}) ->
    process_flag(trap_exit, true),
    {Paths, SiteDirs, Home} = py_interp_opts:locations(Opts),
    #{setup_code := Setup, max_connections := MaxConns, read_size := ReadSize} = Opts,
    case py_nif:reactor_new(Mode, self(), Paths, SiteDirs, Home, Setup, MaxConns, ReadSize) of
        {ok, Resource, _InterpId} ->
            case py_registry:register_reactor(Id, self(), Resource) of
                ok ->
                    {ok, #{id => Id, resource => Resource, waiting => #{}}};
                {error, Reason} ->
                    _ = stop_reactor(Resource),
                    {stop, Reason}
            end;
        {error, Reason} ->
            {stop, {python_init_failed, Reason}}
    end.

handle_call({Kind, Code}, From, #{resource := Resource, waiting := Waiting} = State) ->
    Ref = make_ref(),
    Queued = case Kind of
                 exec -> py_nif:reactor_exec(Resource, Ref, Code);
                 eval -> py_nif:reactor_eval(Resource, Ref, Code)
             end,
    case Queued of
        ok -> {noreply, State#{waiting := Waiting#{Ref => From}}};
        {error, _} = Error -> {reply, Error, State}
    end;
handle_call(Request, _From, State) ->
    hornbeam_unexpected:call(?MODULE, Request, State).

handle_cast(Message, State) ->
    hornbeam_unexpected:cast(?MODULE, Message, State).

handle_info({py_reactor_log, Level, Text}, #{id := Id} = State) ->
    logger:log(Level, "hornbeam reactor ~tp: ~ts", [Id, Text],
               #{hornbeam => reactor, reactor => Id}),
    {noreply, State};
handle_info({Ref, Result}, #{waiting := Waiting} = State) when is_reference(Ref) ->
    case maps:take(Ref, Waiting) of
        {From, Rest} ->
            gen_server:reply(From, Result),
            {noreply, State#{waiting := Rest}};
        error ->
            {noreply, State}
    end;
%% erlang.call and erlang.send from Python.
handle_info(Message, #{resource := Resource} = State) ->
    py_calls:serve_interpreter_message(
      Message, fun(Id, Reply) -> py_nif:reactor_callback_reply(Resource, Id, Reply) end),
    {noreply, State}.

terminate(_Reason, #{resource := Resource}) ->
    stop_reactor(Resource).

%% Closes every connection and waits until their connection_lost calls have run.
stop_reactor(Resource) ->
    Ref = make_ref(),
    case py_nif:reactor_stop(Resource, Ref) of
        ok ->
            receive {Ref, stopped} -> ok
            after ?STOP_TIMEOUT -> {error, timeout}
            end;
        {error, _} ->
            ok
    end.
