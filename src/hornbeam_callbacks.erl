%% @doc Erlang functions Python calls by name: `hornbeam:register_function/2,3'
%% stores them (in the `py_callbacks' registry that `erlang.call' also uses), and
%% Python's `hornbeam_erlang.call(name, *args)' runs one and waits for its result,
%% while `cast' runs it in a process of its own and returns at once.
%%
%% A function gets the Python arguments as one list: `Fun(Args)', or
%% `Module:Function(Args)' for one registered by module and name.
-module(hornbeam_callbacks).

-export([register_function/2, register_function/3, unregister_function/1,
         cast_from_python/2]).

-spec register_function(py_callbacks:name(), fun(([term()]) -> term())) -> ok | {error, term()}.
register_function(Name, Fun) when is_function(Fun, 1) ->
    py_callbacks:register(Name, Fun);
register_function(_Name, Other) ->
    {error, {badarg, Other}}.

-spec register_function(py_callbacks:name(), module(), atom()) -> ok | {error, term()}.
register_function(Name, Module, Function) when is_atom(Module), is_atom(Function) ->
    py_callbacks:register(Name, {Module, Function});
register_function(_Name, Module, Function) ->
    {error, {badarg, {Module, Function}}}.

-spec unregister_function(py_callbacks:name()) -> ok.
unregister_function(Name) ->
    py_callbacks:unregister(Name).

%% @doc `hornbeam_erlang.cast': an unknown name fails at once; a known one runs in a
%% new process, and what it returns or raises is dropped.
-spec cast_from_python(binary(), [term()]) -> {ok, ok} | {error, atom(), binary()}.
cast_from_python(Name, Args) ->
    case py_callbacks:is_registered(Name) of
        true ->
            spawn(fun() -> py_callbacks:invoke(Name, Args) end),
            {ok, ok};
        false ->
            {error, unknown_function,
             unicode:characters_to_binary(io_lib:format("no Erlang function is registered as ~p", [Name]))}
    end.
