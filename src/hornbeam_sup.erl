%% @doc Top supervisor: the context registry and the function table outlive any
%% context, so they start first; the context pool last.
-module(hornbeam_sup).
-behaviour(supervisor).

-export([start_link/0, init/1]).

start_link() ->
    supervisor:start_link({local, ?MODULE}, ?MODULE, []).

init([]) ->
    Children = [worker(py_registry), worker(py_callbacks),
                #{id => py_context_sup,
                  start => {py_context_sup, start_link, []},
                  type => supervisor}],
    {ok, {#{strategy => rest_for_one, intensity => 5, period => 10}, Children}}.

worker(Module) ->
    #{id => Module, start => {Module, start_link, []}}.
