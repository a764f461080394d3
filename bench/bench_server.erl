%% Serves a bench/ app for the HTTP benchmarks:
%% `bench_server:main(AppSpec, WorkerClass, Port, Workers)`.
-module(bench_server).
-export([main/4]).

main(App, Class, Port, Workers) ->
    logger:set_primary_config(level, warning),
    ok = hornbeam:start(App, #{bind => "127.0.0.1:" ++ integer_to_list(Port), workers => Workers,
                               worker_class => Class, pythonpath => ["bench"]}),
    io:format("ready~n"),
    receive stop -> ok end.
