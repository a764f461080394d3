%% @doc Every call Python makes into Erlang by name (`erlang.call(Name, *Args)', and
%% the `hornbeam_erlang' functions built on it) arrives here, from whichever process
%% serves the calling thread: a `py_context', a `py_reactor_context' or a
%% `hornbeam_agent'. Names starting with "hornbeam." are the built-in functions of
%% `hornbeam_python_api'; every other name is looked up among the functions registered
%% with `hornbeam:register_function/2,3' (`py_callbacks').
-module(py_calls).

-export([invoke/2, serve_interpreter_message/2]).

%% @doc Runs the function Python called: `{ok, Result}', or
%% `{error, unknown_function | exception, Message}', which Python raises.
-spec invoke(binary(), [term()]) -> {ok, term()} | {error, atom(), binary()}.
invoke(<<"hornbeam.", Builtin/binary>>, Args) ->
    hornbeam_python_api:invoke(Builtin, Args);
invoke(Name, Args) ->
    py_callbacks:invoke(Name, Args).

%% @doc Serves what an interpreter's thread sends the process owning it (a
%% `py_context' or `py_reactor_context'): `{py_callback, Id, Name, Args}' runs the
%% function in a process of its own, so a slow or crashing one never blocks the owner,
%% and answers with `Reply(Id, Result)'; `{py_send, Pid, Message}' forwards to a
%% remote pid. Anything else is unexpected: the first such message is logged.
-spec serve_interpreter_message(term(), fun((non_neg_integer(), term()) -> term())) -> ok.
serve_interpreter_message({py_callback, Id, Name, Args}, Reply) ->
    _ = spawn(fun() -> Reply(Id, invoke(Name, Args)) end),
    ok;
serve_interpreter_message({py_send, Pid, Message}, _Reply) ->
    Pid ! Message,
    ok;
serve_interpreter_message(Other, _Reply) ->
    hornbeam_unexpected:message(?MODULE, Other).
