%% py:call round trips and sub-interpreter parallelism (issue 2's benchmark).
%% Not a test: prints numbers. Run with `make bench` (bench/run.sh).
-module(py_call_bench).

-export([main/0]).

-define(CALLS, 20000).

main() ->
    {ok, _} = application:ensure_all_started(hornbeam),
    Info = py_nif:python_info(),
    io:format("Python ~s, ~b schedulers, ~b cores~n",
              [maps:get(version, Info), erlang:system_info(schedulers_online),
               erlang:system_info(logical_processors_available)]),
    [round_trips(Mode) || Mode <- [subinterp, main]],
    parallel_speedup(),
    ok.

round_trips(Mode) ->
    N = erlang:system_info(schedulers_online),
    Ctxs = [begin {ok, C} = py_context:start(#{mode => Mode}), C end || _ <- lists:seq(1, N)],
    [C1 | _] = Ctxs,
    warm(C1),
    {T1, ok} = timer:tc(fun() -> loop(C1, ?CALLS) end),
    PerCall = T1 / ?CALLS,
    io:format("~-9s one context : ~7.2f us/call  ~9.1f calls/s~n", [Mode, PerCall, 1.0e6 / PerCall]),
    %% Every context at once, one caller process per context.
    Parent = self(),
    {TAll, _} = timer:tc(fun() ->
        Pids = [spawn_link(fun() -> warm(C), loop(C, ?CALLS), Parent ! {done, self()} end) || C <- Ctxs],
        [receive {done, P} -> ok end || P <- Pids]
    end),
    Total = N * ?CALLS,
    io:format("~-9s ~b contexts  : ~7.2f us/call  ~9.1f calls/s (aggregate)~n",
              [Mode, N, TAll / Total, Total * 1.0e6 / TAll]),
    [py_context:stop(C) || C <- Ctxs].

warm(Ctx) ->
    [{ok, _} = py:call(Ctx, math, sqrt, [2.0], #{}) || _ <- lists:seq(1, 1000)].

loop(_Ctx, 0) -> ok;
loop(Ctx, K) ->
    {ok, _} = py:call(Ctx, math, sqrt, [2.0], #{}),
    loop(Ctx, K - 1).

%% A CPU-bound pure-Python loop on 1 and then 2 sub-interpreters at once.
parallel_speedup() ->
    Code = <<"def burn(n):\n    t = 0\n    for i in range(n):\n        t += i * i\n    return t\n">>,
    Work = 3000000,
    Ctxs = [begin {ok, C} = py_context:start(#{mode => subinterp}), ok = py:exec(C, Code), C end
            || _ <- [1, 2]],
    [A, _] = Ctxs,
    {T1, _} = timer:tc(fun() -> {ok, _} = py:eval(A, <<"burn(n)">>, #{n => Work}) end),
    Parent = self(),
    {T2, _} = timer:tc(fun() ->
        Pids = [spawn_link(fun() -> {ok, _} = py:eval(C, <<"burn(n)">>, #{n => Work}), Parent ! {done, self()} end)
                || C <- Ctxs],
        [receive {done, P} -> ok end || P <- Pids]
    end),
    io:format("cpu loop: 1 interpreter ~.1f ms; 2 interpreters (2x the work) ~.1f ms; speed-up ~.2fx~n",
              [T1 / 1000, T2 / 1000, 2 * T1 / T2]),
    [py_context:stop(C) || C <- Ctxs].
