%% Serves an echo protocol on a Hornbeam reactor context for bench/reactor_echo.sh:
%% Erlang accepts, hands each socket over, and Python echoes.
-module(reactor_echo_server).
-export([main/1]).

main([PortArg, Class]) ->
    main([PortArg, Class, "65536"]);
main([PortArg, Class, ReadSize]) ->
    {ok, _} = application:ensure_all_started(hornbeam),
    BenchDir = filename:dirname(code:which(?MODULE)),
    Setup = iolist_to_binary(["import erlang.reactor as reactor, echo_protocols\n"
                              "reactor.set_protocol_factory(echo_protocols.", Class, ")\n"]),
    {ok, _} = py_reactor_context:start_link(bench, subinterp,
                                            #{setup_code => Setup, pythonpath => [BenchDir],
                                              read_size => list_to_integer(ReadSize)}),
    {ok, L} = gen_tcp:listen(list_to_integer(PortArg),
                             [binary, {active, false}, {reuseaddr, true}, {backlog, 1024}]),
    io:format("ready~n"),
    accept(L).

accept(L) ->
    {ok, S} = gen_tcp:accept(L),
    ok = py_reactor_context:handoff(bench, S, #{}),
    accept(L).
