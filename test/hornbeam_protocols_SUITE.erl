%% HTTP/2 (prior knowledge and ALPN), TLS, HTTP/3 and the http_version option, for ASGI
%% and WSGI apps, driven by curl, h2load, httpx, the h2 library, aioquic and niquests.
-module(hornbeam_protocols_SUITE).
-include_lib("common_test/include/ct.hrl").
-include_lib("stdlib/include/assert.hrl").

-export([all/0, groups/0, init_per_suite/1, end_per_suite/1,
         init_per_group/2, end_per_group/2, init_per_testcase/2, end_per_testcase/2]).
-export([h2_prior_knowledge_with_curl/1, h2load_all_2xx/1, httpx_http2/1,
         h2_streams_settings_and_reset/1, wsgi_over_http2/1, http1_only/1, http2_only/1,
         tls_http1_and_http2_by_alpn/1, tls_httpx/1, tls_wsgi/1, tls_client_certificates/1,
         tls_errors/1]).
-export([http3_aioquic/1, http3_alt_svc_with_niquests/1, http3_wsgi_and_frameworks/1,
         http3_errors/1, http3_garbage_datagrams/1, http3_closed_connection_and_graceful_stop/1,
         http3_ngtcp2_client/1, http3_request_limits/1]).

-import(hb_http, [serve/4, url/2, get/2, wait_until/1, venv/1]).

all() ->
    [{group, cleartext}, {group, tls}, {group, http3}].

groups() ->
    [{cleartext, [], [h2_prior_knowledge_with_curl, h2load_all_2xx, httpx_http2,
                      h2_streams_settings_and_reset, wsgi_over_http2, http1_only, http2_only]},
     {tls, [], [tls_http1_and_http2_by_alpn, tls_httpx, tls_wsgi, tls_client_certificates,
                tls_errors]},
     {http3, [], [http3_aioquic, http3_alt_svc_with_niquests, http3_wsgi_and_frameworks,
                  http3_errors, http3_garbage_datagrams, http3_closed_connection_and_graceful_stop,
                  http3_ngtcp2_client, http3_request_limits]}].

init_per_suite(Config) ->
    {ok, _} = application:ensure_all_started(hornbeam),
    {ok, _} = application:ensure_all_started(inets),
    Config.

end_per_suite(_Config) ->
    application:stop(hornbeam).

init_per_group(Group, Config) when Group =:= tls; Group =:= http3 ->
    [{certs, hb_certs:make(?config(priv_dir, Config))} | Config];
init_per_group(_Group, Config) ->
    Config.

end_per_group(_Group, _Config) ->
    ok.

init_per_testcase(Case, Config) ->
    hb_http:capture_logs(Case),
    Config.

end_per_testcase(Case, _Config) ->
    logger:remove_handler(Case),
    hornbeam:stop(Case),
    ok.

%%% Helpers

%% The apps live with the suites that test them in depth.
sibling_data(Config, Suite) ->
    filename:join(filename:dirname(filename:dirname(?config(data_dir, Config))), Suite ++ "_data").

