%% hornbeam:start/2 serving WSGI applications, driven by real clients: OTP's httpc,
%% curl, raw sockets for what clients normally hide, and Python's http.client.
-module(hornbeam_wsgi_SUITE).
-include_lib("common_test/include/ct.hrl").
-include_lib("stdlib/include/assert.hrl").

-export([all/0, groups/0, init_per_suite/1, end_per_suite/1,
         init_per_group/2, end_per_group/2, init_per_testcase/2, end_per_testcase/2]).
-import(hb_http, [serve/4, url/2, request/3, request/5, get/2, raw/2, read_until_closed/2,
                  read_response/1, content_length/1, status_of/1, header/2, data_file/3,
                  expect_log/1, wait_until/1, root_dir/1, venv/1, python/0]).
-export([status_codes/1, head_has_headers_but_no_body/1, options_request/1,
         custom_and_repeated_headers/1, json_round_trip/1, bodies_both_ways/1,
         chunked_request_body/1, chunked_streamed_response/1, write_callable/1,
         environ_is_complete/1, percent_decoded_path/1, exc_info_replaces_status/1,
         close_always_called/1, exception_before_start_is_500/1,
         exception_after_start_closes_the_connection/1, early_hints_before_the_response/1,
         keepalive_reuses_the_connection/1, pipelined_requests_in_order/1,
         http_1_0/1, expect_100_continue/1, malformed_request_is_400/1,
         request_line_too_long_is_414/1, headers_too_large_are_431/1,
         python_http_client/1, curl_client/1, kept_objects_raise_after_their_request/1,
         write_from_another_thread_as_the_request_ends/1,
         wsgi_errors_become_log_events/1, body_limits_are_413/1,
         idle_and_slow_clients_are_closed/1, forwarded_headers_trusted_and_untrusted/1,
         root_path_sets_script_name/1, timeout_is_504_and_interrupts/1,
         recycling_under_load_loses_nothing/1, two_named_servers/1, start_errors/1,
         stop_drains_a_request_in_flight/1, file_wrapper_sends_without_python/1,
         stop_interrupts_a_runaway_request/1, access_log_and_lazy_import/1,
         flask_app/1, django_project/1, python_mode_auto_falls_back_to_main/1,
         main_mode_with_several_workers/1]).

-define(CORE, [status_codes, head_has_headers_but_no_body, options_request,
               custom_and_repeated_headers, json_round_trip, bodies_both_ways,
               chunked_request_body, chunked_streamed_response, write_callable,
               environ_is_complete, percent_decoded_path, exc_info_replaces_status,
               close_always_called, exception_before_start_is_500,
               exception_after_start_closes_the_connection, early_hints_before_the_response]).

all() ->
    [{group, validated}, {group, plain}, {group, protocol}, {group, behaviour},
     {group, frameworks}].

groups() ->
    [{validated, [], ?CORE},
     {plain, [], ?CORE},
     {protocol, [], [keepalive_reuses_the_connection, pipelined_requests_in_order, http_1_0,
                     expect_100_continue, malformed_request_is_400,
                     request_line_too_long_is_414, headers_too_large_are_431,
                     python_http_client, curl_client, kept_objects_raise_after_their_request,
                     write_from_another_thread_as_the_request_ends]},
     {behaviour, [], [wsgi_errors_become_log_events, body_limits_are_413,
                      idle_and_slow_clients_are_closed, forwarded_headers_trusted_and_untrusted,
                      root_path_sets_script_name, timeout_is_504_and_interrupts,
                      recycling_under_load_loses_nothing, two_named_servers, start_errors,
                      stop_drains_a_request_in_flight, file_wrapper_sends_without_python,
                      stop_interrupts_a_runaway_request, access_log_and_lazy_import]},
     {frameworks, [], [flask_app, django_project, python_mode_auto_falls_back_to_main,
                       main_mode_with_several_workers]}].

init_per_suite(Config) ->
    {ok, _} = application:ensure_all_started(hornbeam),
    {ok, _} = application:ensure_all_started(inets),
    Config.

end_per_suite(_Config) ->
    application:stop(hornbeam).

