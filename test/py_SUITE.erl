%% The py API against real interpreters: calls, errors, timeouts, concurrency,
%% isolation, restarts, main mode, paths, registered functions, send, fds.
-module(py_SUITE).

-include_lib("common_test/include/ct.hrl").
-include_lib("stdlib/include/assert.hrl").

-compile([export_all, nowarn_export_all]).

all() ->
    [call_math, call_dotted_names, call_with_kwargs, call_name_forms,
     python_exception, unknown_module, bad_arguments,
     timeout_then_success, queued_call_cancelled_by_timeout,
     concurrent_callers, contexts_are_isolated, context_binding,
     crashed_context_restarts_fresh, main_mode_context, invalid_context_options,
     pythonpath_and_venv, eval_and_exec, registered_functions,
     registered_function_calls_back_into_python, nested_callbacks_answered_out_of_order,
     unknown_registered_function,
     erlang_send_and_pids, dup_fd, unconvertible_values, nesting_limit,
     erlang_call_outside_a_context_thread].

init_per_suite(Config) ->
    {ok, _} = application:ensure_all_started(hornbeam),
    Config.

end_per_suite(_Config) ->
    application:stop(hornbeam).

%% A private context whose sys.path has this suite's data dir (helpers.py).
helpers_context(Config) ->
    helpers_context(Config, #{}).

helpers_context(Config, Extra) ->
    {ok, Ctx} = py_context:start(Extra#{pythonpath => [?config(data_dir, Config)]}),
    Ctx.

%%% Calls

call_math(_Config) ->
    ?assertEqual({ok, math:sqrt(2.0)}, py:call(math, sqrt, [2.0])),
    ?assertEqual({ok, 3628800}, py:call(math, factorial, [10])).

call_dotted_names(_Config) ->
    ?assertEqual({ok, <<"a/b">>}, py:call('os.path', join, [<<"a">>, <<"b">>])),
    ?assertEqual({ok, <<"a/b">>}, py:call(os, 'path.join', [<<"a">>, <<"b">>])),
    ?assertEqual({ok, <<"a/b">>}, py:call(<<"os.path">>, <<"join">>, [<<"a">>, <<"b">>])),
    %% A "module" that is really a path to a class: import the prefix, follow the rest.
    ?assertEqual({ok, #{k => none}}, py:call('collections.OrderedDict', fromkeys, [[k]])).

call_with_kwargs(Config) ->
    Ctx = helpers_context(Config),
    ?assertEqual({ok, 30}, py:call(Ctx, helpers, kw, [1], #{kwargs => #{b => 9, scale => 3}})),
    ?assertEqual({ok, <<"{\"a\": 1, \"b\": 2}">>},
                 py:call(json, dumps, [#{b => 2, a => 1}], #{sort_keys => true})),
    py_context:stop(Ctx).

call_name_forms(_Config) ->
    ?assertEqual({ok, 4}, py:call("builtins", "len", [[1, 2, 3, 4]])),
    ?assertEqual({ok, 4}, py:call(builtins, len, [<<"abcd">>])).

%%% Errors

python_exception(Config) ->
    Ctx = helpers_context(Config),
    {error, {python, Type, Message, Traceback}} = py:call(Ctx, helpers, fail_deep, []),
    ?assertEqual('ValueError', Type),
    ?assertEqual(<<"bad value from inner">>, Message),
    %% The traceback names the frames that raised.
    ?assertMatch({match, _}, re:run(Traceback, <<"in inner">>)),
    ?assertMatch({match, _}, re:run(Traceback, <<"helpers.py">>)),
    ?assertMatch({error, {python, 'ZeroDivisionError', <<"division by zero">>, _}},
                 py:eval(<<"1 / 0">>)),
    py_context:stop(Ctx).

unknown_module(_Config) ->
    ?assertMatch({error, {python, 'ModuleNotFoundError', _, _}}, py:call(no_such_module_here, f, [])),
    ?assertMatch({error, {python, 'AttributeError', _, _}}, py:call(math, no_such_function, [])).

bad_arguments(_Config) ->
    ?assertEqual({error, {badarg, module}}, py:call(42, f, [])),
    ?assertEqual({error, {badarg, function}}, py:call(math, <<>>, [])),
    ?assertEqual({error, {badarg, args}}, py:call(math, sqrt, not_a_list)),
    ?assertEqual({error, {badarg, {kwargs, nope}}}, py:call(math, sqrt, [1.0], nope)),
    ?assertEqual({error, {badarg, {timeout, -1}}}, py:call(default, math, sqrt, [1.0], #{timeout => -1})),
    ?assertEqual({error, {badarg, code}}, py:eval(not_code)),
    ?assertEqual({error, no_context}, py:call(spawn(fun() -> ok end), math, sqrt, [1.0])),
    %% An improper argument list never reaches Python.
    ?assertMatch({error, {badarg, _}}, py:call(math, sqrt, [1.0 | 2.0])).

%%% Timeouts

timeout_then_success(Config) ->
    Ctx = helpers_context(Config),
    T0 = erlang:monotonic_time(millisecond),
    ?assertEqual({error, timeout}, py:call(Ctx, helpers, spin, [], #{timeout => 200})),
    ?assert(erlang:monotonic_time(millisecond) - T0 < 2000),
    %% The spinning code was interrupted: the same context answers the next call.
    ?assertEqual({ok, 3}, py:call(Ctx, helpers, add, [1, 2], #{timeout => 5000})),
    ?assertEqual({ok, 7}, py:call(Ctx, helpers, add, [3, 4], #{timeout => 5000})),
    %% No late reply of the interrupted call reaches the caller's mailbox.
    ?assertEqual({messages, []}, process_info(self(), messages)),
    py_context:stop(Ctx).

queued_call_cancelled_by_timeout(Config) ->
    Ctx = helpers_context(Config),
    Parent = self(),
    %% A spinner holds the context; a second call queued behind it times out first.
    spawn_link(fun() ->
                   Parent ! {spinner, py:call(Ctx, helpers, announce_then_spin, [Parent], #{timeout => 1500})}
               end),
    receive spinning -> ok end,
    ?assertEqual({error, timeout}, py:call(Ctx, helpers, add, [1, 1], #{timeout => 100})),
    receive {spinner, R} -> ?assertEqual({error, timeout}, R) end,
    ?assertEqual({ok, 2}, py:call(Ctx, helpers, add, [1, 1], #{timeout => 5000})),
    ?assertEqual({messages, []}, process_info(self(), messages)),
    py_context:stop(Ctx).

%%% Concurrency

concurrent_callers(_Config) ->
    Before = pool_calls(),
    Parent = self(),
    N = 200,
    Pids = [spawn_link(fun() ->
                 Results = [py:call(math, factorial, [I rem 30]) || _ <- lists:seq(1, 10)],
                 Parent ! {done, self(), I, Results}
             end) || I <- lists:seq(1, N)],
    Answers = [receive {done, P, I, Rs} -> {I, Rs} end || P <- Pids],
    lists:foreach(fun({I, Rs}) ->
                      Expected = {ok, factorial(I rem 30)},
                      ?assertEqual(lists:duplicate(10, Expected), Rs)
                  end, Answers),
    %% The work was spread over the pool: every slot ran calls of this test.
    After = pool_calls(),
    Used = [Slot || {Slot, Calls} <- After, Calls > proplists:get_value(Slot, Before)],
    ?assertEqual(py_registry:slots(), length(Used)).

pool_calls() ->
    [{Slot, maps:get(calls, py_context:info(py:context(Slot)))} || Slot <- lists:seq(1, py_registry:slots())].

factorial(0) -> 1;
factorial(N) -> N * factorial(N - 1).

%%% Isolation and lifecycle

contexts_are_isolated(Config) ->
    A = helpers_context(Config),
    B = helpers_context(Config),
    ok = py:exec(A, <<"x = 'in a'\nimport sys\nsys.hornbeam_marker = 1">>),
    ?assertEqual({ok, <<"in a">>}, py:eval(A, <<"x">>)),
    ?assertMatch({error, {python, 'NameError', _, _}}, py:eval(B, <<"x">>)),
    ?assertEqual({ok, false}, py:eval(B, <<"hasattr(__import__('sys'), 'hornbeam_marker')">>)),
    {ok, IdA} = py:call(A, helpers, interpreter_id, []),
    {ok, IdB} = py:call(B, helpers, interpreter_id, []),
    ?assertNotEqual(IdA, IdB),
    ?assertEqual(IdA, maps:get(interp_id, py_context:info(A))),
    py_context:stop(A),
    py_context:stop(B).

context_binding(_Config) ->
    Ctx = py:context(),
    ?assertEqual([Ctx], lists:usort([py:context() || _ <- lists:seq(1, 20)])),
    ?assert(lists:member(Ctx, [py:context(N) || N <- lists:seq(1, py_registry:slots())])),
    %% Many processes spread over more than one context.
    Parent = self(),
    [spawn(fun() -> Parent ! {ctx, py:context()} end) || _ <- lists:seq(1, 50)],
    Seen = lists:usort([receive {ctx, C} -> C end || _ <- lists:seq(1, 50)]),
    ?assert(length(Seen) > 1 orelse py_registry:slots() =:= 1).

crashed_context_restarts_fresh(_Config) ->
    Old = py:context(1),
    Other = py:context(2),
    ok = py:exec(Old, <<"survivor = 'old'">>),
    ok = py:exec(Other, <<"survivor = 'other'">>),
    OldId = maps:get(interp_id, py_context:info(Old)),
    Mon = monitor(process, Old),
    exit(Old, kill),
    receive {'DOWN', Mon, process, Old, killed} -> ok end,
    New = wait_until(fun() -> case py_registry:lookup_slot(1) of
                                  {ok, P, _} when P =/= Old -> {true, P};
                                  _ -> false
                              end end),
    ?assertNotEqual(OldId, maps:get(interp_id, py_context:info(New))),
    ?assertMatch({error, {python, 'NameError', _, _}}, py:eval(New, <<"survivor">>)),
    ?assertEqual({ok, <<"other">>}, py:eval(Other, <<"survivor">>)),
    ?assertEqual(Other, py:context(2)).

main_mode_context(Config) ->
    Ctx = helpers_context(Config, #{mode => main}),
    ?assertEqual(main, maps:get(mode, py_context:info(Ctx))),
    ?assertEqual({ok, 0}, py:call(Ctx, helpers, interpreter_id, [])),
    ?assertEqual({ok, 5}, py:call(Ctx, helpers, add, [2, 3])),
    ?assertEqual({error, timeout}, py:call(Ctx, helpers, spin, [], #{timeout => 200})),
    ?assertEqual({ok, 2.0}, py:call(Ctx, math, sqrt, [4.0], #{timeout => 5000})),
    py_context:stop(Ctx).

invalid_context_options(_Config) ->
    ?assertEqual({error, {invalid_option, mode, bogus}}, py_context:start(#{mode => bogus})),
    ?assertEqual({error, {invalid_option, pythonpath, [42]}}, py_context:start(#{pythonpath => [42]})),
    ?assertEqual({error, {invalid_option, venv, "/no/such/venv"}}, py_context:start(#{venv => "/no/such/venv"})),
    ?assertEqual({error, {invalid_option, colour, blue}}, py_context:start(#{colour => blue})).

pythonpath_and_venv(Config) ->
    Priv = ?config(priv_dir, Config),
    Site = filename:join([Priv, "venv", "lib", "python3.x", "site-packages"]),
    Extra = filename:join(Priv, "pth_target"),
    ok = filelib:ensure_dir(filename:join(Site, "x")),
    ok = filelib:ensure_dir(filename:join(Extra, "x")),
    ok = file:write_file(filename:join(Site, "venv_module.py"), <<"WHERE = 'venv'\n">>),
    %% A .pth file is honoured: site.addsitedir processed the directory.
    ok = file:write_file(filename:join(Site, "extra.pth"), [Extra, "\n"]),
    ok = file:write_file(filename:join(Extra, "pth_module.py"), <<"WHERE = 'pth'\n">>),
    {ok, Ctx} = py_context:start(#{pythonpath => [?config(data_dir, Config)],
                                   venv => filename:join(Priv, "venv")}),
    ?assertEqual({ok, <<"venv">>}, py:eval(Ctx, <<"__import__('venv_module').WHERE">>)),
    ?assertEqual({ok, <<"pth">>}, py:eval(Ctx, <<"__import__('pth_module').WHERE">>)),
    ?assertEqual({ok, 3}, py:call(Ctx, helpers, add, [1, 2])),
    %% Other contexts did not get these paths.
    ?assertMatch({error, {python, 'ModuleNotFoundError', _, _}}, py:eval(<<"__import__('venv_module')">>)),
    py_context:stop(Ctx).

eval_and_exec(_Config) ->
    Ctx = py:context(),
    ?assertEqual({ok, 3}, py:eval(<<"x + y">>, #{x => 1, y => 2})),
    ?assertEqual(ok, py:exec(Ctx, "def double(v):\n    return v * 2\n")),
    ?assertEqual({ok, 42}, py:eval(Ctx, <<"double(21)">>)),
    ?assertEqual({ok, 42}, py:eval(Ctx, "double(n)", #{n => 21})),
    ?assertMatch({error, {python, 'SyntaxError', _, _}}, py:exec(Ctx, <<"def (">>)).

%%% Python -> Erlang

registered_functions(Config) ->
    Ctx = helpers_context(Config),
    ok = py:register_function(add_up, fun(Args) -> lists:sum(Args) end),
    ok = py:register_function(<<"explode">>, fun(_) -> erlang:error(kaboom) end),
    ok = py:register_function(mf_len, {erlang, length}),
    ?assertEqual({ok, 6}, py:call(Ctx, helpers, call_erlang, [<<"add_up">>, 1, 2, 3])),
    ?assertEqual({ok, 2}, py:call(Ctx, helpers, call_erlang, [<<"mf_len">>, a, b])),
    {ok, {<<"ErlangError">>, Message}} = py:call(Ctx, helpers, catch_erlang, [<<"explode">>]),
    ?assertMatch({match, _}, re:run(Message, <<"kaboom">>)),
    %% Uncaught, it is a Python exception like any other.
    ?assertMatch({error, {python, 'ErlangError', _, _}}, py:call(Ctx, helpers, call_erlang, [<<"explode">>])),
    ok = py:unregister_function(add_up),
    ?assertMatch({error, {python, 'UnknownFunctionError', _, _}},
                 py:call(Ctx, helpers, call_erlang, [<<"add_up">>, 1])),
    py_context:stop(Ctx).

registered_function_calls_back_into_python(Config) ->
    Ctx = helpers_context(Config),
    %% The fun calls the very context that is waiting for it: no deadlock.
    ok = py:register_function(reenter, fun([A, B]) ->
                                           {ok, Sum} = py:call(Ctx, helpers, add, [A, B], #{timeout => 5000}),
                                           Sum * 10
                                       end),
    ?assertEqual({ok, 70}, py:call(Ctx, helpers, call_erlang, [<<"reenter">>, 3, 4], #{timeout => 5000})),
    py_context:stop(Ctx).

%% Job A waits in erlang.call('outer'); the outer fun starts job B on the same context,
%% which waits in erlang.call('inner'). Outer's reply arrives while B is waiting: it
%% must be kept for A, not dropped (A would then wait forever).
nested_callbacks_answered_out_of_order(Config) ->
    Ctx = helpers_context(Config),
    Test = self(),
    ok = py:register_function(inner, fun(_) ->
                                          Test ! {inner_started, self()},
                                          receive release -> inner_done end
                                      end),
    ok = py:register_function(outer, fun(_) ->
                                          spawn(fun() ->
                                              Test ! {b, py:call(Ctx, helpers, call_erlang, [<<"inner">>], #{timeout => 10000})}
                                          end),
                                          Test ! {outer_waiting, self()},
                                          receive go -> outer_done end
                                      end),
    spawn_link(fun() -> Test ! {a, py:call(Ctx, helpers, call_erlang, [<<"outer">>], #{timeout => 10000})} end),
    Outer = receive {outer_waiting, O} -> O end,
    Inner = receive {inner_started, I} -> I end,
    %% The outer fun's process replies to the NIF, then exits: once it is down, the
    %% reply is queued while B still waits for 'inner'.
    Mon = monitor(process, Outer),
    Outer ! go,
    receive {'DOWN', Mon, process, Outer, _} -> ok end,
    Inner ! release,
    ?assertEqual({ok, inner_done}, receive {b, RB} -> RB end),
    ?assertEqual({ok, outer_done}, receive {a, RA} -> RA end),
    py_context:stop(Ctx).

unknown_registered_function(Config) ->
    Ctx = helpers_context(Config),
    {ok, {<<"UnknownFunctionError">>, Message}} = py:call(Ctx, helpers, catch_erlang, [<<"nobody_registered_this">>]),
    ?assertMatch({match, _}, re:run(Message, <<"nobody_registered_this">>)),
    py_context:stop(Ctx).

erlang_send_and_pids(Config) ->
    Ctx = helpers_context(Config),
    Self = self(),
    Ref = make_ref(),
    ?assertEqual({ok, Self}, py:call(Ctx, helpers, identity, [Self])),
    ?assertEqual({ok, Ref}, py:call(Ctx, helpers, identity, [Ref])),
    ?assertEqual({ok, sent}, py:call(Ctx, helpers, send, [Self, {hello, Ref, <<"text">>}])),
    receive {hello, Ref, <<"text">>} -> ok after 5000 -> ct:fail(no_message) end,
    ?assertEqual({ok, [<<"Pid">>, <<"Ref">>, <<"Atom">>]}, py:call(Ctx, helpers, types_of, [Self, Ref, an_atom])),
    py_context:stop(Ctx).

erlang_call_outside_a_context_thread(Config) ->
    Ctx = helpers_context(Config),
    Code = <<"import threading, erlang\n"
             "out = []\n"
             "def worker():\n"
             "    try:\n"
             "        erlang.call('anything')\n"
             "    except RuntimeError as exc:\n"
             "        out.append(str(exc))\n"
             "t = threading.Thread(target=worker)\n"
             "t.start(); t.join()\n">>,
    ok = py:exec(Ctx, Code),
    {ok, [Msg]} = py:eval(Ctx, <<"out">>),
    ?assertMatch({match, _}, re:run(Msg, <<"only on a Hornbeam context's or reactor's thread">>)),
    py_context:stop(Ctx).

%%% File descriptors

dup_fd(_Config) ->
    {ok, Listen} = gen_tcp:listen(0, [binary, {ip, {127, 0, 0, 1}}]),
    {ok, Fd} = inet:getfd(Listen),
    {ok, Dup} = py:dup_fd(Listen),
    ?assertNotEqual(Fd, Dup),
    {ok, Port} = inet:port(Listen),
    gen_tcp:close(Listen),
    %% The duplicate outlives Erlang's socket: Python sees the same listening socket.
    Code = iolist_to_binary(io_lib:format(
             "__import__('socket').socket(fileno=~b).getsockname()[1]", [Dup])),
    ?assertEqual({ok, Port}, py:eval(Code)),
    ?assertEqual({error, ebadf}, py:dup_fd(1000000)),
    ?assertEqual({error, {badarg, -1}}, py:dup_fd(-1)).

%%% Conversion limits

unconvertible_values(Config) ->
    Ctx = helpers_context(Config),
    ?assertEqual({error, {unconvertible, <<"set">>}}, py:call(Ctx, helpers, unconvertible, [])),
    ?assertEqual({error, {badarg, {unconvertible, <<"fun">>}}}, py:call(Ctx, helpers, identity, [fun() -> ok end])),
    ?assertEqual({error, {badarg, {unconvertible, <<"port">>}}}, py:call(Ctx, helpers, identity, [hd(erlang:ports())])),
    py_context:stop(Ctx).

nesting_limit(Config) ->
    Ctx = helpers_context(Config),
    Deep = lists:foldl(fun(_, Acc) -> [Acc] end, [], lists:seq(1, 1000)),
    ?assertEqual({error, {badarg, {nesting_too_deep, 512}}}, py:call(Ctx, helpers, identity, [Deep])),
    ?assertEqual({error, {nesting_too_deep, 512}}, py:call(Ctx, helpers, cyclic, [])),
    Shallow = lists:foldl(fun(_, Acc) -> [Acc] end, [], lists:seq(1, 100)),
    ?assertEqual({ok, Shallow}, py:call(Ctx, helpers, identity, [Shallow])),
    py_context:stop(Ctx).

%%% Helpers

%% Polls a condition (no fixed sleep): returns its value once it holds, fails after 10 s.
wait_until(Fun) ->
    wait_until(Fun, erlang:monotonic_time(millisecond) + 10000).

wait_until(Fun, Deadline) ->
    case Fun() of
        {true, Value} -> Value;
        false ->
            erlang:monotonic_time(millisecond) < Deadline orelse ct:fail(condition_never_held),
            receive after 10 -> wait_until(Fun, Deadline) end
    end.
