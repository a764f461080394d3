%% @doc The NIF's entry points (native/hornbeam_nif). Use `py' instead.
-module(py_nif).

-export([context_new/6, context_call/6, context_eval/4, context_exec/3,
         context_cancel/2, context_stop/1, context_info/1, context_callback_reply/3,
         reactor_new/8, reactor_handoff/3, reactor_exec/3, reactor_eval/3,
         reactor_stop/2, reactor_stats/1, reactor_callback_reply/3,
         http_server_start/4, http_server_stop/2, http_server_info/1, http_server_replace_agent/3,
         agent_reply/2, mailbox_bind/2, mailbox_deliver/2, mailbox_end/1, dup_fd/1, close_fd/1, python_info/0]).

-on_load(load/0).

load() ->
    Path = filename:join(priv_dir(), "py_nif"),
    case erlang:load_nif(Path, 0) of
        ok -> ok;
        {error, {Reason, Text}} ->
            logger:error("hornbeam: cannot load ~s.so (~p): ~s", [Path, Reason, Text]),
            {error, Reason}
    end.

priv_dir() ->
    case code:priv_dir(hornbeam) of
        {error, bad_name} ->
            filename:join(filename:dirname(filename:dirname(code:which(?MODULE))), "priv");
        Dir -> Dir
    end.

-define(NOT_LOADED, erlang:nif_error({not_loaded, ?MODULE})).

-spec context_new(subinterp | main, pid(), [binary()], [binary()], binary() | undefined, non_neg_integer()) ->
    {ok, reference(), integer()} | {error, term()}.
context_new(_Mode, _Owner, _Paths, _SiteDirs, _Home, _SpinUs) -> ?NOT_LOADED.
-spec context_call(reference(), reference(), binary(), binary(), [term()], map()) ->
    non_neg_integer() | {error, term()}.
context_call(_Ctx, _Ref, _Module, _Function, _Args, _Kwargs) -> ?NOT_LOADED.
-spec context_eval(reference(), reference(), binary(), map()) -> non_neg_integer() | {error, term()}.
context_eval(_Ctx, _Ref, _Code, _Locals) -> ?NOT_LOADED.
-spec context_exec(reference(), reference(), binary()) -> non_neg_integer() | {error, term()}.
context_exec(_Ctx, _Ref, _Code) -> ?NOT_LOADED.
-spec context_cancel(reference(), non_neg_integer()) -> ok | {error, term()}.
context_cancel(_Ctx, _JobId) -> ?NOT_LOADED.
-spec context_stop(reference()) -> ok | {error, term()}.
context_stop(_Ctx) -> ?NOT_LOADED.
-spec context_info(reference()) -> #{atom() => term()} | error | {error, term()}.
context_info(_Ctx) -> ?NOT_LOADED.
-spec context_callback_reply(reference(), non_neg_integer(), term()) -> ok | {error, term()}.
context_callback_reply(_Ctx, _Id, _Reply) -> ?NOT_LOADED.
-spec reactor_new(subinterp | main, pid(), [binary()], [binary()], binary() | undefined,
                  binary() | undefined, pos_integer(), pos_integer()) ->
    {ok, reference(), integer()} | {error, term()}.
reactor_new(_Mode, _Owner, _Paths, _SiteDirs, _Home, _SetupCode, _MaxConns, _ReadSize) -> ?NOT_LOADED.
-spec reactor_handoff(reference(), non_neg_integer(), map()) -> ok | {error, term()}.
reactor_handoff(_Reactor, _Fd, _ClientInfo) -> ?NOT_LOADED.
-spec reactor_exec(reference(), reference(), binary()) -> ok | {error, term()}.
reactor_exec(_Reactor, _Ref, _Code) -> ?NOT_LOADED.
-spec reactor_eval(reference(), reference(), binary()) -> ok | {error, term()}.
reactor_eval(_Reactor, _Ref, _Code) -> ?NOT_LOADED.
-spec reactor_stop(reference(), reference()) -> ok | {error, term()}.
reactor_stop(_Reactor, _Ref) -> ?NOT_LOADED.
-spec reactor_stats(reference()) -> #{atom() => term()} | error | {error, term()}.
reactor_stats(_Reactor) -> ?NOT_LOADED.
-spec reactor_callback_reply(reference(), non_neg_integer(), term()) -> ok | {error, term()}.
reactor_callback_reply(_Reactor, _Id, _Reply) -> ?NOT_LOADED.
-spec http_server_start(non_neg_integer(), map(), map(), non_neg_integer()) ->
    {ok, reference(), subinterp | main} | {error, term()}.
http_server_start(_ListenFd, _AppOpts, _ServerOpts, _IoThreads) -> ?NOT_LOADED.
-spec http_server_stop(reference(), non_neg_integer()) -> ok | {error, term()}.
http_server_stop(_Server, _GracefulMs) -> ?NOT_LOADED.
-spec http_server_info(reference()) -> #{atom() => term()} | error | {error, term()}.
http_server_info(_Server) -> ?NOT_LOADED.
-spec http_server_replace_agent(reference(), pid(), pid()) -> ok | {error, term()}.
http_server_replace_agent(_Server, _Old, _New) -> ?NOT_LOADED.
-spec agent_reply(reference(), term()) -> ok | {error, term()}.
agent_reply(_Slot, _Reply) -> ?NOT_LOADED.
-spec mailbox_bind(non_neg_integer(), pid()) -> ok | closed | {error, term()}.
mailbox_bind(_Id, _Pid) -> ?NOT_LOADED.
-spec mailbox_deliver(non_neg_integer(), term()) -> ok | full | closed | {error, term()}.
mailbox_deliver(_Id, _Message) -> ?NOT_LOADED.
-spec mailbox_end(non_neg_integer()) -> ok | {error, term()}.
mailbox_end(_Id) -> ?NOT_LOADED.
-spec dup_fd(non_neg_integer()) -> {ok, non_neg_integer()} | {error, term()}.
dup_fd(_Fd) -> ?NOT_LOADED.
-spec close_fd(non_neg_integer()) -> ok | {error, term()}.
close_fd(_Fd) -> ?NOT_LOADED.
-spec python_info() -> #{atom() => term()} | {error, term()}.
python_info() -> ?NOT_LOADED.
