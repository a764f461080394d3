%% @doc Runs `erlang.call' (and so every `hornbeam_erlang' function) for the Python
%% threads of one HTTP server (native/hornbeam_nif/src/agent.rs). The thread waits,
%% GIL released, for the answer, so the function runs here, inline: no process per
%% call. Each server starts one agent per worker; an agent ends with its server.
-module(hornbeam_agent).

-export([start/1]).
-export([init/1]).

-spec start(pid()) -> pid().
start(Server) ->
    proc_lib:spawn(?MODULE, init, [Server]).

init(Server) ->
    loop(monitor(process, Server)).

loop(Server) ->
    receive
        {py_call, Slot, Name, Args} ->
            py_nif:agent_reply(Slot, py_callbacks:invoke(Name, Args)),
            loop(Server);
        {py_send, Pid, Message} ->
            Pid ! Message,
            loop(Server);
        {'DOWN', Server, process, _, _} ->
            ok;
        _Other ->
            loop(Server)
    end.
