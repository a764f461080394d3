%% The hface worker class: `async def handler(connection)` per connection, the engine
%% accepting HTTP/1.1, HTTP/2 (cleartext and TLS) and HTTP/3, driven by clients no one
%% here wrote (curl, h2load, httpx, aioquic).
-module(hornbeam_hface_SUITE).

-include_lib("common_test/include/ct.hrl").
-include_lib("stdlib/include/assert.hrl").

-export([all/0, groups/0, init_per_group/2, end_per_group/2, init_per_suite/1, end_per_suite/1, init_per_testcase/2, end_per_testcase/2]).
-export([seed_server_over_every_version/1, events_in_order/1, echo_streams_back/1,
         resets_both_ways/1, connection_end_reaches_the_handler/1, handler_failure/1,
         graceful_stop/1, options/1]).
-export([seed_client_against_hypercorn/1, alpn_picks_what_the_server_offers/1,
         client_streams_with_back_pressure/1, client_resets/1, client_errors/1,
         reverse_proxy_example/1]).

-import(hb_http, [serve/4, url/2, venv/1, wait_until/1]).

all() ->
    [seed_server_over_every_version, events_in_order, echo_streams_back, resets_both_ways,
     connection_end_reaches_the_handler, handler_failure, graceful_stop, options,
     {group, openers}].

groups() ->
    %% hface's openers: clients on the engine, run in a py context's asyncio.run.
    [{openers, [], [seed_client_against_hypercorn, alpn_picks_what_the_server_offers,
                    client_streams_with_back_pressure, client_resets, client_errors,
                    reverse_proxy_example]}].

init_per_suite(Config) ->
    {ok, _} = application:ensure_all_started(hornbeam),
    [{certs, hb_certs:make(?config(priv_dir, Config))} | Config].

end_per_suite(_Config) ->
    application:stop(hornbeam).

