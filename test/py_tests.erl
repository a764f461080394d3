%% Argument checking in py and py_context that happens before any Python runs.
-module(py_tests).

-include_lib("eunit/include/eunit.hrl").

bad_names_test() ->
    ?assertEqual({error, {badarg, module}}, py:call(42, f, [])),
    ?assertEqual({error, {badarg, module}}, py:call(<<>>, f, [])),
    ?assertEqual({error, {badarg, function}}, py:call(m, {f}, [])).

bad_args_test() ->
    ?assertEqual({error, {badarg, args}}, py:call(m, f, not_a_list)),
    ?assertEqual({error, {badarg, {kwargs, [a]}}}, py:call(m, f, [], [a])),
    ?assertEqual({error, {badarg, {opts, x}}}, py:call(default, m, f, [], x)),
    ?assertEqual({error, {badarg, {timeout, soon}}}, py:call(default, m, f, [], #{timeout => soon})),
    ?assertEqual({error, {badarg, {locals, [x]}}}, py:eval(<<"x">>, [x])),
    ?assertEqual({error, {badarg, code}}, py:exec(#{})).

no_context_when_not_started_test() ->
    ?assertEqual({error, no_context}, py:call(math, sqrt, [2.0])),
    ?assertEqual({error, {badarg, {context, not_a_pid}}}, py:call(not_a_pid, math, sqrt, [2.0], #{})).

dup_fd_badarg_test() ->
    ?assertEqual({error, {badarg, nope}}, py:dup_fd(nope)).

context_option_validation_test_() ->
    [?_assertEqual({error, {invalid_option, mode, threads}}, py_context:start(#{mode => threads})),
     ?_assertEqual({error, {invalid_option, pythonpath, "/a"}}, py_context:start(#{pythonpath => "/a"})),
     ?_assertEqual({error, {invalid_option, slot, 0}}, py_context:start(#{slot => 0})),
     ?_assertEqual({error, {invalid_option, spin_us, -1}}, py_context:start(#{spin_us => -1})),
     ?_assertEqual({error, {invalid_option, options, [mode]}}, py_context:start([mode]))].
