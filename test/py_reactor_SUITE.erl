%% Reactor contexts: real sockets, pipes and Unix sockets accepted by Erlang and
%% handed to Python protocols (erlang.reactor), spoken to by real clients.
-module(py_reactor_SUITE).
-include_lib("common_test/include/ct.hrl").
-include_lib("stdlib/include/assert.hrl").

-export([all/0, groups/0, init_per_suite/1, end_per_suite/1,
         init_per_testcase/2, end_per_testcase/2]).
-export([log/2]).
-export([seed_echo_served_to_a_socket_client/1,
         seed_http_served_to_curl/1,
         thousand_connections_echo_thousand_messages_each/1,
         hundred_megabytes_echo_under_back_pressure/1,
         idle_connections_wake_nothing/1,
         unix_socket_fd/1,
         pipe_fd/1,
         client_closes/1,
         protocol_closes/1,
         stop_closes_every_connection/1,
         exception_closes_only_its_connection/1,
         unknown_action_closes_the_connection/1,
         connection_made_exception_closes_the_fd/1,
         max_connections_refuses_and_closes/1,
         bad_handoffs_are_refused_and_close_the_fd/1,
         invalid_options_and_failing_setup/1,
         two_contexts_serve_different_protocols/1,
         reactor_buffer_operations/1,
         ownership_transfer_and_duplicate/1,
         main_mode_reactor/1,
         connection_made_may_write_first/1,
         default_context_out_of_the_box/1,
         factory_is_per_reactor_thread/1,
         exec_and_eval/1,
         same_fd_twice_is_ignored/1,
         default_context_restarts_after_a_crash/1,
         request_write_flushes_another_connection/1,
         listener_accepts_and_hands_off/1, listener_replaces_a_crashed_acceptor/1]).

all() ->
    [{group, protocols}, {group, load}, {group, errors}, {group, contexts}].

groups() ->
    [{protocols, [], [seed_echo_served_to_a_socket_client, seed_http_served_to_curl,
                      reactor_buffer_operations, unix_socket_fd, pipe_fd,
                      client_closes, protocol_closes, stop_closes_every_connection,
                      connection_made_may_write_first,
                      request_write_flushes_another_connection,
                      listener_accepts_and_hands_off, listener_replaces_a_crashed_acceptor]},
     {load, [], [thousand_connections_echo_thousand_messages_each,
                 hundred_megabytes_echo_under_back_pressure,
                 idle_connections_wake_nothing]},
     {errors, [], [exception_closes_only_its_connection,
                   unknown_action_closes_the_connection,
                   connection_made_exception_closes_the_fd,
                   max_connections_refuses_and_closes,
                   bad_handoffs_are_refused_and_close_the_fd,
                   invalid_options_and_failing_setup, same_fd_twice_is_ignored]},
     {contexts, [], [two_contexts_serve_different_protocols,
                     ownership_transfer_and_duplicate, main_mode_reactor,
                     default_context_out_of_the_box, default_context_restarts_after_a_crash,
                     factory_is_per_reactor_thread,
                     exec_and_eval]}].

init_per_suite(Config) ->
    {ok, _} = application:ensure_all_started(hornbeam),
    Config.

end_per_suite(_Config) ->
    application:stop(hornbeam).

