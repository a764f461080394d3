%% Python talking to Erlang: hornbeam_erlang (state, registered functions, pub/sub,
%% rpc) and hornbeam_ml, driven through the py API and through HTTP requests to
%% running WSGI and ASGI servers.
-module(hornbeam_erlang_SUITE).

-include_lib("common_test/include/ct.hrl").
-include_lib("stdlib/include/assert.hrl").

-export([all/0, groups/0, init_per_suite/1, end_per_suite/1, init_per_group/2, end_per_group/2,
         init_per_testcase/2, end_per_testcase/2]).
-export([state_from_a_context/1, four_interpreters_incr_concurrently/1,
         incr_over_http_from_four_workers/1, state_shared_with_erlang/1, type_fidelity/1,
         registered_functions/1, cast_runs_later/1, reserved_names/1, a_dead_agent_raises/1,
         erlang_subscriber_gets_python_publish/1, python_subscriber_gets_erlang_publish/1,
         websocket_forwards_published_messages/1, rpc_on_one_node/1,
         inference_cache_is_shared/1, inference_cache_bound_and_ttl/1]).

-import(hb_http, [serve/4, get/2, wait_until/1]).

all() ->
    [{group, py_api}, {group, wsgi}, {group, asgi}].

groups() ->
    [{py_api, [], [state_from_a_context, four_interpreters_incr_concurrently]},
     {wsgi, [], [incr_over_http_from_four_workers, state_shared_with_erlang, type_fidelity,
                 registered_functions, cast_runs_later, reserved_names, a_dead_agent_raises,
                 erlang_subscriber_gets_python_publish, python_subscriber_gets_erlang_publish,
                 rpc_on_one_node, inference_cache_is_shared, inference_cache_bound_and_ttl]},
     {asgi, [], [type_fidelity, registered_functions, rpc_on_one_node,
                 websocket_forwards_published_messages]}].

init_per_suite(Config) ->
    {ok, _} = application:ensure_all_started(hornbeam),
    {ok, _} = application:ensure_all_started(inets),
    ok = hornbeam:register_function(sum, fun lists:sum/1),
    ok = hornbeam:register_function(mfa_reverse, lists, reverse),
    ok = hornbeam:register_function(raises, fun(_) -> error(deliberate_failure) end),
    ok = hornbeam:register_function(remember, fun([V]) -> hornbeam_state:set(remembered, V) end),
    Config.

end_per_suite(_Config) ->
    [hornbeam:unregister_function(F) || F <- [sum, mfa_reverse, raises, remember]],
    application:stop(hornbeam).

