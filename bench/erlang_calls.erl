%% Round trips from Python to Erlang (hornbeam_erlang) per second: from one WSGI
%% worker interpreter, then from every worker at once, for state_get, state_incr and a
%% registered function. Run by bench/run.sh; prints calls/s and microseconds per call.
-module(erlang_calls).
-export([main/0]).

-define(CALLS, 50000).

main() ->
    {ok, _} = application:ensure_all_started(hornbeam),
    {ok, _} = application:ensure_all_started(inets),
    ok = hornbeam:register_function(bench_echo, fun([X]) -> X end),
    hornbeam_state:set(<<"bench-key">>, #{<<"a">> => [1, 2, 3]}),
    Workers = erlang:system_info(schedulers_online),
    ok = hornbeam:start("erlang_calls_app:application",
                        #{name => bench, bind => "127.0.0.1:0", workers => Workers,
                          pythonpath => ["bench"]}),
    #{port := Port} = hornbeam:info(bench),
    io:format("~-12s ~22s ~26s~n", ["call", "1 interpreter", io_lib:format("~b at once", [Workers])]),
    [begin
         run(Port, Fn, 1),  % warm up
         One = run(Port, Fn, 1),
         All = run(Port, Fn, Workers),
         io:format("~-12s ~10b/s ~6.2f us ~12b/s ~6.2f us~n",
                   [Fn, round(One), 1.0e6 / One, round(All), Workers * 1.0e6 / All])
     end || Fn <- ["state_get", "state_incr", "call"]],
    hornbeam:stop(bench).

%% Calls per second over Parallel interpreters, each making ?CALLS calls.
run(Port, Fn, Parallel) ->
    Url = io_lib:format("http://127.0.0.1:~b/run?fn=~s&n=~b", [Port, Fn, ?CALLS]),
    Self = self(),
    Started = erlang:monotonic_time(microsecond),
    [spawn_link(fun() ->
         {ok, {{_, 200, _}, _, _}} = httpc:request(lists:flatten(Url)),
         Self ! done
     end) || _ <- lists:seq(1, Parallel)],
    [receive done -> ok end || _ <- lists:seq(1, Parallel)],
    Seconds = (erlang:monotonic_time(microsecond) - Started) / 1.0e6,
    Parallel * ?CALLS / Seconds.
