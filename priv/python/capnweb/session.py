"""One RPC session over a message transport: the import and export tables and the
messages (protocol.md, "Top-level RPC Messages").

Numbering follows the reference: a `push` takes the next positive id on both sides (the
sender's import, the receiver's export); a stub or promise the sender introduces takes
its next negative export id; 0 is each side's main object.
"""

import asyncio
import json
import logging
import traceback

from . import codec
from .errors import RpcError, RpcSessionClosed
from .hooks import ErrorHook, Hook, RpcTarget, ValueHook, payload_hook
from .options import RpcSessionOptions
from .stubs import RpcPromise, RpcStub

log = logging.getLogger("capnweb")

_dumps = json.JSONEncoder(separators=(",", ":"), allow_nan=False).encode


class ImportEntry:
    """Something the peer exports to us: a promise (a call's result) or a stub."""

    __slots__ = ("session", "id", "local_refs", "remote_refcount", "resolution", "waiter")

    def __init__(self, session, import_id, pulling):
        self.session = session
        self.id = import_id
        self.local_refs = 0
        self.remote_refcount = 1
        self.resolution = None
        self.waiter = session.loop.create_future() if pulling else None

    def resolve(self, hook):
        if self.local_refs == 0:
            hook.dispose()
            return
        self.resolution = hook
        # The resolution replaces the peer's copy, so the import can go at once.
        self.send_release()
        if self.waiter is not None and not self.waiter.done():
            self.waiter.set_result(None)

    async def resolved(self):
        if self.resolution is None:
            if self.session.unanswerable is not None:
                raise self.session.unanswerable
            if self.waiter is None:
                self.session.send(["pull", self.id])
                self.waiter = self.session.loop.create_future()
            await asyncio.shield(self.waiter)
        return self.resolution

    def abort(self, error):
        if self.resolution is None:
            self.resolution = ErrorHook(error)
            if self.waiter is not None and not self.waiter.done():
                self.waiter.set_exception(error)
                self.waiter.exception()  # retrieved: an unawaited call is not a warning

    def dispose(self):
        if self.resolution is not None:
            self.resolution.dispose()
        else:
            self.abort(RpcError("RPC was canceled because the RpcPromise was disposed."))
            self.send_release()

    def send_release(self):
        if self.remote_refcount > 0:
            self.session.send_release(self.id, self.remote_refcount)
            self.remote_refcount = 0


class ImportHook(Hook):
    __slots__ = ("entry",)

    def __init__(self, entry):
        entry.local_refs += 1
        self.entry = entry

    @property
    def session(self):
        return self.entry.session

    def call(self, path, args, pending=None):
        entry = self.entry
        if entry.resolution is not None:
            return entry.resolution.call(path, args, pending)
        return entry.session.send_call(entry.id, path, args)

    def get(self, path):
        entry = self.entry
        if entry.resolution is not None:
            return entry.resolution.get(path)
        if not path:
            return self.dup()
        return entry.session.send_call(entry.id, path, None)

    def map(self, path, captures, instructions):
        entry = self.entry
        if entry.resolution is not None:
            return entry.resolution.map(path, captures, instructions)
        return entry.session.send_map(entry.id, path, captures, instructions)

    async def pull(self):
        resolution = await self.entry.resolved()
        return await resolution.pull()

    def dup(self):
        return ImportHook(self.entry)

    def dispose(self):
        entry = self.entry
        entry.local_refs -= 1
        if entry.local_refs == 0 and entry.id != 0:  # the main import lives as long as the session
            entry.dispose()


class MainHook(ImportHook):
    """The stub `get_remote_main()` returns: disposing it ends the session."""

    __slots__ = ()

    def dispose(self):
        super().dispose()
        self.entry.session.shutdown()


class Export:
    __slots__ = ("hook", "refcount", "key", "pulling")

    def __init__(self, hook, key=None):
        self.hook = hook
        self.refcount = 1
        self.key = key
        self.pulling = False


