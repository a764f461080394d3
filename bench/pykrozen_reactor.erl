%% Serves bench/pykrozen_app.py on a reactor for bench/pykrozen.sh:
%% `pykrozen_reactor:main(Port)`.
-module(pykrozen_reactor).
-export([main/1]).

main(Port) ->
    logger:set_primary_config(level, warning),
    {ok, _} = application:ensure_all_started(hornbeam),
    {ok, _} = py_reactor_context:start_link(pykrozen, subinterp, #{pythonpath => ["bench"],
        setup_code => <<"import pykrozen.reactor, pykrozen_app; pykrozen.reactor.serve(pykrozen_app.app)">>}),
    {ok, _} = py_reactor_listener:start_link(#{context => pykrozen, port => Port}),
    io:format("ready~n"),
    receive stop -> ok end.
