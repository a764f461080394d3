%% Serves bench/wsgi_hello.py for bench/http_wsgi.sh: `wsgi_server:main(Port, Workers)`.
-module(wsgi_server).
-export([main/2]).

main(Port, Workers) ->
    logger:set_primary_config(level, warning),
    ok = hornbeam:start("wsgi_hello:application",
                        #{bind => "127.0.0.1:" ++ integer_to_list(Port), workers => Workers,
                          pythonpath => ["bench"]}),
    io:format("ready~n"),
    receive stop -> ok end.