class Transport:
    """A message channel. `send` never blocks; `receive` raises RpcSessionClosed at the end."""

    def send(self, text):
        raise NotImplementedError

    async def receive(self):
        raise NotImplementedError

    def abort(self, error):
        pass


class RpcSession(codec.Capabilities):
    def __init__(self, transport, local_main=None, options=None):
        self.transport = transport
        self.options = options or RpcSessionOptions()
        self.limits = self.options.limits
        self.loop = asyncio.get_running_loop()
        if local_main is None:
            main = ErrorHook(RpcError("This connection has no main object."))
        elif isinstance(local_main, RpcStub):
            main = local_main._hook.dup()
        else:
            main = ValueHook(local_main)
        self.exports = {0: Export(main)}
        self.reverse_exports = {}
        self.next_export_id = -1
        self.next_push_id = 1
        self.imports = {0: ImportEntry(self, 0, False)}
        self.next_import_id = 1
        self.abort_reason = None
        self.unanswerable = None
        self.closed = self.loop.create_future()
        self._pulls = 0
        self._pulls_done = None
        # The loop keeps only weak references to tasks: these keep the pulls alive.
        self._pull_tasks = set()
        self._main_stub = RpcStub(MainHook(self.imports[0]))
        self._reader = asyncio.ensure_future(self._read_loop())

    def get_remote_main(self):
        return self._main_stub

    def get_stats(self):
        """Live table entries beyond the main ones, as the reference counts them."""
        return {"imports": len(self.imports), "exports": len(self.exports)}

    # -- sending ----------------------------------------------------------------------------

    def send(self, message):
        if self.abort_reason is not None:
            return
        text = _dumps(message)
        if self.options.debug:
            log.debug("capnweb send %s", text[:500])
        self.transport.send(text)

    def send_call(self, import_id, path, args):
        self._check_open()
        expr = ["pipeline", import_id, list(path)]
        if args is not None:
            expr.append(self._encode_rolling_back(args)[0])
        self.send(["push", expr])
        return self._new_push_import()

    def send_map(self, import_id, path, captures, instructions):
        self._check_open()
        wire = []
        for hook in captures:
            own = self._own_import_id(hook)
            wire.append(
                ["import", own]
                if own is not None
                else ["export", self._export(hook, _hook_key(hook))]
            )
            hook.dispose()
        self.send(["push", ["remap", import_id, list(path), wire, instructions]])
        return self._new_push_import()

    def _new_push_import(self):
        entry = ImportEntry(self, self.next_import_id, False)
        self.imports[entry.id] = entry
        self.next_import_id += 1
        return ImportHook(entry)

    def send_release(self, import_id, refcount):
        if self.abort_reason is None:
            self.send(["release", import_id, refcount])
        self.imports.pop(import_id, None)

    def _check_open(self):
        if self.abort_reason is not None:
            raise self.abort_reason

    def _encode_rolling_back(self, value):
        mark = self.next_export_id
        try:
            return codec.encode(value, self)
        except Exception:
            for export_id in range(mark, self.next_export_id, -1):
                if export_id in self.exports:
                    self.release_export(export_id, 1)
            raise

    # -- exporting (codec.Capabilities) -------------------------------------------------

    def encode_capability(self, value, depth):
        if isinstance(value, RpcStub):
            hook, path = value._hook, value._path
            if isinstance(hook, ImportHook) and hook.entry.resolution is not None:
                # Encode what it resolved to: a stub the peer exported goes back as its
                # own import, not as a proxy through this side.
                return self.encode_capability(
                    type(value)(hook.entry.resolution.dup(), list(path)), depth
                )
            own = self._own_import_id(hook)
            if own is not None:
                if isinstance(value, RpcPromise):
                    return ["pipeline", own, list(path)] if path else ["pipeline", own]
                return ["import", own]
            if isinstance(value, RpcPromise):
                return ["promise", self._export_promise(hook.get(path) if path else hook.dup())]
            return ["export", self._export(hook.dup(), _hook_key(hook))]
        if isinstance(value, RpcTarget) or (callable(value) and not isinstance(value, type)):
            return ["export", self._export(ValueHook(value), id(value))]
        if asyncio.isfuture(value) or asyncio.iscoroutine(value):
            if asyncio.iscoroutine(value):
                value = asyncio.ensure_future(value)
            return ["promise", self._export_promise(_FutureHook(value))]
        raise TypeError(f"Cannot serialize value: {value!r}")

    def _own_import_id(self, hook):
        if (
            isinstance(hook, ImportHook)
            and hook.entry.session is self
            and hook.entry.resolution is None
        ):
            return hook.entry.id
        return None

    def _export(self, hook, key):
        self._check_open()
        if key is not None:
            existing = self.reverse_exports.get(key)
            if existing is not None:
                self.exports[existing].refcount += 1
                hook.dispose()
                return existing
        export_id = self.next_export_id
        self.next_export_id -= 1
        self.exports[export_id] = Export(hook, key)
        if key is not None:
            self.reverse_exports[key] = export_id
        return export_id

    def _export_promise(self, hook):
        export_id = self._export(hook, None)
        self._resolve_export(export_id)
        return export_id

    def rewrite_error(self, exc):
        handler = self.options.on_send_error
        if handler is None:
            return exc
        try:
            return handler(exc)
        except Exception as handler_error:
            log.exception("capnweb on_send_error raised")
            return handler_error

    def error_stack(self, exc):
        stack = getattr(exc, "stack", None)
        if isinstance(stack, str):
            return stack
        if self.options.send_stack_traces and exc.__traceback__ is not None:
            return "".join(traceback.format_exception(exc))
        return None

    # -- importing (codec.Capabilities) -------------------------------------------------

    def decode_capability(self, expr, depth, pending):
        tag = expr[0]
        if tag == "export" or tag == "promise":
            if len(expr) != 2 or type(expr[1]) is not int:
                raise TypeError(f"unknown special value: {_dumps(expr)[:200]}")
            if tag == "export":
                return RpcStub(ImportHook(self._import_stub(expr[1])))
            if expr[1] in self.imports:
                raise RpcError("The peer sent a promise reusing an existing export ID.")
            entry = ImportEntry(self, expr[1], True)
            self.imports[entry.id] = entry
            promise = RpcPromise(ImportHook(entry))
            if pending is not None:
                pending.append((None, None, promise))
            return promise
        return decode_reference(self, expr, depth, pending)

    def _import_stub(self, import_id):
        entry = self.imports.get(import_id)
        if entry is None:
            entry = ImportEntry(self, import_id, False)
            self.imports[import_id] = entry
        else:
            entry.remote_refcount += 1
        return entry

    def export_hook(self, export_id):
        export = self.exports.get(export_id) if type(export_id) is int else None
        return export.hook if export is not None else None

    def import_capture(self, import_id):
        return ImportHook(self._import_stub(import_id))

    # -- receiving ------------------------------------------------------------------------

    async def _read_loop(self):
        try:
            while self.abort_reason is None:
                text = await self.transport.receive()
                if self.abort_reason is not None:
                    break
                if len(text) > self.limits.max_message_size:
                    raise RpcError(
                        "Incoming message exceeds maximum size of "
                        f"{self.limits.max_message_size} characters.",
                        "TypeError",
                    )
                if self.options.debug:
                    log.debug("capnweb recv %s", text[:500])
                try:
                    message = json.loads(text)
                except (ValueError, RecursionError) as exc:
                    raise RpcError(f"invalid JSON in RPC message: {exc}", "SyntaxError") from None
                self._receive(message)
        except asyncio.CancelledError:
            self.abort(RpcSessionClosed("RPC session was shut down."), False)
            raise
        except RpcSessionClosed as exc:
            self.abort(exc, False)
        except RecursionError:
            self.abort(RpcError("RPC message nested too deeply.", "TypeError"))
        except Exception as exc:
            self.abort(exc)

    def _receive(self, message):
        kind = message[0] if type(message) is list and message else None
        size = len(message) if kind else 0
        if kind == "push" and size == 2:
            pending = []
            value = codec.decode(message[1], self, pending)
            self.exports[self.next_push_id] = Export(payload_hook(value, pending))
            self.next_push_id += 1
        elif kind == "pull" and size == 2 and type(message[1]) is int:
            self._resolve_export(message[1])
        elif kind in ("resolve", "reject") and size == 3 and type(message[1]) is int:
            pending = []
            value = codec.decode(message[2], self, pending)
            entry = self.imports.get(message[1])
            if kind == "resolve":
                hook = payload_hook(value, pending)
            else:
                hook = ErrorHook(
                    value if isinstance(value, BaseException) else RpcError(str(value))
                )
            if entry is not None:
                entry.resolve(hook)
            else:
                hook.dispose()
        elif (
            kind == "release" and size == 3 and type(message[1]) is int and type(message[2]) is int
        ):
            self.release_export(message[1], message[2])
        elif kind == "abort" and size == 2:
            reason = codec.decode(message[1], codec.NO_CAPABILITIES)
            if not isinstance(reason, BaseException):
                reason = RpcError(str(reason))
            self.abort(reason, False)
        else:
            raise RpcError(f"bad RPC message: {_dumps(message)[:200]}", "TypeError")

    def release_export(self, export_id, refcount):
        export = self.exports.get(export_id)
        if export is None:
            raise RpcError(f"no such export ID: {export_id}")
        if refcount < 1 or export.refcount < refcount:
            raise RpcError(f"refcount would go negative: {export.refcount} < {refcount}")
        export.refcount -= refcount
        if export.refcount == 0:
            del self.exports[export_id]
            if export.key is not None:
                self.reverse_exports.pop(export.key, None)
            export.hook.dispose()

    def _resolve_export(self, export_id):
        export = self.exports.get(export_id)
        if export is None:
            raise RpcError(f"no such export ID: {export_id}")
        if export.pulling:
            return
        export.pulling = True
        hook = export.hook
        if type(hook) is ValueHook and not isinstance(hook.value, RpcPromise):
            self._send_resolution(export_id, hook.value, None)  # known now: no task
            return
        self._pulls += 1
        task = asyncio.ensure_future(self._pull_and_resolve(export_id, hook))
        self._pull_tasks.add(task)
        task.add_done_callback(self._pull_tasks.discard)

    async def _pull_and_resolve(self, export_id, hook):
        try:
            try:
                value, error = await hook.pull(), None
            except Exception as exc:
                value, error = None, exc
            self._send_resolution(export_id, value, error)
        finally:
            self._pulls -= 1
            if self._pulls == 0 and self._pulls_done is not None and not self._pulls_done.done():
                self._pulls_done.set_result(None)

    def _send_resolution(self, export_id, value, error):
        if self.abort_reason is not None:
            return
        if error is None:
            try:
                self.send(["resolve", export_id, self._encode_rolling_back(value)])
                return
            except Exception as exc:
                error = exc
        if self.options.debug:
            log.warning("capnweb call failed (export %s)", export_id, exc_info=error)
        self.send(["reject", export_id, codec.encode_error(error, self)])

    def end_of_input(self, error):
        """Nothing more will be received (the end of an HTTP batch request): what waits for
        the peer fails with `error` instead of waiting forever."""
        self.unanswerable = error
        for entry in list(self.imports.values()):
            if entry.waiter is not None:
                entry.abort(error)

    async def drain(self):
        """Wait until every pulled export has been resolved or rejected, or the session ended."""
        if self._pulls and self.abort_reason is None:
            self._pulls_done = self.loop.create_future()
            await self._pulls_done

    # -- ending ---------------------------------------------------------------------------

    def shutdown(self):
        self.abort(RpcSessionClosed("RPC session was shut down by disposing the main stub"), False)

    def abort(self, error, send_abort=True):
        if self.abort_reason is not None:
            return
        if send_abort:
            try:
                self.transport.send(_dumps(["abort", codec.encode_error(error, self)]))
            except Exception:
                pass
        self.abort_reason = error if isinstance(error, BaseException) else RpcError(str(error))
        if send_abort or not isinstance(error, RpcSessionClosed):
            log.info("capnweb session aborted: %s", error)
        try:
            self.transport.abort(self.abort_reason)
        except Exception:
            pass
        if self._pulls_done is not None and not self._pulls_done.done():
            self._pulls_done.set_result(None)
        for entry in list(self.imports.values()):
            entry.abort(self.abort_reason)
        exports, self.exports = self.exports, {}
        for export in exports.values():
            export.hook.dispose()
        self.reverse_exports.clear()
        if not self.closed.done():
            self.closed.set_result(self.abort_reason)
        if self._reader is not asyncio.current_task() and not self._reader.done():
            self._reader.cancel()

    async def close(self):
        self.shutdown()
        await asyncio.gather(self._reader, return_exceptions=True)


