-module(hornbeam_app).
-behaviour(application).

-export([start/2, stop/1]).

start(_Type, _Args) ->
    hornbeam_sup:start_link().

stop(_State) ->
    ok.
