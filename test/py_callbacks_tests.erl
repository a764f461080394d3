%% The function registry on its own (no interpreter needed).
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
      fun bad_registrations_are_refused/0]}.

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