def _hook_key(hook):
    value = getattr(hook, "value", None)
    if value is not None:
        return id(value)
    entry = getattr(hook, "entry", None)
    return ("entry", id(entry)) if entry is not None else None


class _FutureHook(Hook):
    """An asyncio future or coroutine sent as a promise."""

    __slots__ = ("future",)

    def __init__(self, future):
        self.future = future

    async def pull(self):
        return await self.future


def decode_reference(caps, expr, depth, pending):
    """`import`, `pipeline` and `remap` against `caps.export_hook` (a session's exports,
    or a map's captures and variables)."""
    tag, size = expr[0], len(expr)
    if tag in ("import", "pipeline") and 2 <= size <= 4 and type(expr[1]) is int:
        hook = caps.export_hook(expr[1])
        if hook is None:
            raise RpcError(f"no such entry on exports table: {expr[1]}")
        path = expr[2] if size >= 3 else []
        _check_path(path, expr)
        if size == 4:
            if type(expr[3]) is not list:
                raise TypeError(f"unknown special value: {_dumps(expr)[:200]}")
            arg_pending = []
            args = codec.decode([expr[3]], caps, arg_pending, depth)
            result = hook.call(path, args, arg_pending)
        elif size == 3:
            result = hook.get(path)
        else:
            result = hook.dup()
        if tag == "import":
            return RpcPromise(result)
        promise = RpcPromise(result)
        if pending is not None:
            pending.append((None, None, promise))
        return promise
    if (
        tag == "remap"
        and size == 5
        and type(expr[1]) is int
        and all(type(x) is list for x in expr[2:])
    ):
        hook = caps.export_hook(expr[1])
        if hook is None:
            raise RpcError(f"no such entry on exports table: {expr[1]}")
        _check_path(expr[2], expr)
        captures = []
        for capture in expr[3]:
            if (
                type(capture) is not list
                or len(capture) != 2
                or type(capture[1]) is not int
                or capture[0] not in ("import", "export")
            ):
                raise TypeError(f"unknown map capture: {_dumps(capture)[:200]}")
            if capture[0] == "export":
                if not hasattr(caps, "import_capture"):
                    raise TypeError("A mapper function cannot refer to exports.")
                captures.append(caps.import_capture(capture[1]))
            else:
                captured = caps.export_hook(capture[1])
                if captured is None:
                    raise RpcError(f"no such entry on exports table: {capture[1]}")
                captures.append(captured.dup())
        promise = RpcPromise(hook.map(expr[2], captures, expr[4]))
        if pending is not None:
            pending.append((None, None, promise))
        return promise
    raise TypeError(f"unknown special value: {_dumps(expr)[:200]}")


def _check_path(path, expr):
    if type(path) is not list or not all(type(p) in (str, int) for p in path):
        raise TypeError(f"unknown special value: {_dumps(expr)[:200]}")
