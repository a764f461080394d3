%% @doc Run Python from Erlang.
%%
%% Every function returns `{ok, Value}' (or `ok') or `{error, Reason}':
%% <ul>
%% <li>`{error, {python, Type, Message, Traceback}}': Python raised (`Type' an atom
%%     such as `ZeroDivisionError', the others binaries);</li>
%% <li>`{error, timeout}': the call ran past its timeout; it was interrupted and the
%%     context serves the next call;</li>
%% <li>`{error, {badarg, What}}': an argument was unusable;</li>
%% <li>`{error, no_context}': no such context (not started, or gone).</li>
%% </ul>
%% Terms convert as docs/term-conversion.md says.
-module(py).

-include("py.hrl").

-export([call/3, call/4, call/5,
         eval/1, eval/2, eval/3,
         exec/1, exec/2,
         context/0, context/1,
         dup_fd/1,
         register_function/2, unregister_function/1]).

-type ctx() :: pid().
-type name() :: atom() | binary() | string().
-type code() :: iodata().
-type call_opts() :: #{kwargs => #{atom() | binary() => term()},
                       timeout => timeout()}.
-type error() :: {error, {python, atom(), binary(), binary()}
                       | timeout | {badarg, term()} | no_context | context_stopped
                       | term()}.
-export_type([ctx/0, call_opts/0]).

%%% Calls

