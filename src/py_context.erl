%% @doc A context: one Python interpreter on its own OS thread, owned by this process.
%%
%% Calls do not pass through this process: `py' sends them straight to the NIF
%% resource and the worker thread answers the caller. This process owns the interpreter
%% (it ends when this process dies), runs the Erlang functions Python calls with
%% `erlang.call', and forwards `erlang.send' to remote pids.
%%
%% Options (all optional): `mode' (`subinterp' | `main'), `pythonpath' (list of
%% directories), `venv' (a virtualenv directory), `python_home', `spin_us' (how long
%% an idle worker polls before sleeping), `slot' (pool position, set by
%% py_context_sup). Defaults come from the `hornbeam' application environment.
-module(py_context).
-behaviour(gen_server).

-export([start_link/0, start_link/1, start/1, stop/1, info/1]).
-export([init/1, handle_call/3, handle_cast/2, handle_info/2, terminate/2]).

%% docs/configuration.md says what each does; a missing one takes the application's
%% environment value.
-type options() :: #{
    mode => subinterp | main,
    pythonpath => [file:filename_all()],
    venv => file:filename_all() | undefined,
    python_home => file:filename_all() | undefined,
    spin_us => 0..10000,
    %% The pool slot this context fills (py_context_sup sets it).
    slot => pos_integer() | undefined
}.
-export_type([options/0]).

-spec start_link() -> {ok, pid()} | {error, term()}.
start_link() ->
    start_link(#{}).

-spec start_link(options()) -> {ok, pid()} | {error, term()}.
start_link(Opts) ->
    with_valid_options(Opts, fun(Valid) -> gen_server:start_link(?MODULE, Valid, []) end).

%% @doc Starts a context not linked to the caller.
-spec start(options()) -> {ok, pid()} | {error, term()}.
start(Opts) ->
    with_valid_options(Opts, fun(Valid) -> gen_server:start(?MODULE, Valid, []) end).

-spec stop(pid()) -> ok.
stop(Ctx) ->
    gen_server:stop(Ctx).

%% @doc `#{mode, interp_id, calls}' of a context.
-spec info(pid()) -> #{atom() => term()} | {error, term()}.
info(Ctx) ->
    case py_registry:lookup(Ctx) of
        {ok, Resource} -> py_nif:context_info(Resource);
        error -> {error, no_context}
    end.

%%% Options

with_valid_options(Opts, Start) when is_map(Opts) ->
    try maps:fold(fun validate/3, defaults(), Opts) of
        Valid -> Start(Valid)
    catch
        throw:{invalid_option, _, _} = Invalid -> {error, Invalid}
    end;
with_valid_options(Opts, _Start) ->
    {error, {invalid_option, options, Opts}}.

defaults() ->
    (py_interp_opts:defaults())#{spin_us => application:get_env(hornbeam, spin_us, 20),
                                 slot => undefined}.

validate(spin_us, Us, Acc) when is_integer(Us), Us >= 0, Us =< 10000 -> Acc#{spin_us => Us};
validate(slot, Slot, Acc) when is_integer(Slot), Slot > 0 -> Acc#{slot => Slot};
validate(Key, Value, Acc) ->
    py_interp_opts:validate(Key, Value, Acc).

%%% gen_server

init(#{mode := Mode, slot := Slot, spin_us := SpinUs} = Opts) ->
    process_flag(trap_exit, true),
    {Paths, SiteDirs, Home} = py_interp_opts:locations(Opts),
    case py_nif:context_new(Mode, self(), Paths, SiteDirs, Home, SpinUs) of
        {ok, Resource, _InterpId} ->
            ok = py_registry:register(self(), Slot, Resource),
            {ok, #{resource => Resource}};
        {error, Reason} ->
            {stop, {python_init_failed, Reason}}
    end.

handle_call(Request, _From, State) ->
    hornbeam_unexpected:call(?MODULE, Request, State).

handle_cast(Message, State) ->
    hornbeam_unexpected:cast(?MODULE, Message, State).

%% erlang.call and erlang.send from Python.
handle_info(Message, #{resource := Resource} = State) ->
    py_calls:serve_interpreter_message(
      Message, fun(Id, Reply) -> py_nif:context_callback_reply(Resource, Id, Reply) end),
    {noreply, State}.

terminate(_Reason, #{resource := Resource}) ->
    py_nif:context_stop(Resource).
