#!/usr/bin/env bash
# The memory a recycled interpreter leaves behind: serves RECYCLES requests with
# max_requests => 1 (every request starts a fresh interpreter) and prints the VM's RSS
# growth per recycle, after a warm-up of 50. Usage: bench/recycle_memory.sh [RECYCLES]
set -euo pipefail
cd "$(dirname "$0")/.."
recycles=${1:-1000}
rebar3 compile >/dev/null
erl -noshell -pa _build/default/lib/*/ebin -eval "
    {ok, _} = application:ensure_all_started(hornbeam),
    {ok, _} = application:ensure_all_started(inets),
    ok = hornbeam:start(\"hostile_wsgi:application\",
                        #{bind => \"127.0.0.1:0\", max_requests => 1, workers => 1,
                          pythonpath => [\"test/hornbeam_hardening_SUITE_data\"]}),
    #{port := Port} = hornbeam:info(),
    Url = \"http://127.0.0.1:\" ++ integer_to_list(Port) ++ \"/token\",
    Get = fun(N) -> [{ok, {{_, 200, _}, _, _}} = httpc:request(Url) || _ <- lists:seq(1, N)] end,
    Rss = fun() ->
              {ok, S} = file:read_file(\"/proc/self/status\"),
              {match, [Kb]} = re:run(S, \"VmRSS:\\\\s+([0-9]+)\", [{capture, all_but_first, list}]),
              list_to_integer(Kb) end,
    Get(50),
    Before = Rss(),
    T0 = erlang:monotonic_time(millisecond),
    Get($recycles),
    Ms = erlang:monotonic_time(millisecond) - T0,
    After = Rss(),
    io:format(\"recycles: ~b in ~b ms (~.1f ms each)~nRSS: ~.1f MB -> ~.1f MB~nper recycle: ~.3f MB~n\",
              [$recycles, Ms, Ms / $recycles, Before / 1024, After / 1024, (After - Before) / 1024 / $recycles]),
    halt()."