asgi(Config, Name, Extra) ->
    Paths = [sibling_data(Config, "hornbeam_asgi_SUITE"), ?config(data_dir, Config)],
    serve(Config, Name, "asgi_app:app", maps:merge(#{worker_class => asgi, pythonpath => Paths}, Extra)).

wsgi(Config, Name, Extra) ->
    Paths = [sibling_data(Config, "hornbeam_wsgi_SUITE")],
    serve(Config, Name, "wsgi_app:raw", maps:merge(#{pythonpath => Paths}, Extra)).

cmd(Args) ->
    os:cmd(lists:flatten(lists:join(" ", Args)) ++ " 2>&1").

python_json(Config, Script, Args) ->
    Python = filename:join([venv(Config), "bin", "python"]),
    Path = filename:join(?config(data_dir, Config), Script),
    Out = cmd([Python, Path | Args]),
    try hb_json:decode(list_to_binary(string:trim(Out)))
    catch _:_ -> ct:fail({script_failed, Script, Out})
    end.

%% "requests: N total, N started, N done, N succeeded, 0 failed, 0 errored" and all 2xx.
assert_h2load_ok(Out, N) ->
    Done = io_lib:format("~b succeeded, 0 failed, 0 errored", [N]),
    ?assertNotEqual(nomatch, string:find(Out, Done), Out),
    ?assertNotEqual(nomatch, string:find(Out, io_lib:format("status codes: ~b 2xx", [N])), Out).

tls_opts(Config) ->
    #{cert := Cert, key := Key} = ?config(certs, Config),
    #{ssl => true, certfile => Cert, keyfile => Key}.

https(Port, Path) ->
    "https://127.0.0.1:" ++ integer_to_list(Port) ++ Path.

%%% HTTP/2 in cleartext (prior knowledge)

h2_prior_knowledge_with_curl(Config) ->
    Port = asgi(Config, h2_prior_knowledge_with_curl, #{}),
    Out = cmd(["curl -s -i --http2-prior-knowledge", url(Port, "/")]),
    ?assertMatch({match, _}, re:run(Out, "^HTTP/2 200", [multiline])),
    ?assertNotEqual(nomatch, string:find(Out, "Hello, World!")),
    Scope = hb_json:decode(list_to_binary(cmd(["curl -s --http2-prior-knowledge", url(Port, "/scope")]))),
    ?assertMatch(#{<<"http_version">> := <<"2">>, <<"method">> := <<"GET">>, <<"path">> := <<"/scope">>}, Scope),
    %% :authority becomes the Host header applications look for.
    ?assert(lists:member([<<"host">>, iolist_to_binary(["127.0.0.1:", integer_to_list(Port)])],
                         maps:get(<<"headers">>, Scope))),
    %% HEAD: the GET's length, no body (hyper's HTTP/2 used to send it: curl saw a
    %% PROTOCOL_ERROR).
    Head = cmd(["curl -s -I --http2-prior-knowledge", url(Port, "/")]),
    ?assertMatch({match, _}, re:run(Head, "^HTTP/2 200", [multiline])),
    ?assertMatch({match, _}, re:run(Head, "^content-length: 13\r$", [multiline])),
    %% HTTP/1.1 still works on the same port.
    {200, _, <<"Hello, World!">>} = get(Port, "/").

h2load_all_2xx(Config) ->
    Port = asgi(Config, h2load_all_2xx, #{}),
    assert_h2load_ok(cmd(["h2load -n 2000 -c 4 -m 10", url(Port, "/")]), 2000).

httpx_http2(Config) ->
    Port = asgi(Config, httpx_http2, #{}),
    ?assertEqual(#{<<"versions">> => [<<"HTTP/2">>], <<"statuses">> => [200],
                   <<"scope_http_version">> => <<"2">>, <<"scope_scheme">> => <<"http">>,
                   <<"echo_ok">> => true},
                 python_json(Config, "httpx_check.py", ["http://127.0.0.1:" ++ integer_to_list(Port)])).

h2_streams_settings_and_reset(Config) ->
    Port = asgi(Config, h2_streams_settings_and_reset, #{max_concurrent_streams => 7}),
    Mark = filename:join(?config(priv_dir, Config), "reset.txt"),
    file:delete(Mark),
    Result = python_json(Config, "h2_check.py", [integer_to_list(Port), Mark]),
    ?assertEqual(7, maps:get(<<"max_concurrent_streams">>, Result)),
    %% Three streams answered together: served in parallel on one connection.
    ?assertEqual(#{<<"1">> => <<"together">>, <<"3">> => <<"together">>, <<"5">> => <<"together">>},
                 maps:get(<<"barrier">>, Result)),
    %% RST_STREAM reached the app as http.disconnect; the connection carried on.
    ?assertEqual(true, maps:get(<<"reset_seen">>, Result)),
    ?assertEqual(<<"Hello, World!">>, maps:get(<<"after_reset">>, Result)).

wsgi_over_http2(Config) ->
    Port = wsgi(Config, wsgi_over_http2, #{}),
    Out = cmd(["curl -s -i --http2-prior-knowledge", url(Port, "/")]),
    ?assertMatch({match, _}, re:run(Out, "^HTTP/2 200", [multiline])),
    Environ = hb_json:decode(list_to_binary(cmd(["curl -s --http2-prior-knowledge", url(Port, "/environ")]))),
    ?assertMatch(#{<<"SERVER_PROTOCOL">> := <<"HTTP/2">>, <<"REQUEST_METHOD">> := <<"GET">>,
                   <<"SERVER_NAME">> := <<"127.0.0.1">>}, Environ),
    assert_h2load_ok(cmd(["h2load -n 1000 -c 4 -m 10", url(Port, "/")]), 1000).

http1_only(Config) ->
    Port = asgi(Config, http1_only, #{http_version => ['HTTP/1.1']}),
    {200, _, <<"Hello, World!">>} = get(Port, "/"),
    Out = cmd(["curl -s -o /dev/null -w '%{http_code}' --http2-prior-knowledge", url(Port, "/")]),
    ?assertNotEqual("200", Out).

http2_only(Config) ->
    Port = asgi(Config, http2_only, #{http_version => ["HTTP/2"]}),
    ?assertEqual("200", cmd(["curl -s -o /dev/null -w '%{http_code}' --http2-prior-knowledge", url(Port, "/")])),
    ?assertNotEqual("200", cmd(["curl -s -o /dev/null -w '%{http_code}' --http1.1", url(Port, "/")])),
    ?assertEqual({error, {invalid_option, http_version, []}},
                 hornbeam:start("asgi_app:app", #{worker_class => asgi, http_version => []})),
    ?assertEqual({error, {invalid_option, http_version, ['HTTP/4']}},
                 hornbeam:start("asgi_app:app", #{worker_class => asgi, http_version => ['HTTP/4']})).

%%% TLS

tls_http1_and_http2_by_alpn(Config) ->
    Port = asgi(Config, tls_http1_and_http2_by_alpn, tls_opts(Config)),
    #{ca := Ca} = ?config(certs, Config),
    H1 = cmd(["curl -s -i --http1.1 --cacert", Ca, https(Port, "/")]),
    ?assertMatch({match, _}, re:run(H1, "^HTTP/1.1 200", [multiline])),
    ?assertNotEqual(nomatch, string:find(H1, "Hello, World!")),
    H2 = cmd(["curl -s -i --http2 --cacert", Ca, https(Port, "/")]),
    ?assertMatch({match, _}, re:run(H2, "^HTTP/2 200", [multiline])),
    Scope = hb_json:decode(list_to_binary(cmd(["curl -s --cacert", Ca, https(Port, "/scope")]))),
    ?assertMatch(#{<<"scheme">> := <<"https">>, <<"http_version">> := <<"2">>}, Scope),
    %% A client that does not trust the certificate gets no answer.
    ?assertNotEqual("200", cmd(["curl -s -o /dev/null -w '%{http_code}'", https(Port, "/")])),
    assert_h2load_ok(cmd(["h2load -n 500 -c 2 -m 10", https(Port, "/")]), 500).

tls_httpx(Config) ->
    Port = asgi(Config, tls_httpx, tls_opts(Config)),
    #{ca := Ca} = ?config(certs, Config),
    ?assertEqual(#{<<"versions">> => [<<"HTTP/2">>], <<"statuses">> => [200],
                   <<"scope_http_version">> => <<"2">>, <<"scope_scheme">> => <<"https">>,
                   <<"echo_ok">> => true},
                 python_json(Config, "httpx_check.py", [https(Port, ""), Ca])).

tls_wsgi(Config) ->
    Port = wsgi(Config, tls_wsgi, tls_opts(Config)),
    #{ca := Ca} = ?config(certs, Config),
    Environ = hb_json:decode(list_to_binary(cmd(["curl -s --http1.1 --cacert", Ca, https(Port, "/environ")]))),
    ?assertMatch(#{<<"wsgi.url_scheme">> := <<"https">>, <<"SERVER_PROTOCOL">> := <<"HTTP/1.1">>}, Environ),
    H2 = cmd(["curl -s -i --http2 --cacert", Ca, https(Port, "/")]),
    ?assertMatch({match, _}, re:run(H2, "^HTTP/2 200", [multiline])).

tls_client_certificates(Config) ->
    #{ca := Ca, client_cert := ClientCert, client_key := ClientKey} = ?config(certs, Config),
    Port = asgi(Config, tls_client_certificates, (tls_opts(Config))#{cacertfile => Ca}),
    Code = fun(Extra) -> cmd(["curl -s -o /dev/null -w '%{http_code}' --cacert", Ca | Extra] ++ [https(Port, "/")]) end,
    ?assertNotEqual("200", Code([])),
    ?assertEqual("200", Code(["--cert", ClientCert, "--key", ClientKey])).

tls_errors(Config) ->
    #{cert := Cert, key := Key, client_key := OtherKey} = ?config(certs, Config),
    Opts = #{name => tls_errors, bind => "127.0.0.1:0", worker_class => asgi,
             pythonpath => [sibling_data(Config, "hornbeam_asgi_SUITE")]},
    Start = fun(Extra) -> hornbeam:start("asgi_app:app", maps:merge(Opts, Extra)) end,
    ?assertEqual({error, {missing_ssl_option, keyfile}}, Start(#{ssl => true, certfile => Cert})),
    ?assertEqual({error, {ssl_file_unreadable, certfile, "/nonexistent.pem", enoent}},
                 Start(#{ssl => true, certfile => "/nonexistent.pem", keyfile => Key})),
    Garbage = filename:join(?config(priv_dir, Config), "garbage.pem"),
    ok = file:write_file(Garbage, <<"not a certificate">>),
    ?assertMatch({error, {invalid_ssl_file, certfile, _}}, Start(#{ssl => true, certfile => Garbage, keyfile => Key})),
    {error, {invalid_ssl_file, keyfile, Why}} = Start(#{ssl => true, certfile => Cert, keyfile => OtherKey}),
    ?assert(is_list(Why)),
    %% Nothing was left running; the right files work.
    ?assertEqual({error, not_found}, hornbeam:info(tls_errors)),
    ok = Start(#{ssl => true, certfile => Cert, keyfile => Key}),
    ok = hornbeam:stop(tls_errors).

%%% HTTP/3 (QUIC on the UDP port of the same number, announced with Alt-Svc)

h3_opts(Config) ->
    (tls_opts(Config))#{http_version => ['HTTP/1.1', 'HTTP/2', 'HTTP/3']}.

h3_get(Config, Port, Path) ->
    #{ca := Ca} = ?config(certs, Config),
    python_json(Config, "h3_check.py", [integer_to_list(Port), Ca, "get", Path]).

http3_aioquic(Config) ->
    Port = asgi(Config, http3_aioquic, h3_opts(Config)),
    #{ca := Ca} = ?config(certs, Config),
    ?assertMatch(#{http3_port := Port, http3_connections := 0, http3_streams := 0},
                 hornbeam:info(http3_aioquic)),
    Mark = filename:join(?config(priv_dir, Config), "h3_reset.txt"),
    file:delete(Mark),
    R = python_json(Config, "h3_check.py", [integer_to_list(Port), Ca, "asgi", Mark]),
    ?assertMatch(#{<<"status">> := 200, <<"body">> := <<"Hello, World!">>}, maps:get(<<"get">>, R)),
    Headers = maps:get(<<"headers">>, maps:get(<<"get">>, R)),
    ?assert(lists:member([<<"content-length">>, <<"13">>], Headers)),
    ?assert(lists:member([<<"server">>, <<"hornbeam">>], Headers)),
    ?assertEqual(<<"3">>, maps:get(<<"http_version">>, R)),
    %% The app's early hint went out as a 103 on the stream, before the 200.
    ?assertMatch(#{<<"status">> := 200, <<"body">> := <<"hinted">>,
                   <<"informational">> := [[103, [[<<"link">>, <<"</style.css>; rel=preload; as=style">>]]]]},
                 maps:get(<<"early_hints">>, R)),
    %% Request trailers are read past and ignored.
    ?assertMatch(#{<<"status">> := 200, <<"body">> := <<"with trailers">>}, maps:get(<<"trailers">>, R)),
    %% 10 MB up and back, byte for byte.
    ?assertEqual(#{<<"status">> => 200, <<"same">> => true, <<"length">> => 10485760},
                 maps:get(<<"echo">>, R)),
    %% 50 requests answered only once all 50 wait at once: 50 concurrent streams.
    ?assertEqual([[200, <<"together">>]], maps:get(<<"barrier">>, R)),
    %% A stream reset mid-body reached the app as http.disconnect; the connection lived on.
    wait_until(fun() -> case file:read_file(Mark) of
                            {ok, <<"disconnect after ", _/binary>>} -> true;
                            _ -> false
                        end
               end),
    ?assertMatch(#{<<"status">> := 200, <<"body">> := <<"Hello, World!">>},
                 maps:get(<<"after_reset">>, R)),
    #{http3_streams := Streams} = hornbeam:info(http3_aioquic),
    ?assert(Streams >= 55),
    wait_until(fun() -> maps:get(http3_connections, hornbeam:info(http3_aioquic)) =:= 0 end),
    %% A stop frees the UDP port as it frees the TCP one.
    ok = hornbeam:stop(http3_aioquic),
    {ok, Udp} = gen_udp:open(Port, [{ip, {127, 0, 0, 1}}]),
    ok = gen_udp:close(Udp).

http3_alt_svc_with_niquests(Config) ->
    Port = asgi(Config, http3_alt_svc_with_niquests, h3_opts(Config)),
    #{ca := Ca} = ?config(certs, Config),
    R = python_json(Config, "h3_niquests.py", [integer_to_list(Port), Ca, "/"]),
    AltSvc = iolist_to_binary(["h3=\":", integer_to_list(Port), "\"; ma=86400"]),
    ?assertEqual(#{<<"version">> => 20, <<"alt_svc">> => AltSvc}, maps:get(<<"first">>, R)),
    ?assertEqual(#{<<"version">> => 30, <<"status">> => 200, <<"body">> => <<"Hello, World!">>},
                 maps:get(<<"second">>, R)),
    ?assertEqual(#{<<"version">> => 30, <<"status">> => 200, <<"length">> => <<"13">>, <<"body">> => <<>>},
                 maps:get(<<"head">>, R)),
    %% HTTP/1.1 carries the announcement too; a server without HTTP/3 makes none.
    H1 = cmd(["curl -s -i --http1.1 --cacert", Ca, https(Port, "/")]),
    ?assertNotEqual(nomatch, string:find(H1, ["alt-svc: ", AltSvc])),
    Plain = asgi(Config, http3_alt_svc_without_h3, tls_opts(Config)),
    ?assertEqual(nomatch, string:find(cmd(["curl -s -i --cacert", Ca, https(Plain, "/")]), "alt-svc")),
    ok = hornbeam:stop(http3_alt_svc_without_h3).

http3_wsgi_and_frameworks(Config) ->
    Port = wsgi(Config, http3_wsgi, h3_opts(Config)),
    #{<<"status">> := 200, <<"body">> := EnvironJson} = h3_get(Config, Port, "/environ"),
    ?assertMatch(#{<<"SERVER_PROTOCOL">> := <<"HTTP/3">>, <<"wsgi.url_scheme">> := <<"https">>,
                   <<"REQUEST_METHOD">> := <<"GET">>}, hb_json:decode(EnvironJson)),
    %% wsgi.early_hints reaches an HTTP/3 client as a 103.
    ?assertMatch(#{<<"status">> := 200, <<"informational">> := [[103, [_ | _]]]}, h3_get(Config, Port, "/hints")),
    ok = hornbeam:stop(http3_wsgi),
    Venv = venv(Config),
    Flask = serve(Config, http3_flask, "flask_app:app",
                  maps:merge(h3_opts(Config), #{venv => Venv, pythonpath => [sibling_data(Config, "hornbeam_wsgi_SUITE")]})),
    ?assertMatch(#{<<"status">> := 200, <<"body">> := <<"Hello from Flask">>}, h3_get(Config, Flask, "/")),
    #{<<"status">> := 200, <<"body">> := Item} = h3_get(Config, Flask, "/items/7?q=x"),
    ?assertEqual(#{<<"id">> => 7, <<"q">> => <<"x">>}, hb_json:decode(Item)),
    ok = hornbeam:stop(http3_flask),
    Starlette = serve(Config, http3_starlette, "starlette_app:app",
                      maps:merge(h3_opts(Config), #{venv => Venv, worker_class => asgi,
                                                    pythonpath => [sibling_data(Config, "hornbeam_asgi_SUITE")]})),
    ?assertMatch(#{<<"status">> := 200, <<"body">> := <<"Hello from Starlette">>}, h3_get(Config, Starlette, "/")),
    ?assertMatch(#{<<"status">> := 200, <<"body">> := <<"0;1;2;3;4;">>}, h3_get(Config, Starlette, "/stream")),
    ok = hornbeam:stop(http3_starlette).

http3_errors(Config) ->
    Opts = #{name => http3_errors, bind => "127.0.0.1:0", worker_class => asgi,
             pythonpath => [sibling_data(Config, "hornbeam_asgi_SUITE")]},
    Start = fun(Extra) -> hornbeam:start("asgi_app:app", maps:merge(Opts, Extra)) end,
    ?assertMatch({error, {http3_needs_tls, "HTTP/3 runs over QUIC" ++ _}},
                 Start(#{http_version => ['HTTP/1.1', 'HTTP/3']})),
    ?assertEqual({error, {invalid_option, http3_port, 70000}}, Start((h3_opts(Config))#{http3_port => 70000})),
    %% Another socket holds the UDP port.
    {ok, Busy} = gen_udp:open(0, [{ip, {127, 0, 0, 1}}]),
    {ok, BusyPort} = inet:port(Busy),
    Text = "udp 127.0.0.1:" ++ integer_to_list(BusyPort),
    ?assertEqual({error, {eaddrinuse, Text}}, Start((h3_opts(Config))#{http3_port => BusyPort})),
    ?assertEqual({error, not_found}, hornbeam:info(http3_errors)),
    ok = gen_udp:close(Busy),
    %% Freed, the same port serves.
    ok = Start((h3_opts(Config))#{http3_port => BusyPort}),
    ?assertMatch(#{http3_port := BusyPort}, hornbeam:info(http3_errors)),
    ?assertMatch(#{<<"status">> := 200}, h3_get(Config, BusyPort, "/")),
    ok = hornbeam:stop(http3_errors),
    %% The request limits are the other versions' own: a declared body over
    %% max_body_size is 413 before the app runs; one under it is echoed.
    Limited = asgi(Config, http3_limits, (h3_opts(Config))#{max_body_size => 1000}),
    #{ca := Ca} = ?config(certs, Config),
    Post = fun(Size) ->
               python_json(Config, "h3_check.py", [integer_to_list(Limited), Ca, "post", "/echo", integer_to_list(Size)])
           end,
    ?assertMatch(#{<<"status">> := 413}, Post(5000)),
    ?assertMatch(#{<<"status">> := 200, <<"body">> := <<"xxxxxxxxxx">>}, Post(10)),
    ok = hornbeam:stop(http3_limits).

%% max_concurrent_streams is the QUIC bidirectional stream limit and keepalive its idle
%% timeout; max_headers and
%% max_header_size answer 431 as over HTTP/1.1 and HTTP/2, and the connection serves on.
http3_request_limits(Config) ->
    Port = asgi(Config, http3_request_limits,
                (h3_opts(Config))#{max_concurrent_streams => 7, keepalive => 3,
                                   max_headers => 20, max_header_size => 2000}),
    #{ca := Ca} = ?config(certs, Config),
    R = python_json(Config, "h3_check.py", [integer_to_list(Port), Ca, "limits", "7"]),
    ?assertEqual(7, maps:get(<<"max_streams_bidi">>, R)),
    ?assertEqual(3.0, maps:get(<<"max_idle_timeout">>, R)),
    ?assertEqual([[200, <<"together">>]], maps:get(<<"barrier">>, R)),
    ?assertMatch(#{<<"status">> := 431, <<"body">> := <<"Too many header fields">>},
                 maps:get(<<"many_headers">>, R)),
    ?assertMatch(#{<<"status">> := 431, <<"body">> := <<"Request header fields too large">>},
                 maps:get(<<"large_header">>, R)),
    ?assertMatch(#{<<"status">> := 431}, maps:get(<<"huge_header">>, R)),
    ?assertMatch(#{<<"status">> := 200, <<"body">> := <<"Hello, World!">>}, maps:get(<<"after">>, R)),
    ok = hornbeam:stop(http3_request_limits).

http3_garbage_datagrams(Config) ->
    Port = asgi(Config, http3_garbage_datagrams, h3_opts(Config)),
    {ok, Sock} = gen_udp:open(0, [binary, {ip, {127, 0, 0, 1}}]),
    %% Random bytes, an empty datagram, a long-header packet with a bogus version and
    %% connection ids, a truncated Initial.
    Garbage = [crypto:strong_rand_bytes(N) || N <- [1, 20, 1200, 1500]] ++
              [<<>>, <<16#C0, 16#FA, 16#CE, 16#B0, 16#0C, 8, 1:64, 8, 2:64>>,
               <<16#C3, 0, 0, 0, 1, 8, 3:64, 0, 0, 16#44, 16#D0>>],
    [ok = gen_udp:send(Sock, {127, 0, 0, 1}, Port, G) || _ <- lists:seq(1, 50), G <- Garbage],
    ok = gen_udp:close(Sock),
    ?assertMatch(#{<<"status">> := 200, <<"body">> := <<"Hello, World!">>}, h3_get(Config, Port, "/")),
    #{ca := Ca} = ?config(certs, Config),
    ?assertEqual("200", cmd(["curl -s -o /dev/null -w '%{http_code}' --cacert", Ca, https(Port, "/")])).

http3_closed_connection_and_graceful_stop(Config) ->
    Name = http3_closed_connection_and_graceful_stop,
    Port = asgi(Config, Name, (h3_opts(Config))#{graceful_timeout => 10000}),
    #{ca := Ca} = ?config(certs, Config),
    Mark = filename:join(?config(priv_dir, Config), "h3_closed.txt"),
    file:delete(Mark),
    %% A client that closes its QUIC connection while the app waits: the app sees
    %% http.disconnect.
    Python = filename:join([venv(Config), "bin", "python"]),
    Script = filename:join(?config(data_dir, Config), "h3_check.py"),
    Client = open_port({spawn_executable, Python},
                       [{args, [Script, integer_to_list(Port), Ca, "hold", "/wait-disconnect?mark=" ++ Mark]},
                        binary, exit_status, use_stdio]),
    wait_until(fun() -> file:read_file(Mark) =:= {ok, <<"waiting">>} end),
    true = port_command(Client, <<"close\n">>),
    receive {Client, {exit_status, 0}} -> ok after 20000 -> ct:fail(client_did_not_exit) end,
    wait_until(fun() -> file:read_file(Mark) =:= {ok, <<"http.disconnect">>} end),
    %% A stop lets the request in flight finish (GOAWAY, then close) before it returns.
    Self = self(),
    spawn_link(fun() -> Self ! {slept, h3_get(Config, Port, "/sleep?s=1")} end),
    wait_until(fun() -> maps:get(http3_streams, hornbeam:info(Name)) >= 2 end),
    ok = hornbeam:stop(Name),
    receive {slept, Slept} -> ?assertMatch(#{<<"status">> := 200, <<"body">> := <<"slept">>}, Slept)
    after 20000 -> ct:fail(no_answer_during_the_stop)
    end.

%% Debian's ngtcp2 example client (GnuTLS and nghttp3, not quinn or aioquic).
http3_ngtcp2_client(Config) ->
    Port = asgi(Config, http3_ngtcp2_client, h3_opts(Config)),
    P = integer_to_list(Port),
    Out = cmd(["timeout 20 gtlsclient --exit-on-all-streams-close 127.0.0.1", P, "https://localhost:" ++ P ++ "/"]),
    ?assertMatch({match, _}, re:run(Out, "stream 0x0 \\[:status: 200\\]")),
    Dir = filename:join(?config(priv_dir, Config), "gtlsclient"),
    ok = filelib:ensure_dir(filename:join(Dir, "scope")),
    cmd(["timeout 20 gtlsclient -q --exit-on-all-streams-close --download=" ++ Dir, "127.0.0.1", P,
         "https://localhost:" ++ P ++ "/scope"]),
    {ok, Scope} = file:read_file(filename:join(Dir, "scope")),
    ?assertMatch(#{<<"http_version">> := <<"3">>, <<"scheme">> := <<"https">>}, hb_json:decode(Scope)).
