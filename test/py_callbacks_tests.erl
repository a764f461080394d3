%% The function registry and the routing of Python's calls, on their own (no
%% interpreter needed).
-module(py_callbacks_tests).

-include_lib("eunit/include/eunit.hrl").

registry_test_() ->
    {setup,
     fun() -> {ok, Pid} = py_callbacks:start_link(), unlink(Pid), Pid end,
     fun(Pid) -> exit(Pid, shutdown) end,
     [fun invoke_registered_fun/0,
      fun invoke_module_function/0,
      fun names_as_atom_binary_or_string/0,
      fun exceptions_become_error_tuples/0,
      fun unknown_names_say_so/0,
      fun bad_registrations_are_refused/0,
      fun casts_run_registered_functions_only/0,
      fun py_calls_routes_builtins_and_registered_names/0]}.

invoke_registered_fun() ->
    ok = py_callbacks:register(sum, fun lists:sum/1),
    ?assertEqual({ok, 6}, py_callbacks:invoke(<<"sum">>, [1, 2, 3])).

invoke_module_function() ->
    ok = py_callbacks:register(<<"len">>, {erlang, length}),
    ?assertEqual({ok, 2}, py_callbacks:invoke(<<"len">>, [a, b])).

names_as_atom_binary_or_string() ->
    ok = py_callbacks:register("stringy", fun(_) -> s end),
    ?assertEqual({ok, s}, py_callbacks:invoke(<<"stringy">>, [])),
    ok = py_callbacks:unregister(stringy),
    ?assertMatch({error, unknown_function, _}, py_callbacks:invoke(<<"stringy">>, [])).

exceptions_become_error_tuples() ->
    ok = py_callbacks:register(boom, fun(_) -> erlang:error(kaboom) end),
    ok = py_callbacks:register(thrower, fun(_) -> throw(ball) end),
    {error, exception, Msg} = py_callbacks:invoke(<<"boom">>, []),
    ?assertMatch({match, _}, re:run(Msg, <<"error:kaboom">>)),
    {error, exception, Msg2} = py_callbacks:invoke(<<"thrower">>, []),
    ?assertMatch({match, _}, re:run(Msg2, <<"throw:ball">>)).

unknown_names_say_so() ->
    {error, unknown_function, Msg} = py_callbacks:invoke(<<"never_registered">>, []),
    ?assertMatch({match, _}, re:run(Msg, <<"never_registered">>)).

bad_registrations_are_refused() ->
    ?assertEqual({error, {badarg, not_a_fun}}, py_callbacks:register(x, not_a_fun)),
    ?assertEqual({error, {badarg, {1, 2}}}, py_callbacks:register(x, {1, 2})),
    ?assertEqual({error, {badarg, 42}}, py_callbacks:register(42, fun(_) -> ok end)).

casts_run_registered_functions_only() ->
    Self = self(),
    ok = py_callbacks:register(ping_me, fun([Tag]) -> Self ! {pinged, Tag} end),
    ?assertEqual({ok, ok}, py_callbacks:cast(<<"ping_me">>, [t1])),
    receive {pinged, t1} -> ok end,
    ?assertMatch({error, unknown_function, _}, py_callbacks:cast(<<"nobody">>, [])).

%% "hornbeam." names reach the built-in API (and cannot be registered); others the
%% registry.
py_calls_routes_builtins_and_registered_names() ->
    ?assertEqual({ok, atom_to_binary(node())}, py_calls:invoke(<<"hornbeam.node">>, [])),
    ?assertEqual({error, {reserved_name, <<"hornbeam.node">>}},
                 py_callbacks:register(<<"hornbeam.node">>, fun(_) -> fake end)),
    ok = py_callbacks:register(double, fun([X]) -> 2 * X end),
    ?assertEqual({ok, 42}, py_calls:invoke(<<"double">>, [21])),
    ?assertMatch({error, unknown_function, _}, py_calls:invoke(<<"node">>, [])).

