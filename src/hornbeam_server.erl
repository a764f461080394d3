%% @doc One named HTTP server: it opens the listening socket, starts the NIF's engine
%% and the application's interpreters on it, passes the engine's log lines to
%% `logger', and drains and stops everything when it terminates.
%%
%% The engine accepts natively on a duplicate of the listening socket; this process
%% keeps the original, so the port stays bound exactly as long as the server lives.
-module(hornbeam_server).
-behaviour(gen_server).

-export([start_link/1, info/1]).
-export([init/1, handle_call/3, handle_cast/2, handle_info/2, terminate/2]).

-record(state, {name :: atom(),
                listen :: gen_tcp:socket(),
                %% HTTP/3's UDP socket: the engine serves QUIC on a duplicate.
                udp :: gen_udp:socket() | undefined,
                nif :: reference(),
                graceful :: non_neg_integer(),
                bind :: string()}).

-spec start_link(map()) -> {ok, pid()} | {error, term()}.
start_link(Config) ->
    gen_server:start_link(?MODULE, Config, []).

-spec info(pid()) -> map() | {error, {engine_info_failed, term()}}.
info(Pid) ->
    gen_server:call(Pid, info).

init(#{name := Name, bind := {Ip, Port} = Bind, backlog := Backlog} = Config0) ->
    process_flag(trap_exit, true),
    case tls_files(Config0) of
        {ok, Tls} -> listen(Config0#{tls => Tls}, Name, Ip, Port, Bind, Backlog);
        {error, Reason} -> {stop, Reason}
    end.

listen(Config, Name, Ip, Port, Bind, Backlog) ->
    Family = case tuple_size(Ip) of 4 -> inet; 8 -> inet6 end,
    ListenOpts = [binary, Family, {ip, Ip}, {active, false}, {reuseaddr, true}, {backlog, Backlog}],
    case gen_tcp:listen(Port, ListenOpts) of
        {ok, Listen} ->
            {ok, {_, BoundPort}} = inet:sockname(Listen),
            case open_udp(Config, Family, Ip, BoundPort) of
                {ok, Udp} ->
                    start_engine(Config, Listen, Udp);
                {error, Reason} ->
                    gen_tcp:close(Listen),
                    {stop, Reason}
            end;
        {error, eaddrinuse} ->
            {stop, {eaddrinuse, hornbeam_config:bind_text(Bind)}};
        {error, Reason} ->
            logger:error("hornbeam ~p: cannot listen on ~s: ~p", [Name, hornbeam_config:bind_text(Bind), Reason]),
            {stop, {listen_failed, hornbeam_config:bind_text(Bind), Reason}}
    end.

%% HTTP/3 listens on UDP: `http3_port', or the TCP port's number (the one a client
%% reads in Alt-Svc). No reuseaddr: a second server on the port must fail here.
open_udp(#{http_version := Versions} = Config, Family, Ip, TcpPort) ->
    case lists:member('HTTP/3', Versions) of
        false ->
            {ok, undefined};
        true ->
            Port = case maps:get(http3_port, Config) of
                       undefined -> TcpPort;
                       P -> P
                   end,
            Text = "udp " ++ hornbeam_config:bind_text({Ip, Port}),
            case gen_udp:open(Port, [binary, Family, {ip, Ip}, {active, false}]) of
                {ok, Udp} -> {ok, Udp};
                {error, eaddrinuse} -> {error, {eaddrinuse, Text}};
                {error, Reason} -> {error, {listen_failed, Text, Reason}}
            end
    end.

start_engine(#{name := Name, graceful_timeout := Graceful} = Config, Listen, Udp) ->
    {ok, Fd} = prim_inet:getfd(Listen),
    {ok, {_, BoundPort}} = inet:sockname(Listen),
    IoThreads = application:get_env(hornbeam, io_threads, 0),
    Agents = [start_agent() || _ <- lists:seq(1, maps:get(workers, Config))],
    Http3 = http3_socket(Udp),
    ServerOpts = (server_opts(Config))#{http3 => Http3},
    case py_nif:http_server_start(Fd, app_opts(Config, Agents), ServerOpts, IoThreads) of
        {ok, Nif, Mode} ->
            {Ip, _} = maps:get(bind, Config),
            Bind = hornbeam_config:bind_text({Ip, BoundPort}),
            {Module, Callable} = maps:get(app_spec, Config),
            Scheme = case maps:get(ssl, Config) of true -> "https"; false -> "http" end,
            logger:notice("hornbeam ~p: serving ~s:~s on ~s://~s~s (~b ~s worker~s, ~s)",
                          [Name, Module, Callable, Scheme, Bind, http3_text(Http3), maps:get(workers, Config),
                           maps:get(worker_class, Config), plural(maps:get(workers, Config)), Mode],
                          #{hornbeam => http}),
            {ok, #state{name = Name, listen = Listen, udp = Udp, nif = Nif, graceful = Graceful,
                        bind = Bind}};
        {error, Reason} ->
            gen_tcp:close(Listen),
            close_udp(Udp),
            {stop, start_error(Reason)}
    end.

http3_socket(undefined) ->
    undefined;
http3_socket(Udp) ->
    {ok, Fd} = prim_inet:getfd(Udp),
    {ok, {_, Port}} = inet:sockname(Udp),
    #{fd => Fd, port => Port}.

http3_text(undefined) ->
    "";
http3_text(#{port := Port}) ->
    io_lib:format(" and HTTP/3 on UDP port ~b", [Port]).

close_udp(undefined) -> ok;
close_udp(Udp) -> gen_udp:close(Udp).

%% Texts from the NIF come as binaries; errors carry strings, like the spec given.
start_error({Kind, Text}) when is_binary(Text) -> {Kind, unicode:characters_to_list(Text)};
start_error({Kind, Option, Text}) when is_binary(Text) -> {Kind, Option, unicode:characters_to_list(Text)};
start_error(Reason) -> Reason.

plural(1) -> "";
plural(_) -> "s".

app_opts(#{app_spec := {Module, Callable}} = Config, Agents) ->
    {Paths, SiteDirs, Home} = py_interp_opts:locations(Config),
    {ok, Cwd} = file:get_cwd(),
    #{worker_class => maps:get(worker_class, Config),
      lifespan => maps:get(lifespan, Config),
      graceful_timeout => maps:get(graceful_timeout, Config),
      websocket_max_frame_size => maps:get(websocket_max_frame_size, Config),
      websocket_timeout => maps:get(websocket_timeout, Config),
      module => bin(Module),
      callable => bin(Callable),
      workers => maps:get(workers, Config),
      python_mode => maps:get(python_mode, Config),
      %% As gunicorn does, the working directory is importable: "app:application" finds
      %% ./app.py.
      paths => Paths ++ [bin(Cwd)],
      site_dirs => SiteDirs,
      python_home => Home,
      max_requests => maps:get(max_requests, Config),
      preload_app => maps:get(preload_app, Config),
      agents => Agents}.

%% An agent runs erlang.call for the workers' threads; it ends with this server.
start_agent() ->
    Agent = hornbeam_agent:start(self()),
    monitor(process, Agent),
    Agent.

%% The PEM files' contents (the engine parses them), read here so a missing or
%% unreadable file names its option.
tls_files(#{ssl := false}) ->
    {ok, undefined};
tls_files(Config) ->
    Read = fun(Key) ->
               case maps:get(Key, Config) of
                   undefined -> undefined;
                   Path ->
                       case file:read_file(Path) of
                           {ok, Pem} -> Pem;
                           {error, Reason} -> throw({ssl_file_unreadable, Key, Path, Reason})
                       end
               end
           end,
    try
        {ok, #{cert => Read(certfile), key => Read(keyfile), cacert => Read(cacertfile)}}
    catch
        throw:Reason -> {error, Reason}
    end.

server_opts(Config) ->
    Keys = [timeout, body_read_timeout, keepalive, max_request_line_size, max_header_size, max_headers,
            max_body_size, access_log, max_concurrent_streams, websocket_compression, tls],
    Plain = maps:with(Keys, Config),
    Versions = maps:get(http_version, Config),
    Plain#{root_path => bin(maps:get(root_path, Config)),
           http1 => lists:member('HTTP/1.1', Versions),
           http2 => lists:member('HTTP/2', Versions),
           forwarded_allow_ips => [bin(E) || E <- maps:get(forwarded_allow_ips, Config)]}.

bin(B) when is_binary(B) -> B;
bin(L) when is_list(L) -> unicode:characters_to_binary(L).

handle_call(info, _From, #state{nif = Nif, bind = Bind} = State) ->
    Reply = case py_nif:http_server_info(Nif) of
                Info when is_map(Info) -> Info#{bind => Bind};
                Failed -> {error, {engine_info_failed, Failed}}
            end,
    {reply, Reply, State};
handle_call(Request, _From, State) ->
    hornbeam_unexpected:call(?MODULE, Request, State).

handle_cast(Message, State) ->
    hornbeam_unexpected:cast(?MODULE, Message, State).

handle_info({hornbeam_log, Level, Text}, #state{name = Name} = State) ->
    logger:log(Level, "hornbeam ~p: ~ts", [Name, Text], #{hornbeam => http, server => Name}),
    {noreply, State};
handle_info({hornbeam_access, Text}, #state{name = Name} = State) ->
    logger:info("~ts", [Text], #{hornbeam => access, server => Name}),
    {noreply, State};
handle_info({'DOWN', _, process, Agent, _}, #state{nif = Nif} = State) ->
    %% Only agents are monitored: a killed one is replaced at once.
    ok = py_nif:http_server_replace_agent(Nif, Agent, start_agent()),
    {noreply, State};
handle_info(Message, State) ->
    hornbeam_unexpected:info(?MODULE, Message, State).

terminate(_Reason, #state{nif = Nif, listen = Listen, udp = Udp, graceful = Graceful}) ->
    %% Closed first: the engine's duplicate goes when it stops accepting, and from then
    %% on a new client is refused at once instead of waiting in the backlog for the
    %% whole drain.
    gen_tcp:close(Listen),
    close_udp(Udp),
    ok = py_nif:http_server_stop(Nif, Graceful).
