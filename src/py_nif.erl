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

context_new(_Mode, _Owner, _Paths, _SiteDirs, _Home, _SpinUs) -> ?NOT_LOADED.
context_call(_Ctx, _Ref, _Module, _Function, _Args, _Kwargs) -> ?NOT_LOADED.
context_eval(_Ctx, _Ref, _Code, _Locals) -> ?NOT_LOADED.
context_exec(_Ctx, _Ref, _Code) -> ?NOT_LOADED.
context_cancel(_Ctx, _JobId) -> ?NOT_LOADED.
context_stop(_Ctx) -> ?NOT_LOADED.
context_info(_Ctx) -> ?NOT_LOADED.
context_callback_reply(_Ctx, _Id, _Reply) -> ?NOT_LOADED.
reactor_new(_Mode, _Owner, _Paths, _SiteDirs, _Home, _SetupCode, _MaxConns, _ReadSize) -> ?NOT_LOADED.
reactor_handoff(_Reactor, _Fd, _ClientInfo) -> ?NOT_LOADED.
reactor_exec(_Reactor, _Ref, _Code) -> ?NOT_LOADED.
reactor_eval(_Reactor, _Ref, _Code) -> ?NOT_LOADED.
reactor_stop(_Reactor, _Ref) -> ?NOT_LOADED.
reactor_stats(_Reactor) -> ?NOT_LOADED.
reactor_callback_reply(_Reactor, _Id, _Reply) -> ?NOT_LOADED.
http_server_start(_ListenFd, _AppOpts, _ServerOpts, _IoThreads) -> ?NOT_LOADED.
http_server_stop(_Server, _GracefulMs) -> ?NOT_LOADED.
http_server_info(_Server) -> ?NOT_LOADED.
http_server_replace_agent(_Server, _Old, _New) -> ?NOT_LOADED.
agent_reply(_Slot, _Reply) -> ?NOT_LOADED.
mailbox_bind(_Id, _Pid) -> ?NOT_LOADED.
mailbox_deliver(_Id, _Message) -> ?NOT_LOADED.
mailbox_end(_Id) -> ?NOT_LOADED.
dup_fd(_Fd) -> ?NOT_LOADED.
close_fd(_Fd) -> ?NOT_LOADED.
python_info() -> ?NOT_LOADED.
