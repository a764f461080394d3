%% @doc Top supervisor: the context registry, the function table, the shared state,
%% the inference cache and the pub/sub scope outlive any context, so they start first; then the context pool and the default reactor
%% context (`py_reactor_context:handoff/2' uses it), and the HTTP servers.
-module(hornbeam_sup).
-behaviour(supervisor).

-export([start_link/0, init/1]).

-spec start_link() -> {ok, pid()} | {error, term()}.
start_link() ->
    supervisor:start_link({local, ?MODULE}, ?MODULE, []).

init([]) ->
    Children = [worker(py_registry), worker(py_callbacks),
                worker(hornbeam_state), worker(hornbeam_cache), worker(hornbeam_pubsub),
                #{id => py_context_sup,
                  start => {py_context_sup, start_link, []},
                  type => supervisor},
                #{id => py_reactor_default,
                  start => {py_reactor_context, start_link, [default, reactor_mode(), reactor_opts()]},
                  shutdown => 15000},
                #{id => hornbeam_server_sup,
                  start => {hornbeam_server_sup, start_link, []},
                  type => supervisor,
                  shutdown => infinity}],
    {ok, {#{strategy => rest_for_one, intensity => 5, period => 10}, Children}}.

worker(Module) ->
    #{id => Module, start => {Module, start_link, []}}.

reactor_mode() ->
    application:get_env(hornbeam, reactor_mode, subinterp).

reactor_opts() ->
    maps:from_list([{K, V} || {Env, K} <- [{reactor_max_connections, max_connections},
                                          {reactor_setup_code, setup_code}],
                              {ok, V} <- [application:get_env(hornbeam, Env)]]).
