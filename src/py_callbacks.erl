%% @doc Erlang functions Python may call: `erlang.call("name", *args)' in Python runs
%% the function registered under `name' with the argument list.
-module(py_callbacks).
-behaviour(gen_server).

-include("py.hrl").

-export([start_link/0, register/2, unregister/1, invoke/2, serve_interpreter_message/2,
         is_registered/1]).
-export_type([name/0]).
-export([init/1, handle_call/3, handle_cast/2, handle_info/2]).

-type name() :: atom() | binary() | string().
-type callback() :: fun(([term()]) -> term()) | {module(), atom()}.

start_link() ->
    gen_server:start_link({local, ?MODULE}, ?MODULE, [], []).

%% @doc Names starting with "hornbeam." are the built-in functions of
%% `hornbeam_python_api': registering one is `{error, {reserved_name, Name}}'.
-spec register(name(), callback()) -> ok | {error, {badarg | reserved_name, term()}}.
register(Name, Fun) when is_function(Fun, 1) -> store(Name, Fun);
register(Name, {M, F} = MF) when is_atom(M), is_atom(F) -> store(Name, MF);
register(_Name, Other) -> {error, {badarg, Other}}.

-spec unregister(name()) -> ok.
unregister(Name) ->
    case key(Name) of
        {ok, Key} -> ets:delete(?PY_FUNCTIONS, Key), ok;
        error -> ok
    end.

%% @doc Runs a registered function for Python: `{ok, Result}', or
%% `{error, unknown_function | exception, Message}' which Python raises.
-spec invoke(binary(), [term()]) -> {ok, term()} | {error, atom(), binary()}.
invoke(<<"hornbeam.", Builtin/binary>>, Args) ->
    hornbeam_python_api:invoke(Builtin, Args);
invoke(Name, Args) ->
    case ets:lookup(?PY_FUNCTIONS, Name) of
        [{_, Callback}] ->
            try {ok, apply_callback(Callback, Args)}
            catch Class:Reason:Stack ->
                {error, exception, format("~p:~p in ~p", [Class, Reason, first_frame(Stack)])}
            end;
        [] ->
            {error, unknown_function, format("no Erlang function is registered as ~p", [Name])}
    end.

-spec is_registered(binary()) -> boolean().
is_registered(Name) ->
    ets:member(?PY_FUNCTIONS, Name).

%% @doc Serves what an interpreter's thread sends the process owning it (a
%% `py_context' or `py_reactor_context'): `{py_callback, Id, Name, Args}' runs the
%% function in a process of its own, so a slow or crashing one never blocks the owner,
%% and answers with `Reply(Id, Result)'; `{py_send, Pid, Message}' forwards to a
%% remote pid. Anything else is ignored.
-spec serve_interpreter_message(term(), fun((non_neg_integer(), term()) -> term())) -> ok.
serve_interpreter_message({py_callback, Id, Name, Args}, Reply) ->
    spawn(fun() -> Reply(Id, invoke(Name, Args)) end),
    ok;
serve_interpreter_message({py_send, Pid, Message}, _Reply) ->
    Pid ! Message,
    ok;
serve_interpreter_message(_Other, _Reply) ->
    ok.

apply_callback(Fun, Args) when is_function(Fun, 1) -> Fun(Args);
apply_callback({M, F}, Args) -> M:F(Args).

first_frame([Frame | _]) -> Frame;
first_frame([]) -> unknown.

store(Name, Callback) ->
    case key(Name) of
        {ok, <<"hornbeam.", _/binary>>} -> {error, {reserved_name, Name}};
        {ok, Key} -> ets:insert(?PY_FUNCTIONS, {Key, Callback}), ok;
        error -> {error, {badarg, Name}}
    end.

key(Name) when is_atom(Name) -> {ok, atom_to_binary(Name, utf8)};
key(Name) when is_binary(Name) -> {ok, Name};
key(Name) when is_list(Name) ->
    case unicode:characters_to_binary(Name) of
        Bin when is_binary(Bin) -> {ok, Bin};
        _ -> error
    end;
key(_) -> error.

format(Fmt, Args) ->
    unicode:characters_to_binary(io_lib:format(Fmt, Args)).

init([]) ->
    ?PY_FUNCTIONS = ets:new(?PY_FUNCTIONS, [named_table, set, public, {read_concurrency, true}]),
    {ok, #{}}.

handle_call(_Request, _From, State) -> {reply, {error, unknown_call}, State}.
handle_cast(_Msg, State) -> {noreply, State}.
handle_info(_Info, State) -> {noreply, State}.