init_per_testcase(Case, Config) ->
    ok = logger:add_handler(Case, ?MODULE, #{config => #{pid => self()}, level => all}),
    [{case_name, Case} | Config].

end_per_testcase(Case, _Config) ->
    logger:remove_handler(Case),
    [py_reactor_context:stop(Id) || Id <- [Case, {Case, 1}, {Case, 2}]],
    ok.

%% A logger handler that forwards reactor log events to the test process.
log(#{meta := #{reactor := _}} = Event, #{config := #{pid := Pid}}) ->
    Pid ! {reactor_log, Event};
log(_Event, _Config) ->
    ok.

%%% Helpers

%% A reactor context for this test case running `Setup' (the suite's data dir is on
%% sys.path).
reactor(Config, Setup) ->
    reactor(Config, ?config(case_name, Config), subinterp, Setup, #{}).

reactor(Config, Id, Mode, Setup, Extra) ->
    Opts = maps:merge(#{setup_code => Setup, pythonpath => [?config(data_dir, Config)]}, Extra),
    {ok, Pid} = py_reactor_context:start(Id, Mode, Opts),
    Pid.

factory(Module, Class) ->
    iolist_to_binary(["import erlang.reactor as reactor\nimport ", Module, "\n",
                      "reactor.set_protocol_factory(", Module, ".", Class, ")\n"]).

listen() ->
    {ok, L} = gen_tcp:listen(0, [binary, {active, false}, {reuseaddr, true}, {backlog, 1024}]),
    {ok, Port} = inet:port(L),
    {L, Port}.

%% Connects a client and hands the accepted socket to `Ctx'.
connect(Ctx, {L, Port}) ->
    connect(Ctx, {L, Port}, #{}).

connect(Ctx, {L, Port}, Info) ->
    {ok, C} = gen_tcp:connect({127, 0, 0, 1}, Port, [binary, {active, false}, {nodelay, true}]),
    {ok, S} = gen_tcp:accept(L),
    ok = py_reactor_context:handoff(Ctx, S, Info),
    C.

%% An acceptor that hands every connection on `L' to `Ctx' until killed.
acceptor(Ctx, L) ->
    spawn_link(fun Loop() ->
        {ok, S} = gen_tcp:accept(L),
        ok = py_reactor_context:handoff(Ctx, S, #{}),
        Loop()
    end).

echo_roundtrip(C, Msg) ->
    ok = gen_tcp:send(C, Msg),
    {ok, Got} = gen_tcp:recv(C, byte_size(Msg), 5000),
    Got.

stats(Ctx, Key) ->
    maps:get(Key, py_reactor_context:stats(Ctx)).

%% Waits (no sleeping) until the reactor reports `Key' at `Value'.
await_stat(Ctx, Key, Value) ->
    await(fun() -> stats(Ctx, Key) =:= Value end, 10000).

await(Cond, Ms) ->
    Deadline = erlang:monotonic_time(millisecond) + Ms,
    await_loop(Cond, Deadline).

await_loop(Cond, Deadline) ->
    case Cond() of
        true -> ok;
        false ->
            erlang:monotonic_time(millisecond) < Deadline orelse ct:fail(condition_not_met),
            erlang:yield(),
            await_loop(Cond, Deadline)
    end.

reactor_log_text() ->
    receive
        {reactor_log, #{msg := {Format, Args}}} -> unicode:characters_to_binary(io_lib:format(Format, Args))
    after 5000 -> ct:fail(no_reactor_log)
    end.

closed_by_peer(C) ->
    {error, closed} =:= gen_tcp:recv(C, 0, 5000).

%%% Protocols

seed_echo_served_to_a_socket_client(Config) ->
    Ctx = reactor(Config, <<"import seed_echo\n">>),
    Listen = listen(),
    C = connect(Ctx, Listen),
    ?assertEqual(<<"ping">>, echo_roundtrip(C, <<"ping">>)),
    Big = rand:bytes(200000),
    ok = gen_tcp:send(C, Big),
    {ok, Back} = gen_tcp:recv(C, byte_size(Big), 5000),
    ?assertEqual(Big, Back),
    %% The counters are bumped right after each write: the client may see the bytes
    %% first, so wait for them rather than read them once.
    await_stat(Ctx, bytes_out, 4 + 200000),
    #{bytes_in := In, connections := 1} = py_reactor_context:stats(Ctx),
    ?assertEqual(4 + 200000, In).

seed_http_served_to_curl(Config) ->
    Ctx = reactor(Config, <<"import seed_http\n">>),
    {L, Port} = listen(),
    acceptor(Ctx, L),
    Url = "http://127.0.0.1:" ++ integer_to_list(Port) ++ "/hello/reactor",
    Out = os:cmd("curl -s -i --max-time 10 " ++ Url),
    ?assertMatch({match, _}, re:run(Out, "^HTTP/1.0 200 OK")),
    ?assertMatch({match, _}, re:run(Out, "Hello! You requested /hello/reactor$")),
    %% The protocol closes after each response (HTTP/1.0).
    await_stat(Ctx, connections, 0).

reactor_buffer_operations(Config) ->
    Ctx = reactor(Config, factory("reactor_protocols", "BufferProbe")),
    C = connect(Ctx, listen()),
    Request = <<"GET /a/b/c?x=1 HTTP/1.1\r\nHost: example\r\nAccept: */*\r\n\r\n">>,
    ok = gen_tcp:send(C, Request),
    {ok, Report} = recv_line(C),
    {ok, #{<<"checks">> := Checks, <<"failures">> := Failures}} = py:call(json, loads, [Report]),
    ?assertEqual([], Failures),
    ?assert(Checks >= 50),
    %% A buffer kept by the protocol stays valid after later reads.
    ok = gen_tcp:send(C, <<"second message">>),
    {ok, Kept} = recv_line(C),
    ?assertEqual({ok, #{<<"kept_intact">> => true, <<"kept_type">> => <<"ReactorBuffer">>}},
                 py:call(json, loads, [Kept])).

recv_line(C) ->
    inet:setopts(C, [{packet, line}]),
    Line = gen_tcp:recv(C, 0, 5000),
    inet:setopts(C, [{packet, raw}]),
    Line.

unix_socket_fd(Config) ->
    Ctx = reactor(Config, <<"import seed_echo\n">>),
    %% A Unix socket path has at most 107 bytes: priv_dir is too deep.
    Path = "/tmp/hornbeam-reactor-" ++ os:getpid() ++ ".sock",
    file:delete(Path),
    {ok, L} = gen_tcp:listen(0, [binary, {active, false}, {ifaddr, {local, Path}}]),
    {ok, C} = gen_tcp:connect({local, Path}, 0, [binary, {active, false}]),
    {ok, S} = gen_tcp:accept(L),
    ok = py_reactor_context:handoff(Ctx, S, #{}),
    ?assertEqual(<<"over a unix socket">>, echo_roundtrip(C, <<"over a unix socket">>)),
    {ok, [{Fd, Info}]} = py_reactor_context:eval(Ctx, <<"[(fd, p.client_info) for fd, p in __import__('erlang.reactor').reactor._state.protocols.items()]">>),
    ?assert(is_integer(Fd)),
    ?assertMatch(#{type := unix}, Info),
    file:delete(Path).

pipe_fd(Config) ->
    Ctx = reactor(Config, factory("reactor_protocols", "Sink")),
    {ok, {R, W}} = py:call(os, pipe, []),
    ok = py_reactor_context:handoff(Ctx, R, #{type => pipe, reply_to => self()}),
    {ok, 5} = py:call(os, write, [W, {bytes, <<"first">>}]),
    receive {data, {bytes, <<"first">>}} -> ok after 5000 -> ct:fail(no_data) end,
    {ok, 6} = py:call(os, write, [W, {bytes, <<"second">>}]),
    receive {data, {bytes, <<"second">>}} -> ok after 5000 -> ct:fail(no_data) end,
    {ok, none} = py:call(os, close, [W]),
    receive {eof, R} -> ok after 5000 -> ct:fail(no_eof) end,
    receive {lost, R} -> ok after 5000 -> ct:fail(no_connection_lost) end,
    await_stat(Ctx, connections, 0),
    %% The reactor closed its end: the fd number is no longer open.
    ?assertMatch({error, _}, file:read_link("/proc/self/fd/" ++ integer_to_list(R))).

client_closes(Config) ->
    Ctx = reactor(Config, factory("reactor_protocols", "Faulty")),
    C = connect(Ctx, listen(), #{reply_to => self()}),
    ?assertEqual(<<"hi">>, echo_roundtrip(C, <<"hi">>)),
    ok = gen_tcp:close(C),
    receive {lost, _Fd} -> ok after 5000 -> ct:fail(no_connection_lost) end,
    await_stat(Ctx, connections, 0).

protocol_closes(Config) ->
    Ctx = reactor(Config, factory("reactor_protocols", "Faulty")),
    C = connect(Ctx, listen(), #{reply_to => self()}),
    ok = gen_tcp:send(C, <<"bye">>),
    receive {lost, _Fd} -> ok after 5000 -> ct:fail(no_connection_lost) end,
    ?assert(closed_by_peer(C)),
    ?assertEqual(0, stats(Ctx, connections)).

stop_closes_every_connection(Config) ->
    Ctx = reactor(Config, factory("reactor_protocols", "Faulty")),
    Listen = listen(),
    Clients = [connect(Ctx, Listen, #{reply_to => self()}) || _ <- lists:seq(1, 20)],
    [?assertEqual(<<"x">>, echo_roundtrip(C, <<"x">>)) || C <- Clients],
    ok = py_reactor_context:stop(Ctx),
    %% stop/1 returns after every connection_lost ran.
    Lost = [receive {lost, Fd} -> Fd after 0 -> ct:fail(missing_connection_lost) end
            || _ <- Clients],
    ?assertEqual(20, length(lists:usort(Lost))),
    [?assert(closed_by_peer(C)) || C <- Clients],
    ?assertEqual({error, no_reactor}, py_reactor_context:stats(Ctx)).

connection_made_may_write_first(Config) ->
    Ctx = reactor(Config, factory("reactor_protocols", "Greeter")),
    C = connect(Ctx, listen()),
    ?assertEqual({ok, <<"hello from python\n">>}, gen_tcp:recv(C, 18, 5000)),
    ?assertEqual(<<"you said: yo">>, echo_roundtrip_as(C, <<"yo">>, 12)).

echo_roundtrip_as(C, Msg, Len) ->
    ok = gen_tcp:send(C, Msg),
    {ok, Got} = gen_tcp:recv(C, Len, 5000),
    Got.

%%% Load

thousand_connections_echo_thousand_messages_each(Config) ->
    Ctx = reactor(Config, <<"import seed_echo\nseed_echo.print = lambda *a, **k: None\n">>),
    {L, Port} = listen(),
    acceptor(Ctx, L),
    Parent = self(),
    Clients = 1000, Messages = 1000,
    Pids = [spawn_link(fun() -> Parent ! {self(), echo_client(Port, N, Messages)} end)
            || N <- lists:seq(1, Clients)],
    Results = [receive {P, R} -> R after 300000 -> timeout end || P <- Pids],
    ?assertEqual(lists:duplicate(Clients, ok), Results),
    await_stat(Ctx, connections, 0),
    #{accepted := Clients, bytes_in := In, bytes_out := Out} = py_reactor_context:stats(Ctx),
    ?assertEqual(In, Out).

%% Sends `N' messages of random sizes, each tagged with its connection and sequence
%% number, and checks every echoed byte.
echo_client(Port, Id, N) ->
    {ok, C} = gen_tcp:connect({127, 0, 0, 1}, Port, [binary, {active, false}, {nodelay, true}]),
    Result = echo_messages(C, Id, 1, N),
    gen_tcp:close(C),
    Result.

echo_messages(_C, _Id, Seq, N) when Seq > N -> ok;
echo_messages(C, Id, Seq, N) ->
    Msg = <<Id:32, Seq:32, (rand:bytes(rand:uniform(120)))/binary>>,
    ok = gen_tcp:send(C, Msg),
    case gen_tcp:recv(C, byte_size(Msg), 30000) of
        {ok, Msg} -> echo_messages(C, Id, Seq + 1, N);
        Other -> {mismatch, Id, Seq, Other}
    end.

hundred_megabytes_echo_under_back_pressure(Config) ->
    Ctx = reactor(Config, factory("reactor_protocols", "MeasuredEcho")),
    C = connect(Ctx, listen()),
    Block = rand:bytes(1 bsl 20),
    Total = 100 * byte_size(Block),
    RssBefore = rss_kb(),
    Parent = self(),
    Sender = spawn_link(fun() ->
        [ok = gen_tcp:send(C, binary:part(Block, Off, 65536))
         || _ <- lists:seq(1, 100), Off <- lists:seq(0, byte_size(Block) - 1, 65536)],
        Parent ! {self(), sent}
    end),
    %% Nobody reads yet: the reactor's writes must come up short and it must stop
    %% reading (the sender then blocks) instead of buffering.
    await(fun() -> partial_writes(Ctx) > 0 end, 30000),
    MaxRss = read_echo(C, Block, 0, Total, RssBefore),
    receive {Sender, sent} -> ok after 60000 -> ct:fail(sender_stuck) end,
    {ok, #{<<"max_pending">> := MaxPending}} = py_reactor_context:eval(Ctx, <<"reactor_protocols.STATS">>),
    ct:pal("RSS before ~p kB, peak during the echo ~p kB; most bytes pending in Python ~p",
           [RssBefore, MaxRss, MaxPending]),
    %% At most one read waits in Python at a time, and the VM does not hold the stream.
    ?assert(MaxPending =< 65536),
    ?assert(MaxRss - RssBefore < 48 * 1024).

partial_writes(Ctx) ->
    {ok, #{<<"partial_writes">> := N}} = py_reactor_context:eval(Ctx, <<"reactor_protocols.STATS">>),
    N.

read_echo(_C, _Block, Total, Total, MaxRss) -> MaxRss;
read_echo(C, Block, Got, Total, MaxRss) ->
    {ok, Data} = gen_tcp:recv(C, 0, 30000),
    check_stream(Data, Block, Got),
    Got1 = Got + byte_size(Data),
    MaxRss1 = case Got1 div (4 bsl 20) =/= Got div (4 bsl 20) of
                  true -> max(MaxRss, rss_kb());
                  false -> MaxRss
              end,
    read_echo(C, Block, Got1, Total, MaxRss1).

%% The stream is `Block' repeated: check `Data' against it at offset `At'.
check_stream(<<>>, _Block, _At) -> ok;
check_stream(Data, Block, At) ->
    Off = At rem byte_size(Block),
    Len = min(byte_size(Data), byte_size(Block) - Off),
    <<Part:Len/binary, Rest/binary>> = Data,
    Part =:= binary:part(Block, Off, Len) orelse ct:fail({corrupt_at, At}),
    check_stream(Rest, Block, At + Len).

rss_kb() ->
    {ok, Status} = file:read_file("/proc/self/status"),
    {match, [Kb]} = re:run(Status, "VmRSS:\\s+(\\d+)", [{capture, all_but_first, binary}]),
    binary_to_integer(Kb).

idle_connections_wake_nothing(Config) ->
    Ctx = reactor(Config, <<"import seed_echo\nseed_echo.print = lambda *a, **k: None\n">>),
    Listen = listen(),
    Clients = [connect(Ctx, Listen) || _ <- lists:seq(1, 1000)],
    [?assertEqual(<<"up">>, echo_roundtrip(C, <<"up">>)) || C <- Clients],
    Wakeups = stats(Ctx, wakeups),
    Cpu = reactor_threads_cpu_ticks(),
    %% A measurement window, not synchronisation: nothing happens during it.
    timer:sleep(500),
    ?assertEqual(Wakeups, stats(Ctx, wakeups)),
    ?assert(reactor_threads_cpu_ticks() - Cpu =< 1),
    ?assertEqual(1000, stats(Ctx, connections)),
    [gen_tcp:close(C) || C <- Clients].

%% utime + stime, in clock ticks, of every reactor thread of this VM.
reactor_threads_cpu_ticks() ->
    Tasks = filelib:wildcard("/proc/self/task/*/stat"),
    lists:sum([thread_ticks(T) || T <- Tasks]).

thread_ticks(StatFile) ->
    case file:read_file(StatFile) of
        {ok, Stat} ->
            case binary:split(Stat, <<") ">>) of
                [Head, Rest] ->
                    case binary:match(Head, <<"(hornbeam-reacto">>) of
                        nomatch -> 0;
                        _ ->
                            Fields = binary:split(Rest, <<" ">>, [global]),
                            %% Fields after the name: state is 3rd in /proc, so utime
                            %% (14th) and stime (15th) are the 12th and 13th here.
                            binary_to_integer(lists:nth(12, Fields)) + binary_to_integer(lists:nth(13, Fields))
                    end;
                _ -> 0
            end;
        {error, _} -> 0
    end.

%%% Errors

exception_closes_only_its_connection(Config) ->
    Ctx = reactor(Config, factory("reactor_protocols", "Faulty")),
    Listen = listen(),
    Victim = connect(Ctx, Listen, #{reply_to => self()}),
    Bystander = connect(Ctx, Listen),
    ok = gen_tcp:send(Victim, <<"boom">>),
    receive {lost, _} -> ok after 5000 -> ct:fail(no_connection_lost) end,
    ?assert(closed_by_peer(Victim)),
    Text = reactor_log_text(),
    ?assertMatch({match, _}, re:run(Text, "Faulty.data_received raised ZeroDivisionError")),
    ?assertMatch({match, _}, re:run(Text, "Traceback \\(most recent call last\\)")),
    ?assertMatch({match, _}, re:run(Text, "reactor_protocols.py")),
    ?assertEqual(<<"still here">>, echo_roundtrip(Bystander, <<"still here">>)),
    ?assertEqual(1, stats(Ctx, connections)).

unknown_action_closes_the_connection(Config) ->
    Ctx = reactor(Config, factory("reactor_protocols", "Faulty")),
    Listen = listen(),
    Victim = connect(Ctx, Listen, #{reply_to => self()}),
    Bystander = connect(Ctx, Listen),
    ok = gen_tcp:send(Victim, <<"dance">>),
    receive {lost, _} -> ok after 5000 -> ct:fail(no_connection_lost) end,
    ?assert(closed_by_peer(Victim)),
    ?assertMatch({match, _}, re:run(reactor_log_text(), "Faulty.data_received returned 'dance', which is not an action")),
    ?assertEqual(<<"fine">>, echo_roundtrip(Bystander, <<"fine">>)).

connection_made_exception_closes_the_fd(Config) ->
    Ctx = reactor(Config, factory("reactor_protocols", "FailingMade")),
    C = connect(Ctx, listen()),
    ?assert(closed_by_peer(C)),
    ?assertMatch({match, _}, re:run(reactor_log_text(), "connection_made raised ValueError: refusing this connection")),
    await_stat(Ctx, connections, 0),
    {ok, #{}} = py_reactor_context:eval(Ctx, <<"__import__('erlang.reactor').reactor._state.protocols">>).

max_connections_refuses_and_closes(Config) ->
    Ctx = reactor(Config, <<"import seed_echo\n">>, #{max_connections => 2}),
    {L, Port} = Listen = listen(),
    _C1 = connect(Ctx, Listen),
    _C2 = connect(Ctx, Listen),
    {ok, C3} = gen_tcp:connect({127, 0, 0, 1}, Port, [binary, {active, false}]),
    {ok, S3} = gen_tcp:accept(L),
    ?assertEqual({error, max_connections}, py_reactor_context:handoff(Ctx, S3, #{})),
    %% The refused fd was closed: the client sees the end of the stream.
    ?assert(closed_by_peer(C3)),
    ?assertEqual(2, stats(Ctx, connections)).

reactor(Config, Setup, Extra) ->
    reactor(Config, ?config(case_name, Config), subinterp, Setup, Extra).

bad_handoffs_are_refused_and_close_the_fd(Config) ->
    Ctx = reactor(Config, <<"import seed_echo\n">>),
    ?assertEqual({error, ebadf}, py_reactor_context:handoff(Ctx, 999999, #{})),
    ?assertEqual({error, {badarg, {fd, -1}}}, py_reactor_context:handoff(Ctx, -1, #{})),
    {L, Port} = listen(),
    Refused = fun(Handoff) ->
        {ok, C} = gen_tcp:connect({127, 0, 0, 1}, Port, [binary, {active, false}]),
        {ok, S} = gen_tcp:accept(L),
        {ok, Fd} = py:dup_fd(S),
        gen_tcp:close(S),
        Result = Handoff(Fd),
        ?assert(closed_by_peer(C)),
        Result
    end,
    ?assertEqual({error, no_reactor}, Refused(fun(Fd) -> py_reactor_context:handoff(nobody, Fd, #{}) end)),
    ?assertEqual({error, {badarg, {type, carrier_pigeon}}},
                 Refused(fun(Fd) -> py_reactor_context:handoff(Ctx, Fd, #{type => carrier_pigeon}) end)),
    ?assertEqual({error, {badarg, {client_info, nope}}},
                 Refused(fun(Fd) -> py_reactor_context:handoff(Ctx, Fd, nope) end)).

invalid_options_and_failing_setup(Config) ->
    ?assertEqual({error, {invalid_option, max_connections, 0}},
                 py_reactor_context:start(x, subinterp, #{max_connections => 0})),
    ?assertEqual({error, {invalid_option, mode, threads}},
                 py_reactor_context:start(x, threads, #{})),
    ?assertEqual({error, {invalid_option, colour, blue}},
                 py_reactor_context:start(x, subinterp, #{colour => blue})),
    ?assertEqual({error, {invalid_option, options, []}},
                 py_reactor_context:start(x, subinterp, [])),
    {error, {python_init_failed, Message}} =
        py_reactor_context:start(?config(case_name, Config), subinterp, #{setup_code => <<"1/0">>}),
    ?assertMatch({match, _}, re:run(Message, "setup_code raised ZeroDivisionError")),
    %% A taken id is refused.
    _ = reactor(Config, <<"pass">>),
    {error, {already_started, _}} = py_reactor_context:start(?config(case_name, Config), subinterp, #{}).

%%% Contexts

two_contexts_serve_different_protocols(Config) ->
    Case = ?config(case_name, Config),
    Echo = reactor(Config, {Case, 1}, subinterp, <<"import seed_echo\n">>, #{}),
    Http = reactor(Config, {Case, 2}, subinterp, <<"import seed_http\n">>, #{}),
    {HL, HPort} = listen(),
    acceptor(Http, HL),
    EchoClient = connect(Echo, listen()),
    Url = "http://127.0.0.1:" ++ integer_to_list(HPort) ++ "/both",
    ?assertEqual(<<"one">>, echo_roundtrip(EchoClient, <<"one">>)),
    ?assertMatch({match, _}, re:run(os:cmd("curl -s --max-time 10 " ++ Url), "^Hello! You requested /both$")),
    ?assertEqual(<<"two">>, echo_roundtrip(EchoClient, <<"two">>)),
    {ok, EchoClass} = py_reactor_context:eval(Echo, <<"__import__('erlang.reactor').reactor._state.factory.__name__">>),
    {ok, HttpClass} = py_reactor_context:eval(Http, <<"__import__('erlang.reactor').reactor._state.factory.__name__">>),
    ?assertEqual({<<"EchoProtocol">>, <<"SimpleHTTPProtocol">>}, {EchoClass, HttpClass}),
    ?assertNotEqual(stats(Echo, interp_id), stats(Http, interp_id)).

ownership_transfer_and_duplicate(Config) ->
    Ctx = reactor(Config, <<"import seed_echo\n">>),
    {L, Port} = listen(),
    %% Transfer: the socket itself is handed over; Erlang no longer has it.
    {ok, C1} = gen_tcp:connect({127, 0, 0, 1}, Port, [binary, {active, false}]),
    {ok, S1} = gen_tcp:accept(L),
    ok = py_reactor_context:handoff(Ctx, S1, #{}),
    ?assertEqual(undefined, erlang:port_info(S1)),
    ?assertEqual(<<"transfer">>, echo_roundtrip(C1, <<"transfer">>)),
    %% Duplicate: Python gets its own fd, then Erlang closes its socket.
    {ok, C2} = gen_tcp:connect({127, 0, 0, 1}, Port, [binary, {active, false}]),
    {ok, S2} = gen_tcp:accept(L),
    {ok, Fd} = inet:getfd(S2),
    {ok, DupFd} = py:dup_fd(Fd),
    ok = py_reactor_context:handoff(Ctx, DupFd, #{type => tcp}),
    ok = gen_tcp:close(S2),
    ?assertEqual(<<"duplicate">>, echo_roundtrip(C2, <<"duplicate">>)),
    %% A raw fd nobody else owns (a socket made in Python) is transferred as is.
    {ok, {A, B}} = py:eval(<<"(lambda p: (p[0].detach(), p[1].detach()))(__import__('socket').socketpair())">>),
    ok = py_reactor_context:handoff(Ctx, A, #{type => unix}),
    {ok, 3} = py:call(os, write, [B, {bytes, <<"raw">>}]),
    {ok, {bytes, <<"raw">>}} = py:eval(<<"__import__('os').read(b, 3)">>, #{b => B}),
    {ok, none} = py:call(os, close, [B]),
    await_stat(Ctx, connections, 2).

main_mode_reactor(Config) ->
    Ctx = reactor(Config, ?config(case_name, Config), main, <<"import seed_echo\n">>, #{}),
    ?assertEqual(main, stats(Ctx, mode)),
    ?assertEqual(0, stats(Ctx, interp_id)),
    C = connect(Ctx, listen()),
    ?assertEqual(<<"main interpreter">>, echo_roundtrip(C, <<"main interpreter">>)).

default_context_out_of_the_box(_Config) ->
    ok = py_reactor_context:exec(default, <<"import erlang.reactor as reactor\n"
                                            "class Upper(reactor.Protocol):\n"
                                            "    def data_received(self, data):\n"
                                            "        self.write_buffer.extend(bytes(data).upper())\n"
                                            "        return 'write_pending'\n"
                                            "reactor.set_protocol_factory(Upper)\n">>),
    {L, Port} = listen(),
    {ok, C} = gen_tcp:connect({127, 0, 0, 1}, Port, [binary, {active, false}]),
    {ok, S} = gen_tcp:accept(L),
    ok = py_reactor_context:handoff(S, #{}),
    ?assertEqual(<<"SHOUT">>, echo_roundtrip(C, <<"shout">>)),
    gen_tcp:close(C).

factory_is_per_reactor_thread(Config) ->
    %% Outside a reactor thread (a py context), setting a factory is refused clearly.
    {error, {python, 'RuntimeError', Message, _}} =
        py:exec(<<"import erlang.reactor as r\nr.set_protocol_factory(r.Protocol)\n">>),
    ?assertMatch({match, _}, re:run(Message, "must run in a reactor context")),
    %% Two main-mode reactors share sys.modules, yet keep their own factories.
    Case = ?config(case_name, Config),
    A = reactor(Config, {Case, 1}, main, factory("seed_echo", "EchoProtocol"), #{}),
    B = reactor(Config, {Case, 2}, main, factory("reactor_protocols", "Greeter"), #{}),
    Name = <<"__import__('erlang.reactor').reactor._state.factory.__name__">>,
    ?assertEqual({ok, <<"EchoProtocol">>}, py_reactor_context:eval(A, Name)),
    ?assertEqual({ok, <<"Greeter">>}, py_reactor_context:eval(B, Name)).

exec_and_eval(Config) ->
    Ctx = reactor(Config, <<"counter = 41\n">>),
    ok = py_reactor_context:exec(Ctx, <<"counter += 1">>),
    ?assertEqual({ok, 42}, py_reactor_context:eval(Ctx, <<"counter">>)),
    {error, {python, 'NameError', _, _}} = py_reactor_context:eval(Ctx, <<"missing">>),
    ?assertEqual({error, no_reactor}, py_reactor_context:eval(nobody, <<"1">>)),
    %% Protocol code may call registered Erlang functions.
    ok = py:register_function(reactor_double, fun([X]) -> 2 * X end),
    ?assertEqual({ok, 42}, py_reactor_context:eval(Ctx, <<"__import__('erlang').call('reactor_double', 21)">>)),
    py:unregister_function(reactor_double).

same_fd_twice_is_ignored(Config) ->
    Ctx = reactor(Config, <<"import seed_echo\n">>),
    {L, Port} = listen(),
    {ok, C} = gen_tcp:connect({127, 0, 0, 1}, Port, [binary, {active, false}]),
    {ok, S} = gen_tcp:accept(L),
    {ok, Fd} = py:dup_fd(S),
    gen_tcp:close(S),
    ok = py_reactor_context:handoff(Ctx, Fd, #{}),
    ok = py_reactor_context:handoff(Ctx, Fd, #{}),
    ?assertMatch({match, _}, re:run(reactor_log_text(), "already served by this reactor")),
    ?assertEqual(<<"once">>, echo_roundtrip(C, <<"once">>)),
    ?assertEqual(1, stats(Ctx, connections)).

default_context_restarts_after_a_crash(_Config) ->
    {ok, Old, _} = py_registry:lookup_reactor(default),
    OldInterp = stats(default, interp_id),
    exit(Old, kill),
    await(fun() ->
              case py_registry:lookup_reactor(default) of
                  {ok, New, _} -> New =/= Old andalso is_process_alive(New);
                  error -> false
              end
          end, 10000),
    %% A fresh interpreter, with no factory until one is set.
    ?assertNotEqual(OldInterp, stats(default, interp_id)),
    ?assertEqual({ok, none}, py_reactor_context:eval(default, <<"__import__('erlang.reactor').reactor._state.factory">>)).

%% A protocol writes into another connection's buffer and asks for it to be flushed:
%% the other client receives it although it never sent anything.
request_write_flushes_another_connection(Config) ->
    Ctx = reactor(Config, factory("reactor_protocols", "RelayProtocol")),
    Listen = listen(),
    A = connect(Ctx, Listen),
    B = connect(Ctx, Listen),
    {ok, <<"hello\n">>} = gen_tcp:recv(A, 6, 5000),
    {ok, <<"hello\n">>} = gen_tcp:recv(B, 6, 5000),
    Big = binary:copy(<<"relay">>, 400000),  % more than a socket buffer takes at once
    ok = gen_tcp:send(A, Big),
    {ok, Got} = gen_tcp:recv(B, byte_size(Big), 10000),
    ?assert(Got =:= Big),
    {error, timeout} = gen_tcp:recv(A, 0, 200).  % nothing echoed to the sender

listener_accepts_and_hands_off(Config) ->
    Ctx = reactor(Config, <<"import seed_echo\n">>),
    {ok, L} = py_reactor_listener:start_link(#{context => ?config(case_name, Config), port => 0, acceptors => 2}),
    Port = py_reactor_listener:port(L),
    Clients = [begin
                   {ok, C} = gen_tcp:connect({127, 0, 0, 1}, Port, [binary, {active, false}]),
                   C
               end || _ <- lists:seq(1, 5)],
    [?assertEqual(<<"hi">>, echo_roundtrip(C, <<"hi">>)) || C <- Clients],
    await_stat(Ctx, connections, 5),
    ?assertEqual({error, {listen, eaddrinuse}},
                 py_reactor_listener:start_link(#{port => Port})),
    ?assertEqual({error, {invalid_option, port, -1}}, py_reactor_listener:start_link(#{port => -1})),
    ?assertEqual({error, {invalid_option, ip, "not an ip"}}, py_reactor_listener:start_link(#{ip => "not an ip"})),
    ?assertEqual({error, {invalid_option, colour, blue}}, py_reactor_listener:start_link(#{colour => blue})),
    unlink(L),
    ok = py_reactor_listener:stop(L),
    {error, econnrefused} = gen_tcp:connect({127, 0, 0, 1}, Port, [binary, {active, false}]),
    %% Connections already handed off stay served.
    [?assertEqual(<<"again">>, echo_roundtrip(C, <<"again">>)) || C <- Clients].

%% The acceptors are supervised: one that dies is replaced, and the listener (and its
%% port) stay. With a single acceptor, a connection made after it was killed is served
%% only by its replacement.
listener_replaces_a_crashed_acceptor(Config) ->
    Ctx = reactor(Config, <<"import seed_echo\n">>),
    {ok, L} = py_reactor_listener:start_link(#{context => ?config(case_name, Config), port => 0, acceptors => 1}),
    Port = py_reactor_listener:port(L),
    #{acceptors := Sup} = sys:get_state(L),
    [{_, Acceptor, worker, _}] = supervisor:which_children(Sup),
    Ref = monitor(process, Acceptor),
    exit(Acceptor, kill),
    receive {'DOWN', Ref, process, Acceptor, killed} -> ok end,
    {ok, C} = gen_tcp:connect({127, 0, 0, 1}, Port, [binary, {active, false}]),
    ?assertEqual(<<"still here">>, echo_roundtrip(C, <<"still here">>)),
    await_stat(Ctx, connections, 1),
    [{_, Replacement, worker, _}] = supervisor:which_children(Sup),
    ?assertNotEqual(Acceptor, Replacement),
    ?assert(is_process_alive(L)),
    SupRef = monitor(process, Sup),
    unlink(L),
    ok = py_reactor_listener:stop(L),
    receive {'DOWN', SupRef, process, Sup, _} -> ok end.

