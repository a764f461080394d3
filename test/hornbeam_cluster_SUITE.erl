%% Hornbeam on several nodes (`peer', loopback, epmd): rpc from Python to another
%% node, pub/sub across nodes, a node stopping during a call, and the chat example
%% with a WebSocket client on each node.
-module(hornbeam_cluster_SUITE).

-include_lib("common_test/include/ct.hrl").
-include_lib("stdlib/include/assert.hrl").

-export([all/0, init_per_suite/1, end_per_suite/1, init_per_testcase/2, end_per_testcase/2]).
-export([rpc_runs_on_the_other_node/1, publish_reaches_the_other_node/1,
         node_stopping_during_rpc_raises_promptly/1, chat_across_nodes/1]).

-import(hb_http, [wait_until/1]).

all() ->
    [rpc_runs_on_the_other_node, publish_reaches_the_other_node,
     node_stopping_during_rpc_raises_promptly, chat_across_nodes].

init_per_suite(Config) ->
    {ok, _} = application:ensure_all_started(inets),
    case node() of
        nonode@nohost ->
            os:cmd("epmd -daemon"),
            {ok, _} = net_kernel:start([list_to_atom("hb_ct_" ++ os:getpid()), shortnames]);
        _ ->
            ok
    end,
    Config.

end_per_suite(_Config) ->
    ok.

init_per_testcase(_Case, Config) ->
    {PeerA, A} = start_node(Config, hb_a),
    {PeerB, B} = start_node(Config, hb_b),
    true = peer:call(PeerA, net_kernel, connect_node, [B]),
    [{a, {PeerA, A}}, {b, {PeerB, B}} | Config].

end_per_testcase(_Case, Config) ->
    [catch peer:stop(Peer) || {Peer, _} <- [?config(a, Config), ?config(b, Config)]],
    ok.

%% A node running Hornbeam: the cluster app (WSGI) and the chat example (ASGI).
start_node(Config, Prefix) ->
    Paths = lists:append([["-pa", P] || P <- code:get_path(), filelib:is_dir(P)]),
    %% Control over stdio: a peer controlled over distribution lost its connection at
    %% once on this machine; distribution between the nodes works either way.
    {ok, Peer, Node} = peer:start_link(#{name => peer:random_name(Prefix), args => Paths,
                                         connection => standard_io}),
    {ok, _} = peer:call(Peer, application, ensure_all_started, [hornbeam]),
    Chat = filename:join(hb_http:root_dir(Config), "examples/chat"),
    ok = peer:call(Peer, hornbeam, start,
                   ["cluster_app:application", #{name => cluster, bind => "127.0.0.1:0",
                                                 pythonpath => [?config(data_dir, Config)]}], 60000),
    ok = peer:call(Peer, hornbeam, start,
                   ["chat:app", #{name => chat, bind => "127.0.0.1:0", worker_class => asgi,
                                  pythonpath => [Chat]}], 60000),
    {Peer, Node}.

port({Peer, _Node}, Server) ->
    maps:get(port, peer:call(Peer, hornbeam, info, [Server])).

json(Where, Path) ->
    {ok, {{_, 200, _}, _, Body}} =
        httpc:request(get, {"http://127.0.0.1:" ++ integer_to_list(port(Where, cluster)) ++ Path, []},
                      [{timeout, 20000}], [{body_format, binary}]),
    hb_json:decode(Body).

rpc_runs_on_the_other_node(Config) ->
    {_, A} = ?config(a, Config),
    {_, B} = ?config(b, Config),
    %% Python on A runs erlang:node() on B.
    ?assertEqual(#{<<"result">> => atom_to_binary(B)}, json(?config(a, Config), "/rpc?node=" ++ atom_to_list(B))),
    ?assert(lists:member(atom_to_binary(B), json(?config(a, Config), "/nodes"))),
    ?assertEqual(#{<<"result">> => atom_to_binary(A)}, json(?config(b, Config), "/rpc?node=" ++ atom_to_list(A))).

publish_reaches_the_other_node(Config) ->
    {PeerB, _} = ?config(b, Config),
    Self = self(),
    %% An Erlang process on B subscribes; Python on A publishes.
    peer:call(PeerB, erlang, apply, [fun() ->
        spawn(fun() ->
            ok = hornbeam_pubsub:subscribe(<<"cluster-news">>),
            Self ! subscribed,
            receive Msg -> Self ! {on_b, node(), Msg} end
        end)
    end, []]),
    receive subscribed -> ok after 10000 -> ct:fail(not_subscribed) end,
    {PeerA, _} = ?config(a, Config),
    wait_until(fun() -> length(peer:call(PeerA, hornbeam_pubsub, subscribers, [<<"cluster-news">>])) =:= 1 end),
    ?assertEqual(1, json(?config(a, Config), "/publish?topic=cluster-news&text=hi")),
    {_, B} = ?config(b, Config),
    receive {on_b, Node, Message} ->
        ?assertEqual(B, Node),
        ?assertEqual({hornbeam_pubsub, <<"cluster-news">>, <<"hi">>}, Message)
    after 10000 -> ct:fail(not_delivered)
    end.

node_stopping_during_rpc_raises_promptly(Config) ->
    {PeerB, B} = ?config(b, Config),
    Self = self(),
    %% Python on A waits on B (a 60 s sleep, 30 s timeout); B stops meanwhile.
    spawn_link(fun() -> Self ! {answer, json(?config(a, Config), "/rpc-sleep?node=" ++ atom_to_list(B))} end),
    {PeerA, _} = ?config(a, Config),
    wait_until(fun() -> lists:keymember(timer, 1, remote_calls(PeerB)) end),
    Stopped = erlang:monotonic_time(millisecond),
    peer:stop(PeerB),
    receive
        {answer, Answer} ->
            ?assertMatch(#{<<"error">> := <<"RpcError">>, <<"reason">> := <<"noconnection">>}, Answer),
            %% Far sooner than the call's own 30 s timeout.
            ?assert(erlang:monotonic_time(millisecond) - Stopped < 10000)
    after 20000 -> ct:fail(no_prompt_answer)
    end,
    ?assertNot(lists:member(B, peer:call(PeerA, erlang, nodes, []))).

%% {Module, Pid} of the processes on a node currently running a remote call's module.
remote_calls(Peer) ->
    peer:call(Peer, erlang, apply, [fun() ->
        [{M, P} || P <- processes(), {current_function, {M, _, _}} <- [process_info(P, current_function)]]
    end, []]).

chat_across_nodes(Config) ->
    {PeerA, _} = ?config(a, Config),
    {PeerB, _} = ?config(b, Config),
    Script = filename:join(?config(data_dir, Config), "chat_check.py"),
    Python = filename:join([hb_http:venv(Config), "bin", "python"]),
    Args = [Script, integer_to_list(port(?config(a, Config), chat)), integer_to_list(port(?config(b, Config), chat))],
    Port = open_port({spawn_executable, Python}, [{args, Args}, {line, 65536}, binary, exit_status, stderr_to_stdout]),
    expect_line(Port, <<"connected">>),
    %% Both subscriptions are known on both nodes before anyone speaks.
    [wait_until(fun() -> length(peer:call(Peer, hornbeam_pubsub, subscribers, [<<"chat:lobby">>])) =:= 2 end)
     || Peer <- [PeerA, PeerB]],
    port_command(Port, <<"go\n">>),
    Result = hb_json:decode(read_line(Port)),
    {_, A} = ?config(a, Config),
    {_, B} = ?config(b, Config),
    ?assertEqual(#{<<"room">> => <<"lobby">>, <<"text">> => <<"hello from A">>, <<"node">> => atom_to_binary(A)},
                 maps:get(<<"b_got">>, Result)),
    ?assertEqual(maps:get(<<"b_got">>, Result), maps:get(<<"a_echo">>, Result)),
    ?assertEqual(#{<<"room">> => <<"lobby">>, <<"text">> => <<"hello from B">>, <<"node">> => atom_to_binary(B)},
                 maps:get(<<"a_got">>, Result)).

expect_line(Port, Expected) ->
    case read_line(Port) of
        Expected -> ok;
        Other -> ct:fail({unexpected_output, Other})
    end.

read_line(Port) ->
    receive
        {Port, {data, {eol, Line}}} -> Line;
        {Port, {exit_status, Status}} -> ct:fail({chat_check_exited, Status})
    after 30000 -> ct:fail(chat_check_silent)
    end.