%% One hypercorn (HTTP/1.1 and HTTP/2 over TLS) and one context for the clients.
init_per_group(openers, Config) ->
    #{cert := Cert, key := Key} = ?config(certs, Config),
    Port = free_port(),
    Python = filename:join([venv(Config), "bin", "python"]),
    Args = ["-m", "hypercorn", "--bind", "127.0.0.1:" ++ integer_to_list(Port),
            "--certfile", Cert, "--keyfile", Key, "--log-level", "info", "peer_app:app"],
    Hypercorn = run_until_stopped(Python, Args, ?config(data_dir, Config), <<"Running on">>),
    {ok, Ctx} = py_context:start(#{pythonpath => [?config(data_dir, Config)]}),
    [{hypercorn, {Port, Hypercorn}}, {ctx, Ctx} | Config].

end_per_group(openers, Config) ->
    py_context:stop(?config(ctx, Config)),
    {_, Hypercorn} = ?config(hypercorn, Config),
    Ref = monitor(process, Hypercorn),
    Hypercorn ! stop,
    receive {'DOWN', Ref, process, _, _} -> ok end.

free_port() ->
    {ok, Listen} = gen_tcp:listen(0, [{ip, {127, 0, 0, 1}}]),
    {ok, Port} = inet:port(Listen),
    gen_tcp:close(Listen),
    Port.

%% Runs a program until `stop`, in a process of its own (a group's init process ends
%% before its cases run, and would take the port with it); returns once the program
%% printed Ready, and keeps reading its output so it never blocks on a full pipe.
run_until_stopped(Program, Args, Dir, Ready) ->
    Parent = self(),
    Owner = spawn(fun() ->
        Port = open_port({spawn_executable, Program},
                         [{args, Args}, {cd, Dir}, {line, 4096}, binary, exit_status, stderr_to_stdout]),
        {os_pid, Pid} = erlang:port_info(Port, os_pid),
        Parent ! {self(), await_output(Port, Ready)},
        receive stop -> os:cmd("kill " ++ integer_to_list(Pid)) end
    end),
    receive {Owner, Outcome} -> ok = Outcome end,
    Owner.

await_output(Port, Expected) ->
    receive
        {Port, {data, {_, Line}}} ->
            case binary:match(Line, Expected) of
                nomatch -> await_output(Port, Expected);
                _ -> ok
            end;
        {Port, {exit_status, Status}} -> {exited, Status}
    after 30000 -> {no_output, Expected}
    end.

init_per_testcase(Case, Config) ->
    hb_http:capture_logs(Case),
    Config.

end_per_testcase(Case, _Config) ->
    logger:remove_handler(Case),
    hornbeam:stop(Case),
    ok.

%%% Helpers

hface(Config, Name, Handler, Extra) ->
    serve(Config, Name, "hface_app:" ++ Handler, maps:merge(#{worker_class => hface}, Extra)).

h3_opts(Config) ->
    #{cert := Cert, key := Key} = ?config(certs, Config),
    #{ssl => true, certfile => Cert, keyfile => Key,
      http_version => ['HTTP/1.1', 'HTTP/2', 'HTTP/3']}.

cmd(Args) ->
    os:cmd(lists:flatten(lists:join(" ", Args)) ++ " 2>&1").

python_json(Config, Script, Args) ->
    Out = cmd([filename:join([venv(Config), "bin", "python"]), Script | Args]),
    try hb_json:decode(list_to_binary(string:trim(Out)))
    catch _:_ -> ct:fail({script_failed, Script, Out})
    end.

here(Config, File) ->
    filename:join(?config(data_dir, Config), File).

%% aioquic's client lives with the HTTP/3 tests.
h3_check(Config) ->
    filename:join(filename:dirname(filename:dirname(?config(data_dir, Config))),
                  "hornbeam_protocols_SUITE_data/h3_check.py").

curl_json(Args) ->
    hb_json:decode(list_to_binary(cmd(["curl -s" | Args]))).

%%% Cases

%% The seed's custom server example, unchanged, over every version the engine speaks.
seed_server_over_every_version(Config) ->
    Port = hface(Config, seed_server_over_every_version, "handler", h3_opts(Config)),
    #{ca := Ca} = ?config(certs, Config),
    Https = "https://127.0.0.1:" ++ integer_to_list(Port) ++ "/",
    %% HTTP/1.1 over TLS: two requests on one connection.
    H1 = cmd(["curl -s -i --http1.1 --cacert", Ca, Https, Https]),
    ?assertEqual(2, length(binary:matches(list_to_binary(H1), <<"HTTP/1.1 200 OK">>)), H1),
    ?assertEqual(2, length(binary:matches(list_to_binary(H1), <<"It works!\n">>)), H1),
    %% TLS with ALPN: httpx picks h2.
    ?assertEqual(#{<<"versions">> => [<<"HTTP/2">>, <<"HTTP/2">>],
                   <<"bodies">> => [<<"It works!\n">>, <<"It works!\n">>]},
                 python_json(Config, here(Config, "hface_clients.py"), ["tls", Https, Ca])),
    %% HTTP/3 with aioquic.
    ?assertMatch(#{<<"status">> := 200, <<"body">> := <<"It works!\n">>},
                 python_json(Config, h3_check(Config), [integer_to_list(Port), Ca, "get", "/"])),
    ok = hornbeam:stop(seed_server_over_every_version),
    %% Cleartext: HTTP/1.1 with curl, HTTP/2 (prior knowledge) with h2load, 10 streams
    %% at a time on each of 4 connections.
    Clear = hface(Config, seed_server_cleartext, "handler", #{}),
    ?assertEqual("It works!\n", cmd(["curl -s", url(Clear, "/")])),
    H2 = cmd(["h2load -n 2000 -c 4 -m 10", url(Clear, "/")]),
    ?assertNotEqual(nomatch, string:find(H2, "2000 succeeded, 0 failed, 0 errored"), H2),
    ?assertNotEqual(nomatch, string:find(H2, "status codes: 2000 2xx"), H2),
    ok = hornbeam:stop(seed_server_cleartext).

%% Headers, then data, then the end of the stream, with hface's pseudo-headers on every
%% version, and stream ids as each version numbers them.
events_in_order(Config) ->
    Port = hface(Config, events_in_order, "events", #{}),
    Body = hb_http:data_file(Config, "body.bin", binary:copy(<<"0123456789abcdef">>, 20000)),
    #{<<"events">> := Events, <<"http_version">> := <<"1.1">>, <<"multiplexed">> := false,
      <<"remote_address">> := [<<"127.0.0.1">>, _], <<"local_address">> := [<<"127.0.0.1">>, Port]} =
        curl_json(["--data-binary", "@" ++ Body, url(Port, "/upload?x=1")]),
    [[<<"headers">>, Headers, false] | Data] = Events,
    ?assertMatch([[<<":method">>, <<"POST">>], [<<":scheme">>, <<"http">>],
                  [<<":authority">>, _], [<<":path">>, <<"/upload?x=1">>] | _], Headers),
    ?assertEqual(320000, lists:sum([N || [<<"data">>, N, _] <- Data])),
    {Ends, [[<<"data">>, _, true]]} = lists:split(length(Data) - 1, Data),
    ?assert(lists:all(fun([<<"data">>, _, End]) -> End =:= false end, Ends)),
    %% A GET has no body: its headers end the stream. Two on one HTTP/1.1 connection
    %% are streams 1 and 2; on one HTTP/2 connection, 1 and 3.
    [#{<<"stream_id">> := 1, <<"events">> := [[<<"headers">>, _, true]]}, #{<<"stream_id">> := 2}] =
        json_objects(cmd(["curl -s", url(Port, "/a"), url(Port, "/b")])),
    [#{<<"stream_id">> := 1, <<"http_version">> := <<"2">>, <<"multiplexed">> := true,
       <<"events">> := [[<<"headers">>, H2Headers, true]]},
     #{<<"stream_id">> := 3}] =
        python_json(Config, here(Config, "hface_clients.py"), ["h2c", url(Port, ""), "/a", "/b"]),
    ?assertMatch([[<<":method">>, <<"GET">>], [<<":scheme">>, <<"http">>], [<<":authority">>, _],
                  [<<":path">>, <<"/a">>] | _], H2Headers).

%% The JSON objects curl printed one after the other.
json_objects(Out) ->
    Parts = string:split(Out, "}{", all),
    Last = length(Parts),
    [hb_json:decode(iolist_to_binary([[$\{ || I > 1], P, [$\} || I < Last]]))
     || {I, P} <- lists:zip(lists:seq(1, Last), Parts)].

%% send_data as DataReceived arrive: 10 MB over HTTP/2 comes back byte for byte.
echo_streams_back(Config) ->
    Port = hface(Config, echo_streams_back, "events", #{}),
    Bytes = crypto:strong_rand_bytes(10 * 1024 * 1024),
    Body = hb_http:data_file(Config, "echo.bin", Bytes),
    Echoed = filename:join(?config(priv_dir, Config), "echoed.bin"),
    "200" = cmd(["curl -s -o", Echoed, "-w '%{http_code}' --http2-prior-knowledge --data-binary",
                 "@" ++ Body, url(Port, "/echo")]),
    ?assertEqual({ok, Bytes}, file:read_file(Echoed)),
    %% And over HTTP/1.1.
    "200" = cmd(["curl -s -o", Echoed, "-w '%{http_code}' --data-binary", "@" ++ Body, url(Port, "/echo")]),
    ?assertEqual({ok, Bytes}, file:read_file(Echoed)).

%% send_stream_reset resets an HTTP/2 stream and the connection serves on; a client
%% that leaves mid-body reaches the handler as StreamResetReceived.
resets_both_ways(Config) ->
    Port = hface(Config, resets_both_ways, "events", #{}),
    ?assertMatch(#{<<"reset">> := <<"reset">>, <<"version">> := <<"HTTP/2">>,
                   <<"after">> := #{<<"events">> := [[<<"headers">>, _, true]]}},
                 python_json(Config, here(Config, "hface_clients.py"), ["reset", url(Port, "")])),
    %% HTTP/1.1: a reset closes the connection (it has no other way to end a response
    %% early), after a head without a length.
    Reset = hb_http:raw(Port, <<"GET /reset HTTP/1.1\r\nHost: x\r\n\r\n">>),
    ?assertMatch(<<"HTTP/1.1 500", _/binary>>, Reset),
    ?assertEqual(nomatch, binary:match(Reset, <<"0\r\n\r\n">>)),
    %% Half a body, then the client goes.
    #{<<"seen">> := #{<<"resets">> := Before}} = curl_json([url(Port, "/seen")]),
    #{requests := Requests} = hornbeam:info(resets_both_ways),
    {ok, Sock} = gen_tcp:connect({127, 0, 0, 1}, Port, [binary, {active, false}]),
    ok = gen_tcp:send(Sock, <<"POST /upload HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\n0123456789">>),
    %% Closed once the engine has the request.
    wait_until(fun() -> maps:get(requests, hornbeam:info(resets_both_ways)) > Requests end),
    ok = gen_tcp:close(Sock),
    wait_until(fun() -> seen(Port, <<"resets">>) =:= Before + 1 end).

seen(Port, Key) ->
    #{<<"seen">> := Seen} = curl_json([url(Port, "/seen")]),
    maps:get(Key, Seen).

%% A connection that closes reaches its handler as ConnectionTerminated.
connection_end_reaches_the_handler(Config) ->
    Port = hface(Config, connection_end_reaches_the_handler, "events", #{}),
    Before = seen(Port, <<"terminated">>),
    %% seen/2's own connection closes too: wait for both.
    {ok, Sock} = gen_tcp:connect({127, 0, 0, 1}, Port, [binary, {active, false}]),
    ok = gen_tcp:send(Sock, <<"GET /one HTTP/1.1\r\nHost: x\r\n\r\n">>),
    {ok, <<"HTTP/1.1 200", _/binary>>} = gen_tcp:recv(Sock, 0, 5000),
    ok = gen_tcp:close(Sock),
    wait_until(fun() -> seen(Port, <<"terminated">>) >= Before + 2 end).

%% A handler that raises: its traceback is logged, the request it left gets a 500, and
%% the worker serves the next connection.
handler_failure(Config) ->
    Port = hface(Config, handler_failure, "failing", #{}),
    ?assertEqual("Internal Server Error 500", cmd(["curl -s -w ' %{http_code}'", url(Port, "/")])),
    {hornbeam_log, error, Text} = hb_http:expect_log("hface handler for"),
    ?assertNotEqual(nomatch, string:find(Text, "Traceback")),
    ?assertNotEqual(nomatch, string:find(Text, "RuntimeError: the handler failed on stream 1")),
    ?assertEqual("Internal Server Error 500", cmd(["curl -s -w ' %{http_code}'", url(Port, "/")])),
    ?assertMatch(#{workers_replaced := 0}, hornbeam:info(handler_failure)).

%% stop/1 lets a stream in flight finish (graceful_timeout), then stops.
graceful_stop(Config) ->
    Port = hface(Config, graceful_stop, "slow", #{graceful_timeout => 10000}),
    Self = self(),
    spawn_link(fun() -> Self ! {answer, cmd(["curl -s -w ' %{http_code}'", url(Port, "/x?s=0.5")])} end),
    wait_until(fun() -> maps:get(requests, hornbeam:info(graceful_stop)) >= 1 end),
    ok = hornbeam:stop(graceful_stop),
    receive {answer, Answer} -> ?assertEqual("slept 200", Answer)
    after 10000 -> ct:fail(no_answer)
    end,
    ?assertEqual({error, not_found}, hornbeam:info(graceful_stop)).

%% hface takes the ASGI options; an invalid combination says which option.
options(Config) ->
    ?assertEqual({error, {invalid_option, preload_app, false}},
                 hornbeam:start("hface_app:handler", #{name => options, bind => "127.0.0.1:0",
                                                       worker_class => hface, preload_app => false,
                                                       pythonpath => [?config(data_dir, Config)]})),
    ?assertEqual({error, {invalid_option, worker_class, hfac}},
                 hornbeam:start("hface_app:handler", #{name => options, worker_class => hfac})),
    %% Two workers: each connection stays on one, so stream ids keep counting.
    Port = hface(Config, options, "events", #{workers => 2}),
    Out = cmd(["curl -s", url(Port, "/a"), url(Port, "/b"), url(Port, "/c")]),
    ?assertMatch([#{<<"stream_id">> := 1}, #{<<"stream_id">> := 2}, #{<<"stream_id">> := 3}],
                 json_objects(Out)).

%%% Openers

%% A client function of hface_client.py, run in the group's context.
client(Config, Function, Args) ->
    case py:call(?config(ctx, Config), hface_client, Function, Args, #{timeout => 60000}) of
        {ok, Result} -> Result;
        Error -> ct:fail({Function, Error})
    end.

body_text({bytes, B}) -> B.

%% The seed's custom client, unchanged but for the address, against hypercorn over TLS:
%% HTTP/1.1 and HTTP/2 each by its factory, and ALPNHTTPFactory choosing h2.
seed_client_against_hypercorn(Config) ->
    {Port, _} = ?config(hypercorn, Config),
    #{ca := Ca} = ?config(certs, Config),
    Get = fun(Factory) ->
              client(Config, get, [<<"127.0.0.1">>, Port, Factory, true, list_to_binary(Ca),
                                   [<<"/one">>, <<"/two">>]])
          end,
    #{<<"http_version">> := <<"1.1">>, <<"multiplexed">> := false, <<"bodies">> := H1,
      <<"remote_address">> := [<<"127.0.0.1">>, Port], <<"available_after">> := true} = Get(<<"h1">>),
    ?assertEqual([<<"hypercorn says hello over HTTP/1.1 at /one\n">>,
                  <<"hypercorn says hello over HTTP/1.1 at /two\n">>], [body_text(B) || B <- H1]),
    #{<<"http_version">> := <<"2">>, <<"multiplexed">> := true, <<"bodies">> := H2} = Get(<<"h2">>),
    ?assertEqual([<<"hypercorn says hello over HTTP/2 at /one\n">>,
                  <<"hypercorn says hello over HTTP/2 at /two\n">>], [body_text(B) || B <- H2]),
    ?assertMatch(#{<<"http_version">> := <<"2">>}, Get(<<"alpn">>)).

%% ALPNHTTPFactory takes what the server offers: Hornbeam's own WSGI server with only
%% HTTP/1.1 gets HTTP/1.1, with both gets h2; the seed's client reads its answers.
alpn_picks_what_the_server_offers(Config) ->
    #{ca := Ca, cert := Cert, key := Key} = ?config(certs, Config),
    Tls = #{ssl => true, certfile => Cert, keyfile => Key},
    Only1 = serve(Config, wsgi_http1_only, "hface_wsgi:app", Tls#{http_version => ['HTTP/1.1']}),
    Both = serve(Config, wsgi_both, "hface_wsgi:app", Tls),
    Get = fun(Port) ->
              client(Config, get, [<<"127.0.0.1">>, Port, <<"alpn">>, true, list_to_binary(Ca), [<<"/p">>]])
          end,
    #{<<"http_version">> := <<"1.1">>, <<"bodies">> := [B1]} = Get(Only1),
    ?assertEqual(<<"WSGI HTTP/1.1 GET /p\n">>, body_text(B1)),
    #{<<"http_version">> := <<"2">>, <<"bodies">> := [B2]} = Get(Both),
    ?assertEqual(<<"WSGI HTTP/2 GET /p\n">>, body_text(B2)),
    %% Without TLS there is nothing to negotiate: the factory's default, HTTP/1.1.
    Clear = serve(Config, wsgi_clear, "hface_wsgi:app", #{}),
    #{<<"http_version">> := <<"1.1">>} =
        client(Config, get, [<<"127.0.0.1">>, Clear, <<"alpn">>, false, none, [<<"/p">>]]),
    [ok = hornbeam:stop(N) || N <- [wsgi_http1_only, wsgi_both, wsgi_clear]].

%% 10 MB echoed byte for byte while it is sent (the sender waits whenever the engine
%% holds 256 KiB it could not send yet), through hypercorn over HTTP/2 and Hornbeam's
%% hface server over HTTP/1.1; then 50 streams open at once on one HTTP/2 connection.
client_streams_with_back_pressure(Config) ->
    {HPort, _} = ?config(hypercorn, Config),
    #{ca := Ca} = ?config(certs, Config),
    Size = 10 * 1000 * 1000,
    Check = fun(Result) ->
                #{<<"status">> := 200, <<"size">> := Got, <<"sha256">> := Sha,
                  <<"sent_sha256">> := Sent, <<"events">> := Events} = Result,
                ?assertEqual({Size - Size rem 256, Sent}, {Got, Sha}),
                ?assertEqual([<<"headers">>, <<"data">>, <<"end">>], Events)
            end,
    Check(client(Config, upload, [<<"127.0.0.1">>, HPort, <<"h2">>, true, list_to_binary(Ca),
                                  <<"/echo">>, Size])),
    Own = hface(Config, client_echo, "events", #{}),
    Check(client(Config, upload, [<<"127.0.0.1">>, Own, <<"h1">>, false, none, <<"/echo">>, Size])),
    Check(client(Config, upload, [<<"127.0.0.1">>, Own, <<"h2">>, false, none, <<"/echo">>, Size])),
    #{<<"http_version">> := <<"2">>, <<"most_open">> := 50, <<"answered">> := 50,
      <<"statuses">> := [200], <<"stream_ids">> := Ids} =
        client(Config, concurrent, [<<"127.0.0.1">>, HPort, <<"h2">>, true, list_to_binary(Ca),
                                    <<"/long">>, 50]),
    ?assertEqual(lists:seq(1, 99, 2), Ids).

%% A client reset mid-body: on HTTP/2 the connection serves the next stream, on
%% HTTP/1.1 it ends. A server's reset reaches the client as StreamResetReceived.
client_resets(Config) ->
    {HPort, _} = ?config(hypercorn, Config),
    #{ca := Ca} = ?config(certs, Config),
    CaBin = list_to_binary(Ca),
    #{<<"after">> := 200, <<"after_events">> := [<<"headers">>, <<"data">>, <<"end">>]} =
        client(Config, reset_mid_body, [<<"127.0.0.1">>, HPort, <<"h2">>, true, CaBin, <<"/long">>, <<"/">>]),
    #{<<"after">> := <<"ConnectionTerminated">>} =
        client(Config, reset_mid_body, [<<"127.0.0.1">>, HPort, <<"h1">>, true, CaBin, <<"/long">>, <<"/">>]),
    Own = hface(Config, client_reset_received, "events", #{}),
    ?assertEqual([<<"StreamResetReceived">>, true],
                 client(Config, reset_received, [<<"127.0.0.1">>, Own, <<"/reset">>])).

%% Clear errors: nobody listening, a certificate the client does not trust.
client_errors(Config) ->
    {HPort, _} = ?config(hypercorn, Config),
    [<<"ConnectionError">>, Refused] = client(Config, refused, [<<"127.0.0.1">>, free_port()]),
    ?assertNotEqual(nomatch, binary:match(Refused, <<"Connection refused">>), Refused),
    {error, {python, 'ConnectionError', Untrusted, _}} =
        py:call(?config(ctx, Config), hface_client, get,
                [<<"127.0.0.1">>, HPort, <<"h2">>, true, none, [<<"/">>]]),
    ?assertNotEqual(nomatch, binary:match(Untrusted, <<"TLS handshake">>), Untrusted).

%% examples/hface_proxy.py, listener (the hface worker class) to opener: in front of
%% hypercorn over TLS and HTTP/2, a 100 MB body streamed through both ways, a client
%% that leaves mid-body (the connection serves on), and an upstream that goes away (a
%% 502 at once, nothing hangs).
reverse_proxy_example(Config) ->
    {HPort, _} = ?config(hypercorn, Config),
    #{ca := Ca} = ?config(certs, Config),
    Examples = filename:join(hb_http:root_dir(Config), "examples"),
    Proxy = fun(Name, Upstream) ->
                %% The proxy reads its upstream from Erlang's shared state when a
                %% worker imports it.
                hornbeam_state:set(<<"hface_proxy.upstream">>, list_to_binary(Upstream)),
                hornbeam_state:set(<<"hface_proxy.upstream_cafile">>, list_to_binary(Ca)),
                serve(Config, Name, "hface_proxy:handler",
                      #{worker_class => hface, pythonpath => [Examples]})
            end,
    Port = Proxy(proxy_to_hypercorn, "https://localhost:" ++ integer_to_list(HPort)),
    ?assertEqual("hypercorn says hello over HTTP/2 at /hi\n", cmd(["curl -s", url(Port, "/hi")])),
    Body = filename:join(?config(priv_dir, Config), "100mb.bin"),
    ok = file:write_file(Body, crypto:strong_rand_bytes(100 * 1024 * 1024)),
    Echoed = filename:join(?config(priv_dir, Config), "100mb.echoed"),
    "200" = cmd(["curl -s -o", Echoed, "-w '%{http_code}' -H 'Transfer-Encoding: chunked'",
                 "--data-binary", "@" ++ Body, url(Port, "/echo")]),
    ?assertEqual(sha256(Body), sha256(Echoed)),
    ?assertEqual(#{<<"left_after">> => true, <<"after">> => 200,
                   <<"text">> => <<"hypercorn says hello over HTTP/2 at /\n">>},
                 python_json(Config, here(Config, "hface_clients.py"), ["leave", url(Port, "")])),
    %% An upstream that answers, then stops.
    Upstream = serve(Config, proxy_upstream, "peer_app:app",
                     #{worker_class => asgi, http_version => ['HTTP/1.1', 'HTTP/2']}),
    Port2 = Proxy(proxy_to_hornbeam, "http://127.0.0.1:" ++ integer_to_list(Upstream)),
    ?assertEqual("200", cmd(["curl -s -o /dev/null -w '%{http_code}'", url(Port2, "/")])),
    ok = hornbeam:stop(proxy_upstream),
    ?assertEqual("Bad Gateway\n502",
                 cmd(["curl -s --max-time 10 -w '%{http_code}'", url(Port2, "/")])),
    [ok = hornbeam:stop(N) || N <- [proxy_to_hypercorn, proxy_to_hornbeam]].

sha256(File) ->
    {ok, Data} = file:read_file(File),
    crypto:hash(sha256, Data).
