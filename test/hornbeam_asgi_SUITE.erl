%% hornbeam:start/2 serving ASGI applications (worker_class asgi), driven by real
%% clients: OTP's httpc, curl, raw sockets, and real Starlette and FastAPI apps.
-module(hornbeam_asgi_SUITE).
-include_lib("common_test/include/ct.hrl").
-include_lib("stdlib/include/assert.hrl").

-export([all/0, groups/0, init_per_suite/1, end_per_suite/1,
         init_per_group/2, end_per_group/2, init_per_testcase/2, end_per_testcase/2]).
-export([scope_is_complete/1, percent_decoded_path/1, root_path_is_in_the_scope/1,
         hello_and_status_codes/1, repeated_response_headers/1,
         request_body_streams_in_chunks/1, chunked_request_body/1,
         streamed_response_is_chunked/1, exception_before_start_is_500/1,
         exception_after_start_closes_the_connection/1, no_response_is_500/1,
         invalid_messages_are_errors/1, disconnect_reaches_receive/1,
         slow_reader_holds_back_the_app/1, requests_run_concurrently/1,
         early_hints_extension/1, pathsend_sends_a_file/1, timeout_cancels_the_task/1,
         keepalive_and_pipelining/1, several_workers/1,
         lifespan_state_and_shutdown/1, lifespan_startup_failure/1,
         lifespan_auto_without_support/1, lifespan_on_without_support/1,
         lifespan_off/1, starlette_app/1, fastapi_app/1,
         websocket_with_the_websockets_library/1, websocket_compressed_with_the_websockets_library/1,
         websocket_compression_offers/1, websocket_invalid_utf8_is_1007/1,
         websocket_answers_before_failing/1, websocket_over_http2/1, websocket_stop_is_going_away/1,
         websocket_raising_app/1, websocket_raising_app_with_a_full_queue/1]).

-import(hb_http, [serve/4, url/2, request/3, request/5, get/2, raw/2, read_response/1,
                  status_of/1, header/2, data_file/3, expect_log/1, wait_until/1, venv/1]).

all() ->
    [{group, http}, {group, behaviour}, {group, lifespan}, {group, websocket}, {group, frameworks}].

groups() ->
    [{http, [], [scope_is_complete, percent_decoded_path, hello_and_status_codes,
                 repeated_response_headers, request_body_streams_in_chunks,
                 chunked_request_body, streamed_response_is_chunked,
                 exception_before_start_is_500, exception_after_start_closes_the_connection,
                 no_response_is_500, invalid_messages_are_errors, early_hints_extension,
                 pathsend_sends_a_file, keepalive_and_pipelining]},
     {behaviour, [], [root_path_is_in_the_scope, disconnect_reaches_receive,
                      slow_reader_holds_back_the_app, requests_run_concurrently,
                      timeout_cancels_the_task, several_workers]},
     {lifespan, [], [lifespan_state_and_shutdown, lifespan_startup_failure,
                     lifespan_auto_without_support, lifespan_on_without_support,
                     lifespan_off]},
     {websocket, [], [websocket_with_the_websockets_library, websocket_compressed_with_the_websockets_library,
                      websocket_compression_offers, websocket_invalid_utf8_is_1007,
                      websocket_answers_before_failing, websocket_over_http2, websocket_stop_is_going_away,
                      websocket_raising_app, websocket_raising_app_with_a_full_queue]},
     {frameworks, [], [starlette_app, fastapi_app]}].

init_per_suite(Config) ->
    {ok, _} = application:ensure_all_started(hornbeam),
    {ok, _} = application:ensure_all_started(inets),
    Config.

end_per_suite(_Config) ->
    application:stop(hornbeam).

