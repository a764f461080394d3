%% @doc The application's pool of contexts, one per slot, `num_contexts` of them.
%% A context that crashes is restarted alone, with a fresh interpreter.
-module(py_context_sup).
-behaviour(supervisor).

-export([start_link/0, init/1, num_contexts/0]).

-spec start_link() -> {ok, pid()} | {error, term()}.
start_link() ->
    supervisor:start_link({local, ?MODULE}, ?MODULE, []).

%% @doc The configured pool size (`auto` = schedulers online).
-spec num_contexts() -> pos_integer().
num_contexts() ->
    case application:get_env(hornbeam, num_contexts, auto) of
        auto -> erlang:system_info(schedulers_online);
        N when is_integer(N), N > 0 -> N;
        Other -> erlang:error({invalid_option, num_contexts, Other})
    end.

init([]) ->
    N = num_contexts(),
    persistent_term:put({py_registry, slots}, N),
    Children = [#{id => {py_context, Slot},
                  start => {py_context, start_link, [#{slot => Slot}]}}
                || Slot <- lists:seq(1, N)],
    {ok, {#{strategy => one_for_one, intensity => 10, period => 10}, Children}}.