%% @doc `Module.Function(*Args)' on the calling process's context.
-spec call(name(), name(), [term()]) -> {ok, term()} | error().
call(Module, Function, Args) ->
    call_on(default, Module, Function, Args, #{}).

%% @doc `call(Ctx, Module, Function, Args)' on a given context, or
%% `call(Module, Function, Args, Kwargs)' with keyword arguments.
-spec call(ctx() | name(), name(), name() | [term()], [term()] | map()) -> {ok, term()} | error().
call(Ctx, Module, Function, Args) when is_pid(Ctx) ->
    call_on(Ctx, Module, Function, Args, #{});
call(Module, Function, Args, Kwargs) when is_map(Kwargs) ->
    call_on(default, Module, Function, Args, #{kwargs => Kwargs});
call(_, _, _, Kwargs) ->
    {error, {badarg, {kwargs, Kwargs}}}.

%% @doc On a given context (or `default'), with `kwargs' and `timeout' (ms).
-spec call(ctx() | default, name(), name(), [term()], call_opts()) -> {ok, term()} | error().
call(Ctx, Module, Function, Args, Opts) when is_map(Opts) ->
    call_on(Ctx, Module, Function, Args, Opts);
call(_, _, _, _, Opts) ->
    {error, {badarg, {opts, Opts}}}.

call_on(Ctx, Module, Function, Args, Opts) ->
    maybe_run(fun() ->
        M = name(module, Module),
        F = name(function, Function),
        is_list(Args) orelse throw({badarg, args}),
        Kwargs = maps:get(kwargs, Opts, #{}),
        is_map(Kwargs) orelse throw({badarg, kwargs}),
        Timeout = timeout(Opts),
        Resource = resource(Ctx),
        Ref = make_ref(),
        await(Resource, Ref, py_nif:context_call(Resource, Ref, M, F, Args, Kwargs), Timeout)
    end).

%%% eval / exec

%% @doc Evaluates a Python expression.
-spec eval(code()) -> {ok, term()} | error().
eval(Expr) ->
    eval(default, Expr, #{}).

%% @doc `eval(Expr, Locals)' with local variables, or `eval(Ctx, Expr)'.
-spec eval(ctx() | code(), code() | map()) -> {ok, term()} | error().
eval(Ctx, Expr) when is_pid(Ctx) ->
    eval(Ctx, Expr, #{});
eval(Expr, Locals) when is_map(Locals) ->
    eval(default, Expr, Locals);
eval(_, Locals) ->
    {error, {badarg, {locals, Locals}}}.

%% @doc Evaluates `Expr' on `Ctx' with `Locals' (a map of variable names to values).
-spec eval(ctx() | default, code(), map()) -> {ok, term()} | error().
eval(Ctx, Expr, Locals) ->
    maybe_run(fun() ->
        Code = code(Expr),
        is_map(Locals) orelse throw({badarg, locals}),
        Resource = resource(Ctx),
        Ref = make_ref(),
        await(Resource, Ref, py_nif:context_eval(Resource, Ref, Code, Locals), default_timeout())
    end).

%% @doc Runs Python statements; names they bind stay visible to later eval/exec on
%% the same context.
-spec exec(code()) -> ok | error().
exec(Code) ->
    exec(default, Code).

-spec exec(ctx() | default, code()) -> ok | error().
exec(Ctx, Code) ->
    maybe_run(fun() ->
        Source = code(Code),
        Resource = resource(Ctx),
        Ref = make_ref(),
        await(Resource, Ref, py_nif:context_exec(Resource, Ref, Source), default_timeout())
    end).

%%% Contexts

%% @doc The context bound to the calling process: the same one on every call from it.
-spec context() -> ctx().
context() ->
    case lookup_slot(bound_slot()) of
        {ok, Pid, _} -> Pid;
        error -> erlang:error(no_context)
    end.

%% @doc The `N'th context of the application's pool (1-based).
-spec context(pos_integer()) -> ctx().
context(N) when is_integer(N), N > 0 ->
    case lookup_slot(N) of
        {ok, Pid, _} -> Pid;
        error -> erlang:error({no_context, N})
    end.

%%% Misc

%% @doc A duplicate of a file descriptor (or of a gen_tcp/gen_udp socket's), owned by
%% the caller: Erlang may close its socket afterwards and the duplicate stays open.
-spec dup_fd(non_neg_integer() | port()) -> {ok, non_neg_integer()} | {error, term()}.
dup_fd(Port) when is_port(Port) ->
    case inet:getfd(Port) of
        {ok, Fd} -> py_nif:dup_fd(Fd);
        {error, _} = Error -> Error
    end;
dup_fd(Fd) when is_integer(Fd), Fd >= 0 ->
    py_nif:dup_fd(Fd);
dup_fd(Other) ->
    {error, {badarg, Other}}.

%% @doc Lets Python call `Fun' with `erlang.call(Name, *Args)'; `Fun' receives the
%% argument list. `{Module, Function}' works too.
-spec register_function(name(), fun(([term()]) -> term()) | {module(), atom()}) -> ok | error().
register_function(Name, Fun) ->
    py_callbacks:register(Name, Fun).

-spec unregister_function(name()) -> ok.
unregister_function(Name) ->
    py_callbacks:unregister(Name).

%%% Internals

maybe_run(Fun) ->
    try Fun()
    catch throw:{badarg, _} = BadArg -> {error, BadArg};
          throw:no_context -> {error, no_context}
    end.

%% Waits for the worker's `{Ref, Result}'. On timeout the job is cancelled (it will not
%% run, or is interrupted, and sends nothing afterwards); a reply that raced the cancel
%% is still taken.
await(_Resource, _Ref, {error, _} = Error, _Timeout) ->
    Error;
await(Resource, Ref, JobId, Timeout) ->
    receive
        {Ref, Result} -> Result
    after Timeout ->
        _ = py_nif:context_cancel(Resource, JobId),
        receive
            {Ref, Result} -> Result
        after 0 ->
            {error, timeout}
        end
    end.

resource(default) ->
    case lookup_slot(bound_slot()) of
        {ok, _Pid, Resource} -> Resource;
        error -> throw(no_context)
    end;
resource(Pid) when is_pid(Pid) ->
    case py_registry:lookup(Pid) of
        {ok, Resource} -> Resource;
        error -> throw(no_context)
    end;
resource(Other) ->
    throw({badarg, {context, Other}}).

lookup_slot(Slot) ->
    try py_registry:lookup_slot(Slot)
    catch error:badarg -> error  % the registry's table does not exist: not started
    end.

%% Spreads processes over the pool by pid hash and remembers the choice.
bound_slot() ->
    case get(py_context_slot) of
        undefined ->
            Slot = erlang:phash2(self(), max(1, py_registry:slots())) + 1,
            put(py_context_slot, Slot),
            Slot;
        Slot ->
            Slot
    end.

timeout(Opts) ->
    case maps:get(timeout, Opts, default_timeout()) of
        infinity -> infinity;
        T when is_integer(T), T >= 0 -> T;
        Other -> throw({badarg, {timeout, Other}})
    end.

default_timeout() ->
    application:get_env(hornbeam, call_timeout, ?PY_DEFAULT_TIMEOUT).

name(_What, Name) when is_atom(Name) -> atom_to_binary(Name, utf8);
name(_What, Name) when is_binary(Name), Name =/= <<>> -> Name;
name(What, Name) when is_list(Name) ->
    case unicode:characters_to_binary(Name) of
        Bin when is_binary(Bin), Bin =/= <<>> -> Bin;
        _ -> throw({badarg, What})
    end;
name(What, _) ->
    throw({badarg, What}).

code(Code) ->
    try unicode:characters_to_binary(Code) of
        Bin when is_binary(Bin) -> Bin;
        _ -> throw({badarg, code})
    catch error:badarg -> throw({badarg, code})
    end.
