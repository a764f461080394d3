%% What a hostile client or a broken application must not be able to do to a running
%% Hornbeam: take a worker down for good, wedge it, hold a connection forever, or
%% corrupt a kept-alive connection. Each case runs against the WSGI and the ASGI
%% worker, over real sockets.
-module(hornbeam_hardening_SUITE).
-include_lib("common_test/include/ct.hrl").
-include_lib("stdlib/include/assert.hrl").

-export([all/0, groups/0, init_per_suite/1, end_per_suite/1,
         init_per_group/2, end_per_group/2, init_per_testcase/2, end_per_testcase/2]).
-import(hb_http, [serve/4, raw/2, read_until_closed/2, read_response/1, status_of/1,
                  expect_log/1, wait_until/1]).
-export([base_exception_is_500_and_the_worker_lives/1, dead_loop_is_replaced/1,
         silent_body_wakes_the_worker/1, body_read_timeout_is_408/1,
         silent_connection_is_closed/1, short_body_closes_the_connection/1,
         long_body_is_cut_to_its_length/1, invalid_status_is_500/1,
         stuck_worker_is_replaced/1, host_header_rules/1, max_headers_over_http2/1,
         idle_http2_connection_is_closed/1, graceful_stop_under_load/1,
         asgi_recycling_loses_nothing/1, asgi_recycling_drains_in_flight/1]).

-define(BOTH, [base_exception_is_500_and_the_worker_lives, silent_body_wakes_the_worker,
               body_read_timeout_is_408, short_body_closes_the_connection,
               long_body_is_cut_to_its_length, invalid_status_is_500,
               stuck_worker_is_replaced, graceful_stop_under_load]).

all() ->
    [{group, wsgi}, {group, asgi}, silent_connection_is_closed, host_header_rules,
     max_headers_over_http2, idle_http2_connection_is_closed].

groups() ->
    [{wsgi, [], ?BOTH},
     {asgi, [], [dead_loop_is_replaced, asgi_recycling_loses_nothing,
                 asgi_recycling_drains_in_flight | ?BOTH]}].

init_per_suite(Config) ->
    {ok, _} = application:ensure_all_started(hornbeam),
    Config.

end_per_suite(_Config) ->
    application:stop(hornbeam).