%% `validated' serves the app under wsgiref.validate (a PEP 3333 violation is a 500);
%% `plain' serves it as it is (list bodies take the whole-body path).
init_per_group(validated, Config) ->
    [{port, serve(Config, validated, "wsgi_app:application", #{})} | Config];
init_per_group(Group, Config) when Group =:= plain; Group =:= protocol ->
    [{port, serve(Config, Group, "wsgi_app:raw", #{})} | Config];
init_per_group(_Group, Config) ->
    Config.

end_per_group(Group, _Config) ->
    hornbeam:stop(Group),
    ok.

init_per_testcase(Case, Config) ->
    hb_http:begin_case(Case, Config).

end_per_testcase(Case, _Config) ->
    hb_http:end_case(Case, [Case, second(Case), one, two]).

second(Case) ->
    list_to_atom(atom_to_list(Case) ++ "_2").

environ(Port, Path, Headers) ->
    {200, _, Body} = request(get, Port, Path, Headers, undefined),
    hb_json:decode(Body).

%%% Core WSGI behaviour (run for both groups)

status_codes(Config) ->
    Port = ?config(port, Config),
    [begin
         {Status, Headers, _} = get(Port, "/status/" ++ integer_to_list(Code)),
         ?assertEqual(Code, Status),
         ?assertEqual("hornbeam", header("server", Headers)),
         ?assertNotEqual(undefined, header("date", Headers))
     end || Code <- [200, 201, 204, 301, 302, 400, 404, 500]],
    {301, Headers301, _} = get(Port, "/status/301"),
    ?assertEqual("/", header("location", Headers301)),
    {404, _, <<"not found">>} = get(Port, "/no/such/route").

head_has_headers_but_no_body(Config) ->
    Port = ?config(port, Config),
    Response = raw(Port, <<"HEAD / HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n">>),
    [Head, Body] = binary:split(Response, <<"\r\n\r\n">>),
    ?assertEqual(200, status_of(Head)),
    ?assertEqual(13, content_length(Head)),
    ?assertEqual(<<>>, Body).

options_request(Config) ->
    {200, Headers, <<>>} = request(options, ?config(port, Config), "/options"),
    ?assertEqual("GET, HEAD, OPTIONS", header("allow", Headers)).

custom_and_repeated_headers(Config) ->
    Port = ?config(port, Config),
    {200, Headers, _} = get(Port, "/headers"),
    ?assertEqual("custom-value", header("x-custom", Headers)),
    ?assertEqual(["a=1", "b=2"], [V || {"set-cookie", V} <- Headers]),
    %% Repeated request headers reach the app joined with ", ".
    Raw = raw(Port, <<"GET /environ HTTP/1.1\r\nHost: t\r\nX-Multi: one\r\nX-Multi: two\r\n"
                      "X-Single: value\r\nConnection: close\r\n\r\n">>),
    [_, Json] = binary:split(Raw, <<"\r\n\r\n">>),
    Env = hb_json:decode(Json),
    ?assertEqual(<<"one, two">>, maps:get(<<"HTTP_X_MULTI">>, Env)),
    ?assertEqual(<<"value">>, maps:get(<<"HTTP_X_SINGLE">>, Env)).

json_round_trip(Config) ->
    Doc = #{<<"name">> => <<"hornbeam">>, <<"n">> => 42, <<"list">> => [1, 2, 3]},
    {200, Headers, Body} = request(post, ?config(port, Config), "/json", [],
                                   {"application/json", hb_json:encode(Doc)}),
    ?assertEqual("application/json", header("content-type", Headers)),
    ?assertEqual(Doc#{<<"seen">> => true}, hb_json:decode(Body)).

bodies_both_ways(Config) ->
    Port = ?config(port, Config),
    Utf8 = unicode:characters_to_binary("héllo wörld ✓"),
    Bodies = [<<>>, Utf8, crypto:strong_rand_bytes(100 * 1024), crypto:strong_rand_bytes(10 * 1024 * 1024)],
    [begin
         {200, _, Echoed} = request(post, Port, "/echo", [], {"application/octet-stream", Body}),
         ?assertEqual(byte_size(Body), byte_size(Echoed)),
         ?assert(Body =:= Echoed)
     end || Body <- Bodies],
    {200, Headers, Utf8} = get(Port, "/utf8"),
    ?assertEqual("text/plain; charset=utf-8", header("content-type", Headers)),
    {200, _, Big} = get(Port, "/big?size=10485760"),
    ?assertEqual(10485760, byte_size(Big)),
    {200, _, <<>>} = get(Port, "/big?size=0").

chunked_request_body(Config) ->
    Port = ?config(port, Config),
    Data = crypto:strong_rand_bytes(300 * 1024),
    File = data_file(Config, "chunked.bin", Data),
    Out = filename:join(?config(priv_dir, Config), "chunked.out"),
    Cmd = io_lib:format("curl -s -o ~s -w '%{http_code}' -H 'Transfer-Encoding: chunked' "
                        "-H 'Content-Type: application/octet-stream' --data-binary @~s ~s",
                        [Out, File, url(Port, "/echo")]),
    ?assertEqual("200", os:cmd(lists:flatten(Cmd))),
    {ok, Echoed} = file:read_file(Out),
    ?assert(Data =:= Echoed),
    %% Line-oriented reading of a chunked body: readlines() over the stream.
    Lines = <<"alpha\nbeta\n\ngamma">>,
    Raw = raw(Port, [<<"POST /echo-lines HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n"
                       "Connection: close\r\n\r\n">>,
                     chunk(<<"alpha\nbe">>), chunk(<<"ta\n\ngam">>), chunk(<<"ma">>), <<"0\r\n\r\n">>]),
    [_, Json] = binary:split(Raw, <<"\r\n\r\n">>),
    ?assertEqual([<<"alpha\n">>, <<"beta\n">>, <<"\n">>, <<"gamma">>], hb_json:decode(Json)),
    ?assertEqual(Lines, iolist_to_binary(hb_json:decode(Json))).

chunk(Data) ->
    [integer_to_binary(byte_size(Data), 16), <<"\r\n">>, Data, <<"\r\n">>].

chunked_streamed_response(Config) ->
    Port = ?config(port, Config),
    Raw = raw(Port, <<"GET /stream?n=4 HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n">>),
    [Head, Body] = binary:split(Raw, <<"\r\n\r\n">>),
    ?assertMatch({match, _}, re:run(Head, "(?i)transfer-encoding: chunked")),
    ?assertEqual(<<"chunk 0\nchunk 1\nchunk 2\nchunk 3\n">>, dechunk(Body)),
    {200, _, <<"chunk 0\nchunk 1\n">>} = get(Port, "/stream?n=2").

%% The payload of a complete chunked body (fails on a truncated one).
dechunk(Body) ->
    [SizeHex, Rest] = binary:split(Body, <<"\r\n">>),
    case binary_to_integer(SizeHex, 16) of
        0 -> <<>>;
        Size ->
            <<Data:Size/binary, "\r\n", More/binary>> = Rest,
            <<Data/binary, (dechunk(More))/binary>>
    end.

write_callable(Config) ->
    {200, _, Body} = get(?config(port, Config), "/write"),
    ?assertEqual(<<"written directly, then returned">>, Body).

environ_is_complete(Config) ->
    Port = ?config(port, Config),
    Env = environ(Port, "/environ/x?a=1&b=two", [{"x-custom-header", "yes"}]),
    Expect = #{<<"REQUEST_METHOD">> => <<"GET">>,
               <<"SCRIPT_NAME">> => <<>>,
               <<"PATH_INFO">> => <<"/environ/x">>,
               <<"QUERY_STRING">> => <<"a=1&b=two">>,
               <<"SERVER_NAME">> => <<"127.0.0.1">>,
               <<"SERVER_PORT">> => integer_to_binary(Port),
               <<"SERVER_PROTOCOL">> => <<"HTTP/1.1">>,
               <<"REMOTE_ADDR">> => <<"127.0.0.1">>,
               <<"HTTP_X_CUSTOM_HEADER">> => <<"yes">>,
               <<"wsgi.url_scheme">> => <<"http">>,
               <<"wsgi.version">> => [1, 0],
               <<"wsgi.multithread">> => false,
               <<"wsgi.multiprocess">> => false,
               <<"wsgi.run_once">> => false,
               <<"wsgi.input_terminated">> => true},
    ?assertEqual(Expect, maps:with(maps:keys(Expect), Env)),
    ?assert(binary_to_integer(maps:get(<<"REMOTE_PORT">>, Env)) > 0),
    %% CONTENT_TYPE and CONTENT_LENGTH come without the HTTP_ prefix.
    Raw = raw(Port, <<"POST /environ HTTP/1.1\r\nHost: example.org:8080\r\nContent-Type: text/csv\r\n"
                      "Content-Length: 3\r\nConnection: close\r\n\r\nabc">>),
    [_, Json] = binary:split(Raw, <<"\r\n\r\n">>),
    Post = hb_json:decode(Json),
    ?assertEqual(<<"text/csv">>, maps:get(<<"CONTENT_TYPE">>, Post)),
    ?assertEqual(<<"3">>, maps:get(<<"CONTENT_LENGTH">>, Post)),
    ?assertNot(maps:is_key(<<"HTTP_CONTENT_TYPE">>, Post)),
    ?assertEqual(<<"example.org">>, maps:get(<<"SERVER_NAME">>, Post)),
    ?assertEqual(<<"8080">>, maps:get(<<"SERVER_PORT">>, Post)),
    ?assertEqual(<<"example.org:8080">>, maps:get(<<"HTTP_HOST">>, Post)).

percent_decoded_path(Config) ->
    %% PEP 3333: PATH_INFO holds the decoded bytes, one character per byte (latin-1).
    Env = environ(?config(port, Config), "/environ/caf%C3%A9%20x?q=%C3%A9", []),
    ?assertEqual([$/ | "environ/caf"] ++ [16#C3, 16#A9, $\s, $x],
                 maps:get(<<"PATH_INFO_BYTES">>, Env)),
    ?assertEqual(<<"q=%C3%A9">>, maps:get(<<"QUERY_STRING">>, Env)).

exc_info_replaces_status(Config) ->
    {503, _, <<"replaced">>} = get(?config(port, Config), "/exc-info").

close_always_called(Config) ->
    Port = ?config(port, Config),
    {200, _, Before} = get(Port, "/closed"),
    {200, _, _} = get(Port, "/stream?n=2"),
    _ = raw(Port, <<"GET /raise-after HTTP/1.1\r\nHost: t\r\n\r\n">>),
    {200, _, After} = get(Port, "/closed"),
    ?assertEqual(binary_to_integer(Before) + 2, binary_to_integer(After)).

exception_before_start_is_500(Config) ->
    {500, Headers, Body} = get(?config(port, Config), "/raise"),
    ?assertEqual(<<"Internal Server Error">>, Body),
    ?assertEqual("text/plain; charset=utf-8", header("content-type", Headers)),
    {hornbeam_log, error, Text} = expect_log("raised before start_response"),
    ?assertNotEqual(nomatch, string:find(Text, "Traceback")),
    ?assertNotEqual(nomatch, string:find(Text, "GET /raise")),
    %% The worker goes on serving.
    {200, _, <<"Hello, World!">>} = get(?config(port, Config), "/").

exception_after_start_closes_the_connection(Config) ->
    Raw = raw(?config(port, Config), <<"GET /raise-after HTTP/1.1\r\nHost: t\r\n\r\n">>),
    [Head, Body] = binary:split(Raw, <<"\r\n\r\n">>),
    ?assertEqual(200, status_of(Head)),
    ?assertNotEqual(nomatch, binary:match(Body, <<"first part">>)),
    %% No terminating chunk: the client cannot take it for a whole body.
    ?assertError({badmatch, _}, dechunk(Body)),
    expect_log("failed in the middle of the body").

early_hints_before_the_response(Config) ->
    Port = ?config(port, Config),
    Verbose = os:cmd("curl -s -v " ++ url(Port, "/hints") ++ " 2>&1"),
    ?assertMatch({match, _}, re:run(Verbose, "< HTTP/1.1 103 Early Hints")),
    ?assertMatch({match, _}, re:run(Verbose, "< link: </style.css>; rel=preload; as=style")),
    ?assertMatch({match, _}, re:run(Verbose, "< HTTP/1.1 200 OK")),
    ?assertMatch({match, _}, re:run(Verbose, "hinted$", [multiline])),
    %% On the wire: the 103, then the final response, on one connection.
    Raw = raw(Port, <<"GET /hints HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n">>),
    ?assertMatch(<<"HTTP/1.1 103 Early Hints\r\nlink: </style.css>; rel=preload; as=style\r\n\r\n"
                   "HTTP/1.1 200 OK\r\n", _/binary>>, Raw),
    %% HTTP/1.0 has no informational responses: the hint is dropped.
    Old = raw(Port, <<"GET /hints HTTP/1.0\r\n\r\n">>),
    ?assertMatch(<<"HTTP/1.0 200 OK", _/binary>>, Old).

%%% HTTP/1.1 protocol behaviour

keepalive_reuses_the_connection(Config) ->
    Port = ?config(port, Config),
    #{accepted := Before} = hornbeam:info(protocol),
    {ok, S} = gen_tcp:connect({127, 0, 0, 1}, Port, [binary, {active, false}]),
    Bodies = [begin
                  ok = gen_tcp:send(S, <<"GET /status/201 HTTP/1.1\r\nHost: t\r\n\r\n">>),
                  {Head, Body, <<>>} = read_response(S),
                  ?assertEqual(201, status_of(Head)),
                  Body
              end || _ <- lists:seq(1, 5)],
    ?assertEqual(lists:duplicate(5, <<"status 201">>), Bodies),
    #{accepted := After} = hornbeam:info(protocol),
    ?assertEqual(Before + 1, After),
    gen_tcp:close(S).

pipelined_requests_in_order(Config) ->
    Port = ?config(port, Config),
    Requests = [<<"GET /status/201 HTTP/1.1\r\nHost: t\r\n\r\n">>,
                <<"POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 4\r\n\r\nping">>,
                <<"GET /status/404 HTTP/1.1\r\nHost: t\r\n\r\n">>,
                <<"GET / HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n">>],
    Raw = raw(Port, Requests),
    Responses = split_responses(Raw),
    ?assertEqual([{201, <<"status 201">>}, {200, <<"ping">>}, {404, <<"status 404">>},
                  {200, <<"Hello, World!">>}], Responses).

split_responses(<<>>) -> [];
split_responses(Raw) ->
    [Head, Rest] = binary:split(Raw, <<"\r\n\r\n">>),
    Length = content_length(Head),
    <<Body:Length/binary, More/binary>> = Rest,
    [{status_of(Head), Body} | split_responses(More)].

http_1_0(Config) ->
    Raw = raw(?config(port, Config), <<"GET /environ HTTP/1.0\r\n\r\n">>),
    [Head, Json] = binary:split(Raw, <<"\r\n\r\n">>),
    ?assertMatch(<<"HTTP/1.", _/binary>>, Head),
    ?assertEqual(200, status_of(Head)),
    ?assertEqual(<<"HTTP/1.0">>, maps:get(<<"SERVER_PROTOCOL">>, hb_json:decode(Json))).

expect_100_continue(Config) ->
    {ok, S} = gen_tcp:connect({127, 0, 0, 1}, ?config(port, Config), [binary, {active, false}]),
    ok = gen_tcp:send(S, <<"POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 5\r\n"
                           "Expect: 100-continue\r\n\r\n">>),
    {ok, Continue} = gen_tcp:recv(S, 0, 5000),
    ?assertEqual(<<"HTTP/1.1 100 Continue\r\n\r\n">>, Continue),
    ok = gen_tcp:send(S, <<"hello">>),
    {Head, <<"hello">>, <<>>} = read_response(S),
    ?assertEqual(200, status_of(Head)),
    gen_tcp:close(S).

malformed_request_is_400(Config) ->
    Port = ?config(port, Config),
    ?assertEqual(400, status_of(raw(Port, <<"GARBAGE\r\n\r\n">>))),
    ?assertEqual(400, status_of(raw(Port, <<"GET / HTTP/1.1\r\nBad Header\r\n\r\n">>))),
    %% The server goes on serving.
    {200, _, _} = get(Port, "/").

request_line_too_long_is_414(Config) ->
    Port = ?config(port, Config),
    Path = "/" ++ lists:duplicate(9000, $a),
    Raw = raw(Port, ["GET ", Path, " HTTP/1.1\r\nHost: t\r\n\r\n"]),
    ?assertEqual(414, status_of(Raw)).

headers_too_large_are_431(Config) ->
    Port = ?config(port, Config),
    Big = lists:duplicate(70000, $h),
    ?assertEqual(431, status_of(raw(Port, ["GET / HTTP/1.1\r\nHost: t\r\nX-Big: ", Big, "\r\n\r\n"]))),
    Huge = lists:duplicate(200000, $h),
    ?assertEqual(431, status_of(raw(Port, ["GET / HTTP/1.1\r\nHost: t\r\nX-Big: ", Huge, "\r\n\r\n"]))),
    Many = [["X-H", integer_to_list(I), ": v\r\n"] || I <- lists:seq(1, 101)],
    ?assertEqual(431, status_of(raw(Port, ["GET / HTTP/1.1\r\nHost: t\r\n", Many, "\r\n"]))).

python_http_client(Config) ->
    Port = ?config(port, Config),
    Script = filename:join(?config(data_dir, Config), "http_client_check.py"),
    Python = python(),
    Out = os:cmd(Python ++ " " ++ Script ++ " " ++ integer_to_list(Port) ++ " 2>&1"),
    Result = hb_json:decode(list_to_binary(string:trim(Out))),
    ?assertEqual(#{<<"hello">> => <<"Hello, World!">>,
                   <<"keepalive_same_socket">> => true,
                   <<"chunked_echo_ok">> => true,
                   <<"statuses">> => [200, 201, 404]}, Result).

curl_client(Config) ->
    Port = ?config(port, Config),
    Head = os:cmd("curl -s -I " ++ url(Port, "/")),
    ?assertMatch({match, _}, re:run(Head, "^HTTP/1.1 200", [multiline])),
    ?assertMatch({match, _}, re:run(Head, "(?i)content-length: 13")),
    Verbose = os:cmd("curl -s -v -H 'Expect: 100-continue' --data-binary @" ++
                     data_file(Config, "big.bin", binary:copy(<<"z">>, 2000000)) ++ " " ++
                     url(Port, "/echo") ++ " -o /dev/null 2>&1"),
    ?assertNotEqual(nomatch, string:find(Verbose, "HTTP/1.1 100 Continue")),
    ?assertNotEqual(nomatch, string:find(Verbose, "HTTP/1.1 200 OK")).

%%% Server behaviour and options

wsgi_errors_become_log_events(Config) ->
    Port = serve(Config, wsgi_errors_become_log_events, "wsgi_app:application", #{}),
    {200, _, <<"logged">>} = get(Port, "/errors"),
    {hornbeam_log, error, First} = expect_log("first error line"),
    {hornbeam_log, error, Second} = expect_log("second error line"),
    %% One event per line.
    ?assertEqual(nomatch, string:find(First, "second")),
    ?assertEqual(nomatch, string:find(Second, "first")).

body_limits_are_413(Config) ->
    Port = serve(Config, body_limits_are_413, "wsgi_app:raw", #{max_body_size => 1000}),
    %% Declared too large: refused before the app runs.
    Declared = raw(Port, <<"POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 1000000\r\n\r\n">>),
    ?assertEqual(413, status_of(Declared)),
    %% Chunked past the limit: the app's read fails, the answer is 413.
    Chunked = raw(Port, [<<"POST /echo HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n">>,
                         chunk(binary:copy(<<"a">>, 800)), chunk(binary:copy(<<"b">>, 800)),
                         <<"0\r\n\r\n">>]),
    ?assertEqual(413, status_of(Chunked)),
    {200, _, <<"small">>} = request(post, Port, "/echo", [], {"text/plain", <<"small">>}).

idle_and_slow_clients_are_closed(Config) ->
    Port = serve(Config, idle_and_slow_clients_are_closed, "wsgi_app:raw", #{keepalive => 1}),
    %% Idle after a response: closed after about `keepalive' seconds.
    {ok, Idle} = gen_tcp:connect({127, 0, 0, 1}, Port, [binary, {active, false}]),
    ok = gen_tcp:send(Idle, <<"GET / HTTP/1.1\r\nHost: t\r\n\r\n">>),
    {_, <<"Hello, World!">>, <<>>} = read_response(Idle),
    T0 = erlang:monotonic_time(millisecond),
    ?assertEqual({error, closed}, gen_tcp:recv(Idle, 0, 10000)),
    Waited = erlang:monotonic_time(millisecond) - T0,
    ?assert(Waited >= 900 andalso Waited < 5000),
    %% Headers that never finish: closed too.
    {ok, Slow} = gen_tcp:connect({127, 0, 0, 1}, Port, [binary, {active, false}]),
    ok = gen_tcp:send(Slow, <<"GET / HTTP/1.1\r\nHost: t\r\n">>),
    _ = read_until_closed(Slow, <<>>),
    %% The engine's count drops once its connection tasks have ended.
    wait_until(fun() -> maps:get(connections, hornbeam:info(idle_and_slow_clients_are_closed)) =:= 0 end).

forwarded_headers_trusted_and_untrusted(Config) ->
    Headers = [{"x-forwarded-for", "198.51.100.1, 203.0.113.7"},
               {"x-forwarded-proto", "https"},
               {"x-forwarded-host", "public.example"}],
    %% 127.0.0.1 is trusted by default: the rightmost untrusted hop is the client.
    Trusting = serve(Config, forwarded_headers_trusted_and_untrusted, "wsgi_app:application", #{}),
    T = environ(Trusting, "/environ", Headers),
    ?assertEqual(<<"203.0.113.7">>, maps:get(<<"REMOTE_ADDR">>, T)),
    ?assertEqual(<<"https">>, maps:get(<<"wsgi.url_scheme">>, T)),
    ?assertEqual(<<"public.example">>, maps:get(<<"HTTP_HOST">>, T)),
    ?assertEqual(<<"public.example">>, maps:get(<<"SERVER_NAME">>, T)),
    ?assertEqual(<<"443">>, maps:get(<<"SERVER_PORT">>, T)),
    %% A server that trusts only 10.0.0.0/8 ignores what 127.0.0.1 says.
    Wary = serve(Config, second(forwarded_headers_trusted_and_untrusted), "wsgi_app:application",
                 #{forwarded_allow_ips => "10.0.0.0/8"}),
    U = environ(Wary, "/environ", Headers),
    ?assertEqual(<<"127.0.0.1">>, maps:get(<<"REMOTE_ADDR">>, U)),
    ?assertEqual(<<"http">>, maps:get(<<"wsgi.url_scheme">>, U)),
    ?assertEqual(<<"127.0.0.1">>, maps:get(<<"SERVER_NAME">>, U)),
    ?assertEqual(<<"198.51.100.1, 203.0.113.7">>, maps:get(<<"HTTP_X_FORWARDED_FOR">>, U)).

root_path_sets_script_name(Config) ->
    Port = serve(Config, root_path_sets_script_name, "wsgi_app:application", #{root_path => "/api"}),
    Env = environ(Port, "/api/environ", []),
    ?assertEqual(<<"/api">>, maps:get(<<"SCRIPT_NAME">>, Env)),
    ?assertEqual(<<"/environ">>, maps:get(<<"PATH_INFO">>, Env)).

timeout_is_504_and_interrupts(Config) ->
    Port = serve(Config, timeout_is_504_and_interrupts, "wsgi_app:raw", #{timeout => 300, workers => 1}),
    {504, _, <<"Gateway Timeout">>} = get(Port, "/spin"),
    expect_log("timed out after 300 ms"),
    %% The only worker was interrupted: it serves the next request.
    {200, _, <<"Hello, World!">>} = get(Port, "/").

recycling_under_load_loses_nothing(Config) ->
    Port = serve(Config, recycling_under_load_loses_nothing, "wsgi_app:raw",
                 #{workers => 2, max_requests => 25}),
    Self = self(),
    Clients = 4,
    PerClient = 60,
    [spawn_link(fun() ->
                    Results = [get(Port, "/token") || _ <- lists:seq(1, PerClient)],
                    Self ! {done, Results}
                end) || _ <- lists:seq(1, Clients)],
    All = lists:append([receive {done, R} -> R after 60000 -> ct:fail(clients_stuck) end
                        || _ <- lists:seq(1, Clients)]),
    ?assertEqual([], [R || {Status, _, _} = R <- All, Status =/= 200]),
    Tokens = lists:usort([Token || {200, _, Token} <- All]),
    %% 240 requests, recycled every 25: several generations of interpreters.
    ?assert(length(Tokens) >= 6).

two_named_servers(Config) ->
    P1 = serve(Config, one, "wsgi_app:raw", #{}),
    P2 = serve(Config, two, "wsgi_app:application", #{}),
    ?assertNotEqual(P1, P2),
    {200, _, <<"Hello, World!">>} = get(P1, "/"),
    {200, _, <<"Hello, World!">>} = get(P2, "/"),
    ok = hornbeam:stop(one),
    ?assertEqual({error, econnrefused}, gen_tcp:connect({127, 0, 0, 1}, P1, [])),
    {200, _, <<"Hello, World!">>} = get(P2, "/"),
    ?assertEqual({error, not_found}, hornbeam:stop(one)).

start_errors(Config) ->
    Data = ?config(data_dir, Config),
    Opts = #{name => start_errors, bind => "127.0.0.1:0", pythonpath => [Data]},
    ?assertEqual({error, {invalid_option, workers, 0}}, hornbeam:start("wsgi_app", Opts#{workers => 0})),
    ?assertEqual({error, {invalid_option, bogus, 1}}, hornbeam:start("wsgi_app", Opts#{bogus => 1})),
    ?assertEqual({error, {invalid_option, bind, "nowhere"}}, hornbeam:start("wsgi_app", Opts#{bind => "nowhere"})),
    ?assertEqual({error, {invalid_option, timeout, -1}}, hornbeam:start("wsgi_app", Opts#{timeout => -1})),
    ?assertEqual({error, {invalid_option, websocket_compression, yes}},
                 hornbeam:start("wsgi_app", Opts#{websocket_compression => yes})),
    ?assertEqual({error, {invalid_app_spec, "not a module"}}, hornbeam:start("not a module", Opts)),
    {error, {app_import_failed, Traceback}} = hornbeam:start("broken_app:application", Opts),
    ?assertNotEqual(nomatch, string:find(Traceback, "this module refuses to import")),
    ?assertEqual({error, {callable_not_found, "wsgi_app:nope"}}, hornbeam:start(<<"wsgi_app:nope">>, Opts)),
    {ok, Taken} = gen_tcp:listen(0, [{ip, {127, 0, 0, 1}}]),
    {ok, TakenPort} = inet:port(Taken),
    Bind = "127.0.0.1:" ++ integer_to_list(TakenPort),
    ?assertEqual({error, {eaddrinuse, Bind}}, hornbeam:start("wsgi_app", Opts#{bind => Bind})),
    gen_tcp:close(Taken),
    ?assertEqual({error, {missing_ssl_option, certfile}}, hornbeam:start("wsgi_app", Opts#{ssl => true})),
    %% Nothing was left running by the failures; a good start still works, once.
    ?assertEqual({error, not_found}, hornbeam:info(start_errors)),
    ok = hornbeam:start("wsgi_app", Opts),
    ?assertEqual({error, {already_started, start_errors}}, hornbeam:start("wsgi_app", Opts)),
    ok = hornbeam:stop(start_errors).

stop_drains_a_request_in_flight(Config) ->
    Port = serve(Config, stop_drains_a_request_in_flight, "wsgi_app:raw", #{graceful_timeout => 5000}),
    {ok, S} = gen_tcp:connect({127, 0, 0, 1}, Port, [binary, {active, false}]),
    ok = gen_tcp:send(S, <<"GET /sleep?s=0.5 HTTP/1.1\r\nHost: t\r\n\r\n">>),
    %% The request is running once the engine counts it.
    wait_until(fun() -> maps:get(requests, hornbeam:info(stop_drains_a_request_in_flight)) >= 1 end),
    ok = hornbeam:stop(stop_drains_a_request_in_flight),
    {Head, <<"slept">>, <<>>} = read_response(S),
    ?assertEqual(200, status_of(Head)),
    ?assertEqual({error, closed}, gen_tcp:recv(S, 0, 5000)).

stop_interrupts_a_runaway_request(Config) ->
    Name = stop_interrupts_a_runaway_request,
    Port = serve(Config, Name, "wsgi_app:raw", #{graceful_timeout => 200, timeout => infinity}),
    {ok, S} = gen_tcp:connect({127, 0, 0, 1}, Port, [binary, {active, false}]),
    ok = gen_tcp:send(S, <<"GET /spin HTTP/1.1\r\nHost: t\r\n\r\n">>),
    wait_until(fun() -> maps:get(requests, hornbeam:info(Name)) >= 1 end),
    T0 = erlang:monotonic_time(millisecond),
    ok = hornbeam:stop(Name),
    %% The drain gave up after graceful_timeout and the loop was interrupted, so stop
    %% returned instead of waiting for a request that never ends.
    ?assert(erlang:monotonic_time(millisecond) - T0 < 5000),
    ?assertEqual({error, closed}, gen_tcp:recv(S, 0, 5000)).

access_log_and_lazy_import(Config) ->
    hb_http:with_info_logs(fun() ->
        Port = serve(Config, access_log_and_lazy_import, "wsgi_app:raw", #{access_log => true}),
        {201, _, _} = get(Port, "/status/201?x=1"),
        {hornbeam_log, info, Line} = expect_log("GET /status/201?x=1 HTTP/1.1"),
        ?assertMatch({match, _}, re:run(Line, "^127\\.0\\.0\\.1 \"GET /status/201\\?x=1 HTTP/1.1\" 201 10 [0-9.]+ms$"))
    end),
    %% preload_app => false: start/2 does not import, the first request does (and a
    %% module that cannot import gives 500s with the traceback in the log).
    Lazy = serve(Config, second(access_log_and_lazy_import), "broken_app:application",
                 #{preload_app => false}),
    {500, _, _} = get(Lazy, "/"),
    expect_log("this module refuses to import").

file_wrapper_sends_without_python(Config) ->
    Port = serve(Config, file_wrapper_sends_without_python, "wsgi_app:raw", #{}),
    Expected = binary:copy(list_to_binary(lists:seq(0, 255)), 4096),
    %% The app's file raises if read through Python: these bytes came from the engine.
    {200, Headers, Whole} = get(Port, "/file"),
    ?assertEqual("1048576", header("content-length", Headers)),
    ?assert(Whole =:= Expected),
    {200, _, Tail} = get(Port, "/file?offset=1000"),
    ?assert(Tail =:= binary:part(Expected, 1000, byte_size(Expected) - 1000)),
    Head = raw(Port, <<"HEAD /file HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n">>),
    ?assertEqual(1048576, content_length(Head)),
    ?assertMatch([_, <<>>], binary:split(Head, <<"\r\n\r\n">>)),
    %% Without a file descriptor the wrapper is iterated like any response.
    {200, _, Small} = get(Port, "/file-bytesio"),
    ?assert(Small =:= binary:part(Expected, 0, 5000)).

%%% Real frameworks, from the test venv (make test installs Flask and Django there)

flask_app(Config) ->
    Port = serve(Config, flask_app, "flask_app:app", #{venv => venv(Config)}),
    {200, _, <<"Hello from Flask">>} = get(Port, "/"),
    {200, _, Item} = get(Port, "/items/7?q=x"),
    ?assertEqual(#{<<"id">> => 7, <<"q">> => <<"x">>}, hb_json:decode(Item)),
    {201, _, Json} = request(post, Port, "/json", [], {"application/json", <<"{\"a\": [1, 2]}">>}),
    ?assertEqual(#{<<"a">> => [1, 2], <<"seen">> => true}, hb_json:decode(Json)),
    {200, _, <<"name=hornbeam">>} = request(post, Port, "/form", [],
                                            {"application/x-www-form-urlencoded", <<"name=hornbeam">>}),
    File = data_file(Config, "upload.bin", crypto:strong_rand_bytes(250000)),
    Upload = os:cmd("curl -s -F file=@" ++ File ++ " " ++ url(Port, "/upload")),
    ?assertEqual(#{<<"filename">> => <<"upload.bin">>, <<"size">> => 250000},
                 hb_json:decode(list_to_binary(Upload))),
    {200, _, <<"line 0\nline 1\nline 2\n">>} = get(Port, "/stream"),
    {302, Headers, _} = get(Port, "/go"),
    ?assertEqual("/", header("location", Headers)),
    {404, _, _} = get(Port, "/missing"),
    {500, _, _} = get(Port, "/fail"),
    expect_log("flask view failed").

django_project(Config) ->
    Port = serve(Config, django_project, "djsite.wsgi", #{venv => venv(Config), root_path => "/site"}),
    {200, _, <<"Hello from Django">>} = get(Port, "/site/"),
    {200, _, Item} = get(Port, "/site/items/5?q=y"),
    ?assertEqual(#{<<"id">> => 5, <<"q">> => <<"y">>, <<"path">> => <<"/site/items/5">>,
                   <<"script_name">> => <<"/site">>}, hb_json:decode(Item)),
    {201, _, Json} = request(post, Port, "/site/json", [], {"application/json", <<"{\"b\": true}">>}),
    ?assertEqual(#{<<"b">> => true, <<"seen">> => true}, hb_json:decode(Json)),
    {200, _, <<"part 0\npart 1\npart 2\n">>} = get(Port, "/site/stream"),
    {404, _, _} = get(Port, "/site/missing").

python_mode_auto_falls_back_to_main(Config) ->
    Port = serve(Config, python_mode_auto_falls_back_to_main, "single_phase_app", #{}),
    ?assertMatch(#{mode := main}, hornbeam:info(python_mode_auto_falls_back_to_main)),
    {hornbeam_log, warning, Why} = expect_log("cannot run in sub-interpreters"),
    ?assertNotEqual(nomatch, string:find(Why, "_testsinglephase")),
    {200, _, _} = get(Port, "/"),
    %% Forced sub-interpreters: a clear error instead.
    Opts = #{name => second(python_mode_auto_falls_back_to_main), bind => "127.0.0.1:0",
             pythonpath => [?config(data_dir, Config)], python_mode => subinterp},
    {error, {app_import_failed, Traceback}} = hornbeam:start("single_phase_app", Opts),
    ?assertNotEqual(nomatch, string:find(Traceback, "does not support loading in subinterpreters")).

main_mode_with_several_workers(Config) ->
    Port = serve(Config, main_mode_with_several_workers, "wsgi_app:application",
                 #{python_mode => main, workers => 3}),
    ?assertMatch(#{mode := main, workers := 3}, hornbeam:info(main_mode_with_several_workers)),
    Env = environ(Port, "/environ", []),
    %% Threads of one interpreter share the app's globals: multithread, not multiprocess.
    ?assertEqual(true, maps:get(<<"wsgi.multithread">>, Env)),
    ?assertEqual(false, maps:get(<<"wsgi.multiprocess">>, Env)),
    Self = self(),
    [spawn_link(fun() -> Self ! {done, [get(Port, "/") || _ <- lists:seq(1, 30)]} end) || _ <- lists:seq(1, 4)],
    All = lists:append([receive {done, R} -> R after 30000 -> ct:fail(stuck) end || _ <- lists:seq(1, 4)]),
    ?assertEqual(120, length([ok || {200, _, <<"Hello, World!">>} <- All])).

%% An application that keeps `start_response' and `wsgi.input' past their request gets
%% an exception when it uses them later, never the state of another request.
kept_objects_raise_after_their_request(Config) ->
    Port = ?config(port, Config),
    {200, _, <<"kept">>} = get(Port, "/keep"),
    {200, _, Outcomes} = get(Port, "/use-kept"),
    ?assertEqual(<<"RuntimeError: start_response used after its request ended\n"
                   "ValueError: wsgi.input read after its request ended">>, Outcomes).

%% An application thread still inside write() when the request returns: the request's
%% own thread waits for it instead of freeing the state under it. Every response is a
%% 200 with whole 64 KiB chunks of "x", and the worker serves on.
write_from_another_thread_as_the_request_ends(Config) ->
    Port = ?config(port, Config),
    %% Whole 64 KiB writes only, however far the writer got; a request that raises
    %% after its headers went out ends the connection instead.
    [begin
         {200, _, Body} = get(Port, "/write-from-thread"),
         ?assertEqual(0, byte_size(Body) rem 65536),
         ?assertEqual(<<>>, binary:replace(Body, <<"x">>, <<>>, [global]))
     end || _ <- lists:seq(1, 20)],
    [begin
         Raw = raw(Port, <<"GET /write-from-thread?raise HTTP/1.1\r\nHost: t\r\n\r\n">>),
         ?assertMatch(<<"HTTP/1.1 200", _/binary>>, Raw),
         ?assertNotEqual(<<"0\r\n\r\n">>, binary:part(Raw, byte_size(Raw), -5))
     end || _ <- lists:seq(1, 20)],
    %% Every writer either finished or was told, by a Python exception, that its
    %% request had ended or was being ended: nothing else, and the worker still serves.
    {200, _, Outcomes} = get(Port, "/writer-outcomes"),
    Lines = binary:split(Outcomes, <<"\n">>, [global]),
    ?assertEqual(40, length(Lines)),
    [?assert(Line =:= <<"done">>
             orelse Line =:= <<"RuntimeError: start_response used after its request ended">>
             orelse Line =:= <<"RuntimeError: the response is being written by another thread">>
             orelse Line =:= <<"OSError: the client disconnected">>, Line)
     || Line <- Lines],
    ?assertMatch({200, _, <<"Hello, World!">>}, get(Port, "/")).