init_per_group(http, Config) ->
    [{port, serve(Config, http, "asgi_app:app", #{worker_class => asgi})} | Config];
init_per_group(_Group, Config) ->
    Config.

end_per_group(Group, _Config) ->
    hornbeam:stop(Group),
    ok.

init_per_testcase(Case, Config) ->
    hb_http:begin_case(Case, Config).

end_per_testcase(Case, _Config) ->
    hb_http:end_case(Case, [Case]).

%%% Helpers

asgi(Config, Name, App, Extra) ->
    serve(Config, Name, App, maps:merge(#{worker_class => asgi}, Extra)).

json(Port, Path) ->
    {200, _, Body} = get(Port, Path),
    hb_json:decode(Body).

mark_path(Config, Name) ->
    Path = filename:join(?config(priv_dir, Config), Name),
    file:delete(Path),
    Path.

file_says(Path, Text) ->
    fun() -> file:read_file(Path) =:= {ok, Text} end.

%%% The HTTP scope, receive and send

scope_is_complete(Config) ->
    Port = ?config(port, Config),
    {200, _, Body} = request(get, Port, "/scope?a=1&b=%20", [{"x-custom", "v"}], undefined),
    Scope = hb_json:decode(Body),
    ?assertMatch(#{<<"type">> := <<"http">>,
                   <<"asgi">> := #{<<"version">> := <<"3.0">>, <<"spec_version">> := <<"2.4">>},
                   <<"http_version">> := <<"1.1">>, <<"method">> := <<"GET">>,
                   <<"scheme">> := <<"http">>, <<"path">> := <<"/scope">>,
                   <<"raw_path">> := <<"/scope">>, <<"query_string">> := <<"a=1&b=%20">>,
                   <<"root_path">> := <<>>,
                   <<"client">> := [<<"127.0.0.1">>, _],
                   <<"server">> := [<<"127.0.0.1">>, Port]}, Scope),
    ?assert(lists:member([<<"x-custom">>, <<"v">>], maps:get(<<"headers">>, Scope))),
    ?assert(lists:member([<<"host">>, iolist_to_binary(["127.0.0.1:", integer_to_list(Port)])],
                         maps:get(<<"headers">>, Scope))),
    ?assertEqual(#{<<"http.response.pathsend">> => #{}, <<"http.response.early_hint">> => #{}},
                 maps:get(<<"extensions">>, Scope)),
    %% No lifespan ran (the app refuses it), so there is no state.
    ?assertNot(maps:is_key(<<"state">>, Scope)),
    [_, ClientPort] = maps:get(<<"client">>, Scope),
    ?assert(ClientPort > 0).

percent_decoded_path(Config) ->
    Port = ?config(port, Config),
    Raw = raw(Port, "GET /scope/caf%C3%A9/a%2Fb?x=%C3%A9 HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n"),
    ?assertEqual(200, status_of(Raw)),
    [_, Body] = binary:split(Raw, <<"\r\n\r\n">>),
    Scope = hb_json:decode(Body),
    ?assertEqual(<<"/scope/caf"/utf8, 16#e9/utf8, "/a/b">>, maps:get(<<"path">>, Scope)),
    ?assertEqual(<<"/scope/caf%C3%A9/a%2Fb">>, maps:get(<<"raw_path">>, Scope)),
    ?assertEqual(<<"x=%C3%A9">>, maps:get(<<"query_string">>, Scope)).

hello_and_status_codes(Config) ->
    Port = ?config(port, Config),
    {200, Headers, <<"Hello, World!">>} = get(Port, "/"),
    ?assertEqual("13", header("content-length", Headers)),
    ?assertEqual("hornbeam", header("server", Headers)),
    [?assertMatch({Code, _, _}, get(Port, "/status/" ++ integer_to_list(Code)))
     || Code <- [201, 302, 404, 418, 503]],
    {204, _, <<>>} = request(get, Port, "/status/204", [], undefined).

repeated_response_headers(Config) ->
    Port = ?config(port, Config),
    {200, Headers, _} = get(Port, "/headers"),
    ?assertEqual("1", header("x-one", Headers)),
    ?assertEqual(["a=1", "b=2"], [V || {"set-cookie", V} <- Headers]).

request_body_streams_in_chunks(Config) ->
    Port = ?config(port, Config),
    Big = crypto:strong_rand_bytes(3000000),
    {200, Headers, Echo} = request(post, Port, "/echo", [], {"application/octet-stream", Big}),
    ?assert(Big =:= Echo, {echo_differs, byte_size(Big), byte_size(Echo)}),
    %% Streamed: the app saw the body in several http.request events, not one.
    ?assert(list_to_integer(header("x-events", Headers)) > 1),
    {200, EmptyHeaders, <<>>} = request(post, Port, "/echo", [], {"text/plain", <<>>}),
    ?assertEqual("1", header("x-events", EmptyHeaders)).

chunked_request_body(Config) ->
    Port = ?config(port, Config),
    Raw = raw(Port, "POST /echo HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n"
                    "Connection: close\r\n\r\n5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n"),
    ?assertEqual(200, status_of(Raw)),
    [_, Body] = binary:split(Raw, <<"\r\n\r\n">>),
    ?assertEqual(<<"hello world">>, Body).

streamed_response_is_chunked(Config) ->
    Port = ?config(port, Config),
    Raw = raw(Port, "GET /stream?n=4 HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n"),
    [Head, Body] = binary:split(Raw, <<"\r\n\r\n">>),
    ?assertMatch({match, _}, re:run(Head, "(?i)transfer-encoding: chunked")),
    ?assertEqual(<<"7\r\nchunk0;\r\n7\r\nchunk1;\r\n7\r\nchunk2;\r\n7\r\nchunk3;\r\n0\r\n\r\n">>, Body),
    {200, _, <<"chunk0;chunk1;">>} = get(Port, "/stream?n=2").

exception_before_start_is_500(Config) ->
    Port = ?config(port, Config),
    {500, _, <<"Internal Server Error">>} = get(Port, "/raise"),
    {hornbeam_log, error, Text} = expect_log("raised before the response"),
    ?assertNotEqual(nomatch, string:find(Text, "Traceback")),
    ?assertNotEqual(nomatch, string:find(Text, "GET /raise")),
    %% The worker carries on.
    {200, _, <<"Hello, World!">>} = get(Port, "/").

exception_after_start_closes_the_connection(Config) ->
    Port = ?config(port, Config),
    Raw = raw(Port, "GET /raise-after-start HTTP/1.1\r\nHost: t\r\n\r\n"),
    ?assertEqual(200, status_of(Raw)),
    %% The part sent went out; the body never got its terminating chunk.
    ?assertNotEqual(nomatch, binary:match(Raw, <<"partial">>)),
    ?assertEqual(nomatch, binary:match(Raw, <<"\r\n0\r\n\r\n">>)),
    expect_log("raised in the middle of the body").

no_response_is_500(Config) ->
    Port = ?config(port, Config),
    {500, _, _} = get(Port, "/no-response"),
    expect_log("without sending a complete response").

invalid_messages_are_errors(Config) ->
    Port = ?config(port, Config),
    {500, _, _} = get(Port, "/bad-message"),
    expect_log("int 'status'"),
    %% A second body after the response completed: the client got the first answer,
    %% the app a RuntimeError that is logged.
    {200, _, <<"once">>} = get(Port, "/body-twice"),
    expect_log("after the response completed").

early_hints_extension(Config) ->
    Port = ?config(port, Config),
    Out = os:cmd("curl -s -v " ++ url(Port, "/early-hints") ++ " 2>&1"),
    {match, [{Hint, _}]} = re:run(Out, "HTTP/1.1 103 Early Hints"),
    {match, [{Final, _}]} = re:run(Out, "HTTP/1.1 200 OK"),
    ?assert(Hint < Final),
    ?assertMatch({match, _}, re:run(Out, "(?i)link: </style.css>; rel=preload; as=style")),
    ?assertNotEqual(nomatch, string:find(Out, "hinted")).

pathsend_sends_a_file(Config) ->
    Port = ?config(port, Config),
    Bytes = crypto:strong_rand_bytes(700000),
    Path = data_file(Config, "pathsend.bin", Bytes),
    {200, Headers, Got} = get(Port, "/pathsend?path=" ++ uri_string:quote(Path)),
    ?assert(Bytes =:= Got, {file_differs, byte_size(Bytes), byte_size(Got)}),
    ?assertEqual("700000", header("content-length", Headers)),
    {500, _, _} = get(Port, "/pathsend?path=/nonexistent/file"),
    expect_log("/nonexistent/file").

keepalive_and_pipelining(Config) ->
    Port = ?config(port, Config),
    {ok, S} = gen_tcp:connect({127, 0, 0, 1}, Port, [binary, {active, false}]),
    ok = gen_tcp:send(S, <<"GET / HTTP/1.1\r\nHost: t\r\n\r\n">>),
    {Head1, <<"Hello, World!">>, <<>>} = read_response(S),
    ?assertEqual(200, status_of(Head1)),
    %% Two pipelined requests on the same connection, answered in order.
    ok = gen_tcp:send(S, <<"GET /status/201 HTTP/1.1\r\nHost: t\r\n\r\n"
                           "GET /status/202 HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n">>),
    Rest = hb_http:read_until_closed(S, <<>>),
    {match, Codes} = re:run(Rest, "HTTP/1.1 ([0-9]{3})", [global, {capture, all_but_first, binary}]),
    ?assertEqual([[<<"201">>], [<<"202">>]], Codes).

%%% Server behaviour

root_path_is_in_the_scope(Config) ->
    Port = asgi(Config, root_path_is_in_the_scope, "asgi_app:app", #{root_path => "/api"}),
    %% A proxy that strips the prefix: the scope's path gets it back (as uvicorn does).
    #{<<"root_path">> := <<"/api">>, <<"path">> := <<"/api/scope">>} = json(Port, "/scope"),
    ok.

disconnect_reaches_receive(Config) ->
    Port = asgi(Config, disconnect_reaches_receive, "asgi_app:app", #{}),
    Mark = mark_path(Config, "disconnect.txt"),
    {ok, S} = gen_tcp:connect({127, 0, 0, 1}, Port, [binary, {active, false}]),
    ok = gen_tcp:send(S, ["GET /wait-disconnect?mark=", uri_string:quote(Mark), " HTTP/1.1\r\nHost: t\r\n\r\n"]),
    %% The client leaves only once the app has read the body and waits in receive():
    %% a request whose client is gone before it reaches the app never runs it.
    wait_until(file_says(Mark, <<"waiting">>)),
    gen_tcp:close(S),
    wait_until(file_says(Mark, <<"http.disconnect">>)).

slow_reader_holds_back_the_app(Config) ->
    Port = asgi(Config, slow_reader_holds_back_the_app, "asgi_app:app", #{}),
    Mark = mark_path(Config, "slow.txt"),
    {ok, S} = gen_tcp:connect({127, 0, 0, 1}, Port, [binary, {active, false}, {recbuf, 65536}]),
    ok = gen_tcp:send(S, ["GET /infinite?mark=", uri_string:quote(Mark), " HTTP/1.1\r\nHost: t\r\n\r\n"]),
    {ok, _} = gen_tcp:recv(S, 0, 5000),
    %% The client reads no more. Without back-pressure the app would send without
    %% end; with it, it stops once the socket buffers and the body channel are full.
    Chunks = [binary_to_integer(element(3, get(Port, "/progress"))) || _ <- lists:seq(1, 30)],
    ?assert(lists:last(Chunks) > 0),
    ?assert(lists:max(Chunks) < 200, {chunks_sent_while_not_read, Chunks}),
    gen_tcp:close(S),
    wait_until(file_says(Mark, <<"ClientDisconnected">>)).

requests_run_concurrently(Config) ->
    Port = asgi(Config, requests_run_concurrently, "asgi_app:app", #{}),
    %% Each /barrier request answers only once five wait together: one worker must
    %% run them at the same time.
    Self = self(),
    Pids = [spawn_link(fun() -> Self ! {self(), get(Port, "/barrier?n=5")} end) || _ <- lists:seq(1, 5)],
    [receive {Pid, {200, _, <<"together">>}} -> ok after 10000 -> ct:fail(not_concurrent) end || Pid <- Pids].

timeout_cancels_the_task(Config) ->
    Port = asgi(Config, timeout_cancels_the_task, "asgi_app:app", #{timeout => 300}),
    Mark = mark_path(Config, "cancelled.txt"),
    {504, _, _} = get(Port, "/sleep?s=30&mark=" ++ uri_string:quote(Mark)),
    wait_until(file_says(Mark, <<"cancelled">>)),
    {200, _, <<"slept">>} = get(Port, "/sleep?s=0.01").

several_workers(Config) ->
    Port = asgi(Config, several_workers, "asgi_app:app", #{workers => 3}),
    ?assertMatch(#{workers := 3, mode := subinterp}, hornbeam:info(several_workers)),
    Self = self(),
    Pids = [spawn_link(fun() -> Self ! {self(), [get(Port, "/") || _ <- lists:seq(1, 20)]} end)
            || _ <- lists:seq(1, 6)],
    [receive {Pid, Results} -> [{200, _, <<"Hello, World!">>} = R || R <- Results] after 20000 -> ct:fail(timeout) end
     || Pid <- Pids].

%%% WebSocket

%% The client offers permessage-deflate; without websocket_compression it is refused
%% (served by tungstenite).
websocket_with_the_websockets_library(Config) ->
    Result = ws_check(Config, websocket_with_the_websockets_library, #{}),
    ?assertEqual([], maps:get(<<"extensions">>, Result)).

%% The same checks over permessage-deflate (served by yawc); the 1009 check is then a
%% compression bomb (3 KB on the wire, 3 MB inflated, over the 2 MB limit).
websocket_compressed_with_the_websockets_library(Config) ->
    Result = ws_check(Config, websocket_compressed_with_the_websockets_library, #{websocket_compression => true}),
    ?assertEqual([<<"permessage-deflate">>], maps:get(<<"extensions">>, Result)).

ws_check(Config, Name, Opts) ->
    Port = asgi(Config, Name, "asgi_app:app", Opts#{websocket_max_frame_size => 2000000}),
    Mark = mark_path(Config, atom_to_list(Name) ++ "_disconnect.txt"),
    Python = filename:join([venv(Config), "bin", "python"]),
    Script = filename:join(?config(data_dir, Config), "ws_check.py"),
    Out = os:cmd(Python ++ " " ++ Script ++ " " ++ integer_to_list(Port) ++ " " ++ Mark ++ " 2>&1"),
    Result = try hb_json:decode(list_to_binary(string:trim(Out))) catch _:_ -> ct:fail({ws_check, Out}) end,
    ?assertEqual([<<"h"/utf8, 16#e9/utf8, "llo">>, [0, 1, 255]], maps:get(<<"echo">>, Result)),
    ?assertEqual([true, true, true, true, true, true], maps:get(<<"sizes">>, Result)),
    ?assertEqual(<<"fragmented">>, maps:get(<<"fragmented">>, Result)),
    ?assertEqual(true, maps:get(<<"ping">>, Result)),
    ?assertEqual(1009, maps:get(<<"oversize">>, Result)),
    ?assertEqual([4000, <<"bye">>], maps:get(<<"close">>, Result)),
    ?assertEqual(403, maps:get(<<"reject">>, Result)),
    ?assertEqual(<<"chat.v2">>, maps:get(<<"subprotocol">>, Result)),
    ?assertEqual(<<"yes">>, maps:get(<<"accept_header">>, Result)),
    ?assertEqual(#{<<"type">> => <<"websocket">>, <<"scheme">> => <<"ws">>, <<"path">> => <<"/ws/scope">>,
                   <<"subprotocols">> => [], <<"http_version">> => <<"1.1">>}, maps:get(<<"scope">>, Result)),
    ?assertEqual(false, maps:get(<<"scope_has_method">>, Result)),
    ?assertEqual(50, maps:get(<<"concurrent">>, Result)),
    %% The client vanished without a close frame: the app saw code 1006.
    wait_until(file_says(Mark, <<"disconnect 1006">>)),
    Result.

%% A masked client frame (RFC 6455 5.3) from raw bytes.
client_frame(Opcode, Payload) ->
    Mask = <<1, 2, 3, 4>>,
    Masked = list_to_binary([B bxor binary:at(Mask, I rem 4) || {I, B} <- lists:zip(lists:seq(0, byte_size(Payload) - 1), binary_to_list(Payload))]),
    <<1:1, 0:3, Opcode:4, 1:1, (byte_size(Payload)):7, Mask/binary, Masked/binary>>.

ws_handshake(Port, Path) ->
    ws_handshake(Port, Path, []).

ws_handshake(Port, Path, ExtraHeaders) ->
    {ok, S} = gen_tcp:connect({127, 0, 0, 1}, Port, [binary, {active, false}]),
    ok = gen_tcp:send(S, ["GET ", Path, " HTTP/1.1\r\nHost: t\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                          "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n",
                          [[Name, ": ", Value, "\r\n"] || {Name, Value} <- ExtraHeaders], "\r\n"]),
    {ok, Data} = gen_tcp:recv(S, 0, 5000),
    %% The first frame may come in the same segment as the 101.
    [Head, Rest] = binary:split(Data, <<"\r\n\r\n">>),
    {S, Head, Rest}.

%% The next bytes from the server: what came with the head first.
ws_recv(_S, Buffered) when Buffered =/= <<>> -> {ok, Buffered};
ws_recv(S, <<>>) -> gen_tcp:recv(S, 0, 5000).

%% Offers the websockets library does not make: several, on one line and on two, after
%% an extension we do not know (Autobahn 13.7). The first deflate offer we can honour is
%% the one agreed, with its terms.
websocket_compression_offers(Config) ->
    Port = asgi(Config, websocket_compression_offers, "asgi_app:app", #{websocket_compression => true}),
    Agreed = fun(Offers) ->
                     {S, Head, _} = ws_handshake(Port, "/ws", [{"Sec-WebSocket-Extensions", O} || O <- Offers]),
                     gen_tcp:close(S),
                     ?assertMatch({match, _}, re:run(Head, "^HTTP/1.1 101")),
                     case re:run(Head, "(?i)\r\nsec-websocket-extensions: ([^\r]*)", [{capture, all_but_first, binary}]) of
                         {match, [Value]} -> Value;
                         nomatch -> none
                     end
             end,
    ?assertMatch(<<"permessage-deflate", _/binary>>, Agreed(["permessage-deflate"])),
    Several = Agreed(["x-webkit-deflate-frame, permessage-deflate; client_max_window_bits; server_max_window_bits=10, "
                      "permessage-deflate"]),
    ?assertMatch({match, _}, re:run(Several, "^permessage-deflate.*server_max_window_bits=10")),
    TwoLines = Agreed(["x-webkit-deflate-frame", "permessage-deflate; server_no_context_takeover"]),
    ?assertMatch({match, _}, re:run(TwoLines, "^permessage-deflate.*server_no_context_takeover")),
    ?assertEqual(none, Agreed(["x-webkit-deflate-frame"])),
    ?assertEqual(none, Agreed(["permessage-deflate-nope"])).

websocket_invalid_utf8_is_1007(Config) ->
    Port = asgi(Config, websocket_invalid_utf8_is_1007, "asgi_app:app", #{}),
    {S, Head, <<>>} = ws_handshake(Port, "/ws"),
    %% RFC 6455's sample key and the accept value it must produce.
    ?assertMatch({match, _}, re:run(Head, "^HTTP/1.1 101")),
    ?assertMatch({match, _}, re:run(Head, "(?i)sec-websocket-accept: s3pPLMBiTxaQ9kYGzzhZRbK\\+xOo=")),
    ok = gen_tcp:send(S, client_frame(1, <<"ok">>)),
    {ok, <<1:1, 0:3, 1:4, 0:1, 2:7, "ok">>} = gen_tcp:recv(S, 0, 5000),
    ok = gen_tcp:send(S, client_frame(1, <<16#ff, 16#fe>>)),
    {ok, <<1:1, 0:3, 8:4, 0:1, _:7, 1007:16, _/binary>>} = gen_tcp:recv(S, 0, 5000),
    gen_tcp:close(S).

%% A client that sends a message and then breaks a rule (a frame with RSV1 set, no
%% extension agreed) in the same packet gets the app's answer to the message first,
%% then 1002 (Autobahn 3.2, 4.1.3, 5.15: strict, where failing at once is lenient).
websocket_answers_before_failing(Config) ->
    Port = asgi(Config, websocket_answers_before_failing, "asgi_app:app", #{}),
    {S, _Head, <<>>} = ws_handshake(Port, "/ws"),
    <<Fin:1, _Rsv1:1, Rest/bitstring>> = client_frame(1, <<"bad">>),
    Reserved = <<Fin:1, 1:1, Rest/bitstring>>,
    ok = gen_tcp:send(S, [client_frame(1, <<"Hello">>), Reserved, client_frame(9, <<>>)]),
    Frames = server_frames(hb_http:read_until_closed(S, <<>>)),
    ?assertMatch([{1, <<"Hello">>}, {8, <<1002:16, _/binary>>}], Frames).

%% RFC 8441 with the h2 and wsproto packages: the server offers extended CONNECT, two
%% WebSockets run as streams of one connection (200, not 101), the scope says HTTP/2,
%% a refusal is a 403, and an open WebSocket left quiet past `keepalive' keeps its
%% connection.
websocket_over_http2(Config) ->
    Port = asgi(Config, websocket_over_http2, "asgi_app:app", #{keepalive => 1}),
    Python = filename:join([venv(Config), "bin", "python"]),
    Script = filename:join(?config(data_dir, Config), "ws_h2_check.py"),
    Out = os:cmd(Python ++ " " ++ Script ++ " " ++ integer_to_list(Port) ++ " 1.5 2>&1"),
    Result = try hb_json:decode(list_to_binary(string:trim(Out))) catch _:_ -> ct:fail({ws_h2_check, Out}) end,
    ?assertEqual(1, maps:get(<<"enable_connect_protocol">>, Result)),
    ?assertEqual({200, 200}, {maps:get(<<"echo_status">>, Result), maps:get(<<"scope_status">>, Result)}),
    ?assertEqual(#{<<"type">> => <<"websocket">>, <<"http_version">> => <<"2">>, <<"scheme">> => <<"ws">>,
                   <<"path">> => <<"/ws/scope">>}, maps:get(<<"scope">>, Result)),
    ?assertEqual([<<"h"/utf8, 16#e9/utf8, "llo">>, [0, 1, 255]], maps:get(<<"echo">>, Result)),
    ?assertEqual([1000], maps:get(<<"close">>, Result)),
    ?assertEqual(403, maps:get(<<"reject_status">>, Result)).

%% stop/1 with a WebSocket open: the client gets 1001 (going away) and the stop does not
%% wait for the app to end the socket.
websocket_stop_is_going_away(Config) ->
    Port = asgi(Config, websocket_stop_is_going_away, "asgi_app:app", #{graceful_timeout => 20000}),
    {S, _Head, <<>>} = ws_handshake(Port, "/ws"),
    ok = gen_tcp:send(S, client_frame(1, <<"hi">>)),
    {ok, <<1:1, 0:3, 1:4, 0:1, 2:7, "hi">>} = gen_tcp:recv(S, 0, 5000),
    Self = self(),
    spawn_link(fun() -> Self ! {stopped, hornbeam:stop(websocket_stop_is_going_away)} end),
    {ok, <<1:1, 0:3, 8:4, 0:1, _:7, 1001:16, _/binary>>} = gen_tcp:recv(S, 0, 5000),
    ok = gen_tcp:send(S, client_frame(8, <<1001:16>>)),
    receive {stopped, Stopped} -> ?assertEqual(ok, Stopped) after 10000 -> ct:fail(stop_waited) end.

%% Unmasked server frames with 7-bit lengths, as {Opcode, Payload}.
server_frames(<<>>) -> [];
server_frames(<<_:4, Opcode:4, 0:1, Length:7, Payload:Length/binary, Rest/binary>>) ->
    [{Opcode, Payload} | server_frames(Rest)].

websocket_raising_app(Config) ->
    Port = asgi(Config, websocket_raising_app, "asgi_app:app", #{}),
    {S, Head, Rest} = ws_handshake(Port, "/ws/raise"),
    ?assertMatch({match, _}, re:run(Head, "^HTTP/1.1 101")),
    %% An exception after accept closes with 1011 and is logged.
    {ok, <<1:1, 0:3, 8:4, 0:1, _:7, 1011:16, _/binary>>} = ws_recv(S, Rest),
    {hornbeam_log, error, Text} = expect_log("websocket handler failed"),
    ?assertNotEqual(nomatch, string:find(Text, "Traceback")),
    gen_tcp:close(S).

websocket_raising_app_with_a_full_queue(Config) ->
    Port = asgi(Config, websocket_raising_app_with_a_full_queue, "asgi_app:app", #{}),
    {S, _Head, Rest} = ws_handshake(Port, "/ws/flood-then-raise"),
    %% The app fails while its queue is full: what it queued still arrives, then 1011.
    {hornbeam_log, error, _} = expect_log("failed while the client lagged"),
    {Messages, Code} = ws_until_close(S, Rest, 0),
    ?assert(Messages > 0),
    ?assertEqual(1011, Code),
    gen_tcp:close(S).

%% Reads server frames until the close frame: {data frames before it, close code}.
ws_until_close(S, <<_:4, Op:4, 0:1, Len:7, Rest/binary>> = Buffer, Seen) ->
    case frame_length(Len, Rest) of
        {Size, Payload} when byte_size(Payload) >= Size, Op =:= 8 ->
            <<Code:16, _/binary>> = Payload,
            {Seen, Code};
        {Size, Payload} when byte_size(Payload) >= Size ->
            <<_:Size/binary, Next/binary>> = Payload,
            ws_until_close(S, Next, Seen + 1);
        _ ->
            ws_until_close(S, more(S, Buffer), Seen)
    end;
ws_until_close(S, Buffer, Seen) ->
    ws_until_close(S, more(S, Buffer), Seen).

frame_length(126, <<Size:16, Payload/binary>>) -> {Size, Payload};
frame_length(127, <<Size:64, Payload/binary>>) -> {Size, Payload};
frame_length(Len, Payload) when Len < 126 -> {Len, Payload};
frame_length(_, _) -> incomplete.

more(S, Buffer) ->
    {ok, Data} = gen_tcp:recv(S, 0, 5000),
    <<Buffer/binary, Data/binary>>.

%%% Lifespan

lifespan_state_and_shutdown(Config) ->
    Mark = filename:join(?config(data_dir, Config), "lifespan_shutdown.txt"),
    file:delete(Mark),
    Port = asgi(Config, lifespan_state_and_shutdown, "lifespan_app:ok_app", #{}),
    ?assertEqual(#{<<"has_state">> => true, <<"state">> => #{<<"db">> => <<"connected">>}},
                 json(Port, "/")),
    ?assertEqual({error, enoent}, file:read_file(Mark)),
    ok = hornbeam:stop(lifespan_state_and_shutdown),
    %% stop/1 returns after shutdown ran.
    ?assertEqual({ok, <<"shutdown complete">>}, file:read_file(Mark)).

lifespan_startup_failure(Config) ->
    Opts = #{name => lifespan_startup_failure, bind => "127.0.0.1:0", worker_class => asgi,
             pythonpath => [?config(data_dir, Config)]},
    ?assertEqual({error, {lifespan_startup_failed, "database unreachable"}},
                 hornbeam:start("lifespan_app:failing_app", Opts)),
    ?assertEqual({error, not_found}, hornbeam:info(lifespan_startup_failure)).

lifespan_auto_without_support(Config) ->
    Port = hb_http:with_info_logs(fun() ->
        P = asgi(Config, lifespan_auto_without_support, "lifespan_app:no_lifespan_app", #{}),
        {hornbeam_log, info, _} = expect_log("appears unsupported"),
        P
    end),
    ?assertEqual(#{<<"has_state">> => false, <<"state">> => #{}}, json(Port, "/")).

lifespan_on_without_support(Config) ->
    Opts = #{name => lifespan_on_without_support, bind => "127.0.0.1:0", worker_class => asgi,
             lifespan => on, pythonpath => [?config(data_dir, Config)]},
    {error, {lifespan_startup_failed, Why}} = hornbeam:start("lifespan_app:no_lifespan_app", Opts),
    ?assertNotEqual(nomatch, string:find(Why, "unsupported scope lifespan")).

lifespan_off(Config) ->
    Mark = filename:join(?config(data_dir, Config), "lifespan_shutdown.txt"),
    file:delete(Mark),
    Port = asgi(Config, lifespan_off, "lifespan_app:ok_app", #{lifespan => off}),
    ?assertEqual(#{<<"has_state">> => false, <<"state">> => #{}}, json(Port, "/")),
    ok = hornbeam:stop(lifespan_off),
    ?assertEqual({error, enoent}, file:read_file(Mark)),
    ?assertEqual({error, {invalid_option, lifespan, maybe}},
                 hornbeam:start("lifespan_app:ok_app", #{worker_class => asgi, lifespan => maybe})).

%%% Real frameworks, from the test venv

starlette_app(Config) ->
    Port = asgi(Config, starlette_app, "starlette_app:app", #{venv => venv(Config)}),
    {200, _, <<"Hello from Starlette">>} = get(Port, "/"),
    ?assertEqual(#{<<"id">> => 7, <<"q">> => <<"x">>, <<"started">> => true}, json(Port, "/items/7?q=x")),
    {200, _, Posted} = request(post, Port, "/echo", [], {"application/json", <<"{\"a\":[1,2]}">>}),
    ?assertEqual(#{<<"a">> => [1, 2]}, hb_json:decode(Posted)),
    {200, _, <<"0;1;2;3;4;">>} = get(Port, "/stream"),
    {200, SseHeaders, Sse} = get(Port, "/sse"),
    ?assertMatch("text/event-stream" ++ _, header("content-type", SseHeaders)),
    ?assertEqual(<<"data: tick 0\r\n\r\ndata: tick 1\r\n\r\ndata: tick 2\r\n\r\n">>, Sse),
    {404, _, _} = get(Port, "/missing"),
    {500, _, _} = get(Port, "/boom"),
    expect_log("starlette handler failed"),
    Script = filename:join(?config(data_dir, Config), "starlette_ws_check.py"),
    Python = filename:join([venv(Config), "bin", "python"]),
    Out = os:cmd(Python ++ " " ++ Script ++ " " ++ integer_to_list(Port) ++ " 2>&1"),
    Ws = try hb_json:decode(list_to_binary(string:trim(Out))) catch _:_ -> ct:fail({starlette_ws_check, Out}) end,
    ?assertEqual(#{<<"greeting">> => #{<<"room">> => <<"lobby">>, <<"started">> => true},
                   <<"echo">> => #{<<"echo">> => #{<<"n">> => 1, <<"text">> => <<"hi">>}},
                   <<"close">> => [4001, <<"left">>]}, Ws).

fastapi_app(Config) ->
    %% pydantic-core refuses sub-interpreters: python_mode auto serves it from the main
    %% interpreter.
    Port = asgi(Config, fastapi_app, "fastapi_app:app", #{venv => venv(Config)}),
    ?assertMatch(#{mode := main}, hornbeam:info(fastapi_app)),
    ?assertEqual(#{<<"item_id">> => 3, <<"q">> => <<"z">>}, json(Port, "/items/3?q=z")),
    {200, _, Created} = request(post, Port, "/items", [], {"application/json", <<"{\"name\":\"pen\",\"price\":1.5}">>}),
    ?assertEqual(#{<<"name">> => <<"pen">>, <<"price">> => 1.5, <<"total">> => 1.5}, hb_json:decode(Created)),
    {422, _, Invalid} = request(post, Port, "/items", [], {"application/json", <<"{\"name\":\"pen\"}">>}),
    ?assertMatch(#{<<"detail">> := [_ | _]}, hb_json:decode(Invalid)),
    {200, _, OpenApi} = get(Port, "/openapi.json"),
    ?assertMatch(#{<<"openapi">> := _}, hb_json:decode(OpenApi)).