init_per_group(wsgi, Config) ->
    [{app, "hostile_wsgi:application"}, {extra, #{}} | Config];
init_per_group(asgi, Config) ->
    [{app, "hostile_asgi:app"}, {extra, #{worker_class => asgi}} | Config].

end_per_group(_Group, _Config) ->
    ok.

init_per_testcase(Case, Config) ->
    hb_http:begin_case(Case, Config).

end_per_testcase(Case, _Config) ->
    hb_http:end_case(Case, [Case, h1_only, h2_only]).

%% A server for this case: the group's app with `Opts'.
start(Config, Opts) ->
    Name = ?config(case_name, Config),
    serve(Config, Name, ?config(app, Config), maps:merge(?config(extra, Config), Opts)).

connect(Port) ->
    {ok, S} = gen_tcp:connect({127, 0, 0, 1}, Port, [binary, {active, false}]),
    S.

%% One GET on a fresh connection: {Status, Body}.
get(Port, Path) ->
    S = connect(Port),
    ok = gen_tcp:send(S, ["GET ", Path, " HTTP/1.1\r\nHost: t\r\n\r\n"]),
    {Head, Body, <<>>} = read_response(S),
    gen_tcp:close(S),
    {status_of(Head), Body}.

token(Port) ->
    {200, Token} = get(Port, "/token"),
    Token.

replaced(Config) ->
    maps:get(workers_replaced, hornbeam:info(?config(case_name, Config))).

%% SystemExit and KeyboardInterrupt from app code are 500s like any exception; the
%% only worker goes on serving (it used to 504 forever after an ASGI SystemExit).
base_exception_is_500_and_the_worker_lives(Config) ->
    Port = start(Config, #{workers => 1, timeout => 5000}),
    Before = token(Port),
    ?assertMatch({500, _}, get(Port, "/exit")),
    expect_log("SystemExit"),
    ?assertMatch({500, _}, get(Port, "/keyboard")),
    expect_log("KeyboardInterrupt"),
    ?assertEqual(Before, token(Port)),
    ?assertEqual(0, replaced(Config)).

%% An exception that escapes the event loop ends it: a fresh interpreter takes over.
dead_loop_is_replaced(Config) ->
    Port = start(Config, #{workers => 1, timeout => 5000}),
    Before = token(Port),
    ?assertEqual({200, <<"bye">>}, get(Port, "/kill-loop")),
    expect_log("replaced by a fresh interpreter: its event loop ended unexpectedly"),
    wait_until(fun() -> replaced(Config) =:= 1 end),
    After = token(Port),
    ?assertNotEqual(Before, After).

%% A client that sends two of the 5000 body bytes it announced and stops: `timeout'
%% answers it (504) and closes its connection, and the worker blocked in the read is
%% free for the next request.
silent_body_wakes_the_worker(Config) ->
    Port = start(Config, #{workers => 1, timeout => 1000}),
    S = connect(Port),
    ok = gen_tcp:send(S, <<"POST /read HTTP/1.1\r\nHost: t\r\nContent-Length: 5000\r\n\r\nab">>),
    Answer = read_until_closed(S, <<>>),
    ?assertEqual(504, status_of(Answer)),
    expect_log("timed out after 1000 ms"),
    ?assertEqual({200, <<"ok">>}, get(Port, "/")),
    ?assertEqual(0, replaced(Config)).

%% With no overall `timeout', `body_read_timeout' bounds a pause in the body: 408,
%% the connection closes, the worker serves on.
body_read_timeout_is_408(Config) ->
    Port = start(Config, #{workers => 1, timeout => infinity, body_read_timeout => 300}),
    S = connect(Port),
    ok = gen_tcp:send(S, <<"POST /read HTTP/1.1\r\nHost: t\r\nContent-Length: 5000\r\n\r\nab">>),
    Answer = read_until_closed(S, <<>>),
    ?assertEqual(408, status_of(Answer)),
    ?assertEqual({200, <<"ok">>}, get(Port, "/")),
    %% A body that keeps coming within the limit is not cut short.
    B = connect(Port),
    ok = gen_tcp:send(B, <<"POST /read HTTP/1.1\r\nHost: t\r\nContent-Length: 4\r\n\r\nab">>),
    ok = gen_tcp:send(B, <<"cd">>),
    ?assertMatch({_, <<"abcd">>, <<>>}, read_response(B)).

%% A connection that never sends a byte is closed after `keepalive', whatever
%% protocols the server speaks.
silent_connection_is_closed(Config) ->
    Opts = #{app => "hostile_wsgi:application", keepalive => 1},
    [begin
         Port = serve(Config, Name, "hostile_wsgi:application", maps:remove(app, Opts#{http_version => Versions})),
         S = connect(Port),
         T0 = erlang:monotonic_time(millisecond),
         ?assertEqual(<<>>, read_until_closed(S, <<>>)),
         ?assert(erlang:monotonic_time(millisecond) - T0 >= 900),
         wait_until(fun() -> maps:get(connections, hornbeam:info(Name)) =:= 0 end)
     end || {Name, Versions} <- [{silent_connection_is_closed, ['HTTP/1.1', 'HTTP/2']},
                                 {h1_only, ['HTTP/1.1']}, {h2_only, ['HTTP/2']}]].

%% A live HTTP/2 client (it answers pings) that keeps its connection without using it
%% gets a GOAWAY and a close after `keepalive' without a stream; a request that runs
%% longer than `keepalive' does not count as idle.
idle_http2_connection_is_closed(Config) ->
    Port = serve(Config, idle_http2_connection_is_closed, "hostile_wsgi:application", #{keepalive => 1}),
    S = connect(Port),
    T0 = erlang:monotonic_time(millisecond),
    Path = <<"/c-sleep?1.5">>,
    Headers = <<16#82, 16#86, 16#04, (byte_size(Path)), Path/binary, 16#01, 1, "t">>,
    ok = gen_tcp:send(S, [<<"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n">>, h2_frame(4, 0, 0, <<>>),
                          h2_frame(1, 16#05, 1, Headers)]),
    Frames = h2_frames_until_closed(S, T0, []),
    Kinds = [{Type, Stream} || {_, Type, _, Stream, _} <- Frames],
    %% The response (HEADERS and DATA on stream 1), then the GOAWAY, then the close.
    [ResponseAt | _] = [At || {At, 0, _, 1, _} <- Frames],
    [GoawayAt | _] = [At || {At, 7, _, 0, _} <- Frames],
    ?assert(lists:member({1, 1}, Kinds)),
    ?assert(ResponseAt >= 1400),
    ?assert(GoawayAt >= ResponseAt + 500),
    wait_until(fun() -> maps:get(connections, hornbeam:info(idle_http2_connection_is_closed)) =:= 0 end).

h2_frame(Type, Flags, Stream, Payload) ->
    <<(byte_size(Payload)):24, Type, Flags, 0:1, Stream:31, Payload/binary>>.

%% Every frame the server sends until it closes, each with the ms since T0; SETTINGS and
%% PINGs are acknowledged as a live client does. Fails if the server keeps the
%% connection open 10 s.
h2_frames_until_closed(S, T0, Acc) ->
    Left = 10000 - (erlang:monotonic_time(millisecond) - T0),
    case gen_tcp:recv(S, 9, max(Left, 0)) of
        {ok, <<Length:24, Type, Flags, _:1, Stream:31>>} ->
            {ok, Payload} = case Length of 0 -> {ok, <<>>}; _ -> gen_tcp:recv(S, Length, 5000) end,
            case {Type, Flags band 1} of
                {4, 0} -> gen_tcp:send(S, h2_frame(4, 1, 0, <<>>));
                {6, 0} -> gen_tcp:send(S, h2_frame(6, 1, 0, Payload));
                _ -> ok
            end,
            At = erlang:monotonic_time(millisecond) - T0,
            h2_frames_until_closed(S, T0, [{At, Type, Flags, Stream, Payload} | Acc]);
        {error, closed} ->
            lists:reverse(Acc);
        {error, timeout} ->
            ct:fail({still_open, lists:reverse(Acc)})
    end.

%% A body shorter than its Content-Length: what there is goes out, then the connection
%% closes, so the next response can never be read as the missing bytes.
short_body_closes_the_connection(Config) ->
    Port = start(Config, #{}),
    [begin
         S = connect(Port),
         ok = gen_tcp:send(S, ["GET ", Path, " HTTP/1.1\r\nHost: t\r\n\r\nGET /token HTTP/1.1\r\nHost: t\r\n\r\n"]),
         All = read_until_closed(S, <<>>),
         [Head, Body] = binary:split(All, <<"\r\n\r\n">>),
         ?assertEqual(200, status_of(Head)),
         ?assertEqual(<<"abc">>, Body),
         expect_log("Content-Length")
     end || Path <- ["/short", "/short-stream"]].

%% A body longer than its Content-Length: only the declared bytes go out, and the
%% connection stays in step for the next request.
long_body_is_cut_to_its_length(Config) ->
    Port = start(Config, #{}),
    Paths = case ?config(app, Config) of
                "hostile_wsgi" ++ _ -> ["/long", "/long-stream"];
                _ -> ["/long"]
            end,
    [begin
         S = connect(Port),
         ok = gen_tcp:send(S, ["GET ", Path, " HTTP/1.1\r\nHost: t\r\n\r\n"]),
         {_, Body, Extra} = read_response(S),
         ?assertEqual({<<"abc">>, <<>>}, {Body, Extra}),
         expect_log("longer than its Content-Length"),
         ok = gen_tcp:send(S, <<"GET / HTTP/1.1\r\nHost: t\r\n\r\n">>),
         {Head, <<"ok">>, <<>>} = read_response(S),
         ?assertEqual(200, status_of(Head)),
         gen_tcp:close(S)
     end || Path <- Paths].

%% A status that is not a final one never reaches the wire.
invalid_status_is_500(Config) ->
    Port = start(Config, #{}),
    ?assertMatch({500, _}, get(Port, "/status-999")),
    expect_log("status 999"),
    case ?config(app, Config) of
        "hostile_wsgi" ++ _ ->
            Answer = raw(Port, <<"GET /status-101 HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n">>),
            ?assertEqual(500, status_of(Answer)),
            ?assertEqual(nomatch, binary:match(Answer, <<"evil">>));
        _ -> ok
    end.

%% A worker blocked in C code (`time.sleep') past `timeout' is replaced by a fresh
%% interpreter once a grace period passes; later requests are served, and info/1
%% counts the replacement.
stuck_worker_is_replaced(Config) ->
    Port = start(Config, #{workers => 1, timeout => 500}),
    Before = token(Port),
    ?assertMatch({504, _}, get(Port, "/c-sleep?15")),
    expect_log("replacing it with a fresh interpreter"),
    wait_until(fun() -> replaced(Config) =:= 1 end),
    After = token(Port),
    ?assertNotEqual(Before, After).

%% stop/1 while eight keep-alive clients hammer the server and one slow request runs:
%% every request gets a whole response or a close before the response's first byte,
%% never half of one; new connections are refused at once, while the slow request is
%% still finishing.
graceful_stop_under_load(Config) ->
    Name = ?config(case_name, Config),
    Port = start(Config, #{workers => 2, graceful_timeout => 15000}),
    %% The slow request first, so the server has surely read it when the stop comes.
    Slow = connect(Port),
    ok = gen_tcp:send(Slow, <<"GET /nap?6 HTTP/1.1\r\nHost: t\r\n\r\n">>),
    wait_until(fun() -> maps:get(requests, hornbeam:info(Name)) =:= 1 end),
    Answered = counters:new(1, []),
    Self = self(),
    Clients = [spawn_link(fun() -> Self ! {self(), hammer(Port, Answered, #{})} end)
               || _ <- lists:seq(1, 8)],
    wait_until(fun() -> counters:get(Answered, 1) >= 200 end),
    spawn_link(fun() -> Self ! {stopped, hornbeam:stop(Name)} end),
    Outcomes = [receive {Pid, Seen} -> Seen after 20000 -> ct:fail(client_stuck) end || Pid <- Clients],
    ct:pal("outcomes per client: ~p", [Outcomes]),
    ?assertEqual({error, timeout}, gen_tcp:recv(Slow, 0, 0)),
    ?assertEqual({error, econnrefused}, gen_tcp:connect({127, 0, 0, 1}, Port, [binary])),
    ?assertMatch({_, <<"slept">>, <<>>}, read_response(Slow)),
    receive {stopped, Stopped} -> ?assertEqual(ok, Stopped) after 15000 -> ct:fail(stop_stuck) end,
    ?assertEqual([], [P || #{partial := P} <- Outcomes]),
    ?assert(lists:all(fun(#{whole := N}) -> N > 0 end, Outcomes)).

%% One client's requests until its connection is refused: how many got a whole
%% response, how many connections closed before a response began, and any response
%% that was cut.
hammer(Port, Answered, Seen) ->
    case gen_tcp:connect({127, 0, 0, 1}, Port, [binary, {active, false}]) of
        %% Reset: accepted into the backlog just as the listening socket closed.
        {error, Refused} when Refused =:= econnrefused; Refused =:= econnreset -> Seen;
        {ok, S} -> hammer(S, Port, Answered, Seen)
    end.

hammer(S, Port, Answered, Seen) ->
    case gen_tcp:send(S, <<"GET /token HTTP/1.1\r\nHost: t\r\n\r\n">>) =:= ok andalso whole_response(S, <<>>) of
        {ok, _} ->
            counters:add(Answered, 1, 1),
            hammer(S, Port, Answered, maps:update_with(whole, fun(N) -> N + 1 end, 1, Seen));
        Closed when Closed =:= false; Closed =:= closed ->
            gen_tcp:close(S),
            hammer(Port, Answered, maps:update_with(closed, fun(N) -> N + 1 end, 1, Seen));
        {partial, Bytes} ->
            gen_tcp:close(S),
            hammer(Port, Answered, maps:update_with(partial, fun(P) -> [Bytes | P] end, [Bytes], Seen))
    end.

%% A whole response to GET /token (16 hex digits), `closed' if the connection ended
%% before its first byte, `{partial, Bytes}' if it ended inside it.
whole_response(S, Acc) ->
    case binary:split(Acc, <<"\r\n\r\n">>) of
        [_Head, Body] when byte_size(Body) >= 16 -> {ok, Acc};
        _ ->
            case gen_tcp:recv(S, 0, 10000) of
                {ok, Data} -> whole_response(S, <<Acc/binary, Data/binary>>);
                {error, _} when Acc =:= <<>> -> closed;
                {error, _} -> {partial, Acc}
            end
    end.

%% RFC 9112 3.2: an HTTP/1.1 request has exactly one valid Host, and an absolute-form
%% target's authority wins over it.
host_header_rules(Config) ->
    Port = serve(Config, host_header_rules, "hostile_wsgi:application", #{}),
    Bad = [<<"GET /host HTTP/1.1\r\n\r\n">>,
           <<"GET /host HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n">>,
           <<"GET /host HTTP/1.1\r\nHost: user@evil\r\n\r\n">>,
           <<"GET /host HTTP/1.1\r\nHost: a/b\r\n\r\n">>],
    [?assertEqual({Request, 400}, {Request, status_of(raw(Port, Request))}) || Request <- Bad],
    S = connect(Port),
    ok = gen_tcp:send(S, <<"GET http://real.example:8080/host HTTP/1.1\r\nHost: other\r\n\r\n">>),
    ?assertMatch({_, <<"real.example:8080">>, <<>>}, read_response(S)),
    ok = gen_tcp:send(S, <<"GET /host HTTP/1.1\r\nHost: [::1]:80\r\n\r\n">>),
    ?assertMatch({_, <<"[::1]:80">>, <<>>}, read_response(S)),
    %% HTTP/1.0 needs no Host.
    ?assertEqual(200, status_of(raw(Port, <<"GET /host HTTP/1.0\r\n\r\n">>))).

%% `max_headers' holds over HTTP/2 as over HTTP/1.1 (nghttp speaks HTTP/2 with prior
%% knowledge to an http:// URL).
max_headers_over_http2(Config) ->
    Name = max_headers_over_http2,
    Port = serve(Config, Name, "hostile_wsgi:application", #{max_headers => 20}),
    Url = "http://127.0.0.1:" ++ integer_to_list(Port) ++ "/",
    Headers = fun(N) -> lists:append([" -H 'x-h" ++ integer_to_list(I) ++ ": v'" || I <- lists:seq(1, N)]) end,
    Many = os:cmd("nghttp -v" ++ Headers(30) ++ " " ++ Url),
    ?assertNotEqual(nomatch, string:find(Many, ":status: 431")),
    Few = os:cmd("nghttp -v" ++ Headers(5) ++ " " ++ Url),
    ?assertNotEqual(nomatch, string:find(Few, ":status: 200")).

%% `max_requests' for ASGI: under load from four clients, every request is answered
%% while the workers are recycled again and again.
asgi_recycling_loses_nothing(Config) ->
    Port = start(Config, #{workers => 2, max_requests => 25}),
    Self = self(),
    [spawn_link(fun() -> Self ! {done, [get(Port, "/token") || _ <- lists:seq(1, 60)]} end)
     || _ <- lists:seq(1, 4)],
    All = lists:append([receive {done, R} -> R after 60000 -> ct:fail(clients_stuck) end
                        || _ <- lists:seq(1, 4)]),
    ?assertEqual([], [R || {Status, _} = R <- All, Status =/= 200]),
    %% The old worker serves on while its successor loads (under this load, often
    %% past the end of the run); the successors do take over, losing nothing.
    Seen = lists:usort([T || {200, T} <- All]),
    wait_until(fun() -> not lists:member(token(Port), Seen) end).

%% A recycled ASGI worker finishes the request it runs: the request that uses up
%% `max_requests' sleeps, its successor takes over meanwhile, and the sleeping request
%% is still answered, by the old interpreter.
asgi_recycling_drains_in_flight(Config) ->
    Port = start(Config, #{workers => 1, max_requests => 2}),
    Before = token(Port),
    Slow = connect(Port),
    ok = gen_tcp:send(Slow, <<"GET /sleep?3 HTTP/1.1\r\nHost: t\r\n\r\n">>),
    wait_until(fun() -> token(Port) =/= Before end),
    ?assertEqual({error, timeout}, gen_tcp:recv(Slow, 0, 0)),
    {Head, Old, <<>>} = read_response(Slow),
    ?assertEqual(200, status_of(Head)),
    ?assertEqual(Before, Old).
