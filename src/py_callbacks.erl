%% @doc The registry of Erlang functions Python may call: `erlang.call("name", *args)'
%% in Python runs the function registered under `name' with the argument list (through
%% `py_calls', which also serves the built-in "hornbeam." names). Register with
%% `hornbeam:register_function/2,3' (or `py:register_function/2', the same thing).
-module(py_callbacks).
-behaviour(gen_server).

-include("py.hrl").

-export([start_link/0, register/2, unregister/1, invoke/2, cast/2]).
-export_type([name/0]).
-export([init/1, handle_call/3, handle_cast/2, handle_info/2]).

-type name() :: atom() | binary() | string().
-type callback() :: fun(([term()]) -> term()) | {module(), atom()}.

-spec start_link() -> {ok, pid()} | {error, term()}.
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
invoke(Name, Args) ->
    case ets:lookup(?PY_FUNCTIONS, Name) of
        [{_, Callback}] ->
            try {ok, apply_callback(Callback, Args)}
            catch Class:Reason:Stack ->
                {error, exception, format("~p:~p in ~p", [Class, Reason, first_frame(Stack)])}
            end;
        [] ->
            unknown(Name)
    end.

%% @doc `hornbeam_erlang.cast': an unknown name fails at once; a known one runs in a
%% new process, and what it returns or raises is dropped.
-spec cast(binary(), [term()]) -> {ok, ok} | {error, atom(), binary()}.
cast(Name, Args) ->
    case ets:member(?PY_FUNCTIONS, Name) of
        true ->
            _ = spawn(fun() -> invoke(Name, Args) end),
            {ok, ok};
        false ->
            unknown(Name)
    end.

unknown(Name) ->
    {error, unknown_function, format("no Erlang function is registered as ~p", [Name])}.

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

handle_call(Request, _From, State) ->
    hornbeam_unexpected:call(?MODULE, Request, State).
handle_cast(Message, State) ->
    hornbeam_unexpected:cast(?MODULE, Message, State).
handle_info(Message, State) ->
    hornbeam_unexpected:info(?MODULE, Message, State).