init_per_group(wsgi, Config) ->
    [{port, serve(Config, erlang_wsgi, "erlang_app:application", #{workers => 4})} | Config];
init_per_group(asgi, Config) ->
    [{port, serve(Config, erlang_asgi, "erlang_app:asgi", #{worker_class => asgi, workers => 2})} | Config];
init_per_group(_, Config) ->
    Config.

end_per_group(wsgi, _Config) -> hornbeam:stop(erlang_wsgi);
end_per_group(asgi, _Config) -> hornbeam:stop(erlang_asgi);
end_per_group(_, _Config) -> ok.

init_per_testcase(Case, Config) ->
    hb_http:capture_logs(Case),
    Config.

end_per_testcase(Case, _Config) ->
    logger:remove_handler(Case).

json(Config, Path) ->
    {200, _, Body} = get(?config(port, Config), Path),
    hb_json:decode(Body).

%%% Through the py API

state_from_a_context(Config) ->
    {ok, Ctx} = py_context:start(#{pythonpath => [?config(data_dir, Config)]}),
    ok = py:exec(Ctx, <<"import hornbeam_erlang as he, erlang_app\n"
                        "he.state_set('ctx-key', (1, b'two', 'three'))\n">>),
    ?assertEqual({1, {bytes, <<"two">>}, <<"three">>}, hornbeam_state:get(<<"ctx-key">>)),
    ?assertEqual({ok, []}, py:eval(Ctx, <<"erlang_app.fidelity()">>)),
    ?assertEqual({ok, 7}, py:eval(Ctx, <<"he.state_incr('ctx-counter', 7)">>)),
    ?assertEqual({ok, none}, py:eval(Ctx, <<"he.state_get('never-set')">>)),
    py_context:stop(Ctx).

four_interpreters_incr_concurrently(Config) ->
    hornbeam_state:delete(<<"race">>),
    Ctxs = [begin {ok, C} = py_context:start(#{pythonpath => [?config(data_dir, Config)]}), C end
            || _ <- lists:seq(1, 4)],
    [ok = py:exec(C, <<"import hornbeam_erlang as he">>) || C <- Ctxs],
    Self = self(),
    Loop = <<"for _ in range(10000): he.state_incr('race')">>,
    Pids = [spawn_link(fun() -> Self ! {self(), py:exec(C, Loop)} end) || C <- Ctxs],
    [receive {Pid, Result} -> ?assertEqual(ok, Result) end || Pid <- Pids],
    ?assertEqual(40000, hornbeam_state:get(<<"race">>)),
    [py_context:stop(C) || C <- Ctxs].

%%% Through HTTP

incr_over_http_from_four_workers(Config) ->
    hornbeam_state:delete(<<"http-counter">>),
    Self = self(),
    Pids = [spawn_link(fun() -> Self ! {self(), [json(Config, "/incr?n=250") || _ <- lists:seq(1, 5)]} end)
            || _ <- lists:seq(1, 8)],
    [receive {Pid, _} -> ok end || Pid <- Pids],
    ?assertEqual(10000, hornbeam_state:get(<<"http-counter">>)).

state_shared_with_erlang(Config) ->
    hornbeam_state:set(<<"from-erlang">>, {tuple, [<<"list">>]}),
    hornbeam_state:set(<<"ctr">>, 10),
    R = json(Config, "/state"),
    ?assertEqual(<<"(Atom('tuple'), ['list'])">>, maps:get(<<"erlang-wrote">>, R)),
    ?assertEqual(null, maps:get(<<"missing">>, R)),
    ?assertEqual(5, maps:get(<<"decr">>, R)),
    ?assertEqual(<<"{'from-python': {'list': [1, 2], 'tuple': (3, 4)}}">>, maps:get(<<"multi">>, R)),
    ?assert(lists:member(<<"from-python">>, maps:get(<<"keys">>, R))),
    ?assert(lists:member(<<"from-erlang">>, maps:get(<<"keys">>, R))),
    ?assertMatch(#{<<"error">> := <<"ErlangError">>, <<"message">> := <<"the value under", _/binary>>},
                 maps:get(<<"incr-not-int">>, R)),
    %% Erlang reads what Python wrote, as the terms docs/term-conversion.md gives.
    ?assertEqual(#{<<"list">> => [1, 2], <<"tuple">> => {3, 4}}, hornbeam_state:get(<<"from-python">>)).

type_fidelity(Config) ->
    ?assertEqual([], json(Config, "/fidelity")).

registered_functions(Config) ->
    R = json(Config, "/call"),
    ?assertEqual(6, maps:get(<<"sum">>, R)),
    ?assertEqual([<<"b">>, <<"a">>], maps:get(<<"mfa">>, R)),
    #{<<"error">> := <<"ErlangError">>, <<"message">> := Raised} = maps:get(<<"raises">>, R),
    ?assertNotEqual(nomatch, string:find(Raised, "deliberate_failure")),
    ?assertMatch(#{<<"error">> := <<"UnknownFunctionError">>}, maps:get(<<"unknown">>, R)),
    ?assertMatch(#{<<"error">> := <<"UnknownFunctionError">>}, maps:get(<<"cast-unknown">>, R)).

cast_runs_later(Config) ->
    hornbeam_state:delete(remembered),
    <<"cast">> = json(Config, "/cast?value=kept"),
    wait_until(fun() -> hornbeam_state:get(remembered) =:= <<"kept">> end).

reserved_names(_Config) ->
    ?assertEqual({error, {reserved_name, "hornbeam.state_get"}},
                 hornbeam:register_function("hornbeam.state_get", fun(_) -> hijacked end)),
    ?assertEqual({error, {badarg, not_a_fun}}, hornbeam:register_function(x, not_a_fun)).

a_dead_agent_raises(Config) ->
    Self = self(),
    ok = hornbeam:register_function(block, fun(_) -> Self ! {agent, self()}, receive after infinity -> ok end end),
    Port = ?config(port, Config),
    Client = spawn_link(fun() -> Self ! {answer, get(Port, "/block")} end),
    Agent = receive {agent, Pid} -> Pid after 10000 -> ct:fail(no_agent) end,
    exit(Agent, kill),
    receive
        {answer, {200, _, Body}} ->
            #{<<"error">> := <<"RuntimeError">>, <<"message">> := Message} = hb_json:decode(Body),
            ?assertNotEqual(nomatch, string:find(Message, "died"))
    after 10000 -> ct:fail({still_waiting, Client})
    end,
    %% The server replaced the agent (info/1 is answered after it saw the agent go):
    %% every worker still reaches Erlang.
    #{} = hornbeam:info(erlang_wsgi),
    [?assertEqual(6, maps:get(<<"sum">>, json(Config, "/call"))) || _ <- lists:seq(1, 8)],
    hornbeam:unregister_function(block).

erlang_subscriber_gets_python_publish(Config) ->
    ok = hornbeam_pubsub:subscribe(<<"news">>),
    ?assertEqual(1, json(Config, "/publish?topic=news&text=hello")),
    receive
        {hornbeam_pubsub, <<"news">>, Message} ->
            ?assertEqual(#{<<"text">> => <<"hello">>, <<"raw">> => {bytes, <<1>>}}, Message)
    after 5000 -> ct:fail(nothing_published)
    end,
    hornbeam_pubsub:unsubscribe(<<"news">>),
    ?assertEqual(0, json(Config, "/publish?topic=news&text=again")).

python_subscriber_gets_erlang_publish(Config) ->
    Self = self(),
    ok = hornbeam:register_function(subscribed, fun([Topic]) -> Self ! {subscribed, Topic}, ok end),
    Port = ?config(port, Config),
    spawn_link(fun() -> Self ! {answer, get(Port, "/subscribe-get?topic=alerts")} end),
    receive {subscribed, <<"alerts">>} -> ok after 10000 -> ct:fail(not_subscribed) end,
    ?assertEqual(1, hornbeam_pubsub:publish(<<"alerts">>, {alert, 42, [<<"x">>]})),
    receive
        {answer, {200, _, Body}} -> ?assertEqual(<<"(Atom('alert'), 42, ['x'])">>, hb_json:decode(Body))
    after 10000 -> ct:fail(no_answer)
    end,
    %% Leaving the `with` block closed the subscription: its subscriber left the group.
    wait_until(fun() -> hornbeam_pubsub:subscribers(<<"alerts">>) =:= [] end),
    hornbeam:unregister_function(subscribed).

websocket_forwards_published_messages(Config) ->
    {ok, S} = gen_tcp:connect({127, 0, 0, 1}, ?config(port, Config), [binary, {active, false}]),
    ok = gen_tcp:send(S, ["GET /ws/room1 HTTP/1.1\r\nHost: t\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                          "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"]),
    {ok, <<"HTTP/1.1 101", _/binary>>} = gen_tcp:recv(S, 0, 5000),
    wait_until(fun() -> length(hornbeam_pubsub:subscribers(<<"room1">>)) =:= 1 end),
    1 = hornbeam_pubsub:publish(<<"room1">>, #{<<"n">> => 1}),
    1 = hornbeam_pubsub:publish(<<"room1">>, [<<"two">>]),
    ?assertEqual(<<"{\"n\": 1}[\"two\"]">>, read_texts(S, 2, <<>>)),
    1 = hornbeam_pubsub:publish(<<"room1">>, <<"bye">>),
    {ok, <<1:1, 0:3, 8:4, 0:1, _:7, 1000:16, _/binary>>} = gen_tcp:recv(S, 0, 5000),
    wait_until(fun() -> hornbeam_pubsub:subscribers(<<"room1">>) =:= [] end),
    gen_tcp:close(S).

%% The payloads of N unfragmented server text frames, concatenated.
read_texts(_S, 0, <<>>) -> <<>>;
read_texts(S, N, <<1:1, 0:3, 1:4, 0:1, Len:7, Rest/binary>>) when Len < 126, byte_size(Rest) >= Len ->
    <<Text:Len/binary, More/binary>> = Rest,
    <<Text/binary, (read_texts(S, N - 1, More))/binary>>;
read_texts(S, N, Buffer) ->
    {ok, Data} = gen_tcp:recv(S, 0, 5000),
    read_texts(S, N, <<Buffer/binary, Data/binary>>).

rpc_on_one_node(Config) ->
    R = json(Config, "/rpc"),
    ?assertEqual(3, maps:get(<<"local">>, R)),
    ?assertEqual(atom_to_binary(node()), maps:get(<<"node">>, R)),
    ?assertEqual([], maps:get(<<"nodes">>, R)),
    ?assertMatch(#{<<"error">> := <<"RpcError">>, <<"reason">> := <<"noconnection">>}, maps:get(<<"unreachable">>, R)),
    #{<<"error">> := <<"RpcError">>, <<"reason">> := <<"exception">>, <<"message">> := Raised} = maps:get(<<"raises">>, R),
    ?assertNotEqual(nomatch, string:find(Raised, "boom")),
    ?assertMatch(#{<<"error">> := <<"TimeoutError">>}, maps:get(<<"timeout">>, R)).

inference_cache_is_shared(Config) ->
    hornbeam_cache:clear(<<"shared">>),
    First = json(Config, "/ml?prefix=shared"),
    ?assertEqual([9, 16, 9, 9, 25], maps:get(<<"results">>, First)),
    ?assertEqual(3, maps:get(<<"computed">>, First)),
    ?assertMatch(#{<<"hits">> := 2, <<"misses">> := 3, <<"size">> := 3}, maps:get(<<"stats">>, First)),
    %% Another server's interpreter computes nothing: the cache is the node's.
    Port = serve(Config, erlang_ml_other, "erlang_app:asgi", #{worker_class => asgi}),
    {200, _, Body} = get(Port, "/ml?prefix=shared"),
    Second = hb_json:decode(Body),
    ?assertEqual(0, maps:get(<<"computed">>, Second)),
    #{<<"hits">> := 7, <<"misses">> := 3, <<"hit_rate">> := Rate} = maps:get(<<"stats">>, Second),
    ?assert(abs(Rate - 0.7) < 1.0e-9),
    hornbeam:stop(erlang_ml_other).

inference_cache_bound_and_ttl(Config) ->
    hornbeam_cache:clear(<<"bounded">>),
    %% 10 inserted with room for 3: 7, 8 and 9 stay, 0 was evicted.
    ?assertEqual(#{<<"recomputed">> => 1, <<"size">> => 3}, json(Config, "/ml-bounded")),
    hornbeam_cache:clear(<<"ttl">>),
    #{<<"calls">> := Calls} = json(Config, "/ml-ttl?ttl=0.2"),
    %% Within the ttl the entry serves; past it, it is computed again.
    wait_until(fun() -> maps:get(<<"calls">>, json(Config, "/ml-ttl?ttl=0.2")) > Calls end).
