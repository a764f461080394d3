"""RpcStub and RpcPromise: what the application holds.

Attribute access and calls build up a pipeline without waiting: `api.user(1).profile.name`
is one RpcPromise, and sends nothing until it is called or awaited. Awaiting an RpcPromise
pulls its value. A stub holds its reference until `dispose()`, the end of a `with`
block, or, failing those, until Python collects it.
"""

import asyncio

from . import mapper
from .errors import RpcError
from .hooks import ErrorHook, Hook, ValueHook

_DISPOSED = ErrorHook(RpcError("Attempted to use an RPC stub after it was disposed."))


class RpcStub:
    __slots__ = ("_hook", "_path", "__weakref__")

    def __init__(self, target, path=None):
        """`RpcStub(target)` wraps a local RpcTarget or function, as if it were remote."""
        self._hook = target if isinstance(target, Hook) else ValueHook(target)
        self._path = path if path is not None else []

    def __getattr__(self, name):
        if name.startswith("_"):
            raise AttributeError(name)
        return RpcPromise(self._hook.dup(), self._path + [name])

    def __getitem__(self, key):
        if type(key) not in (str, int):
            raise TypeError("an RPC property path holds only str and int keys")
        return RpcPromise(self._hook.dup(), self._path + [key])

    def __call__(self, *args, **kwargs):
        if kwargs:
            raise TypeError(
                "RPC calls take positional arguments only (JavaScript has no keyword arguments)"
            )
        builder = mapper.current_builder()
        if builder is not None:
            return RpcPromise(builder.push_call(self._hook, self._path, list(args)))
        return RpcPromise(self._hook.call(self._path, list(args)))

    def map(self, func):
        """Apply `func` to the value remotely (to each element, for an array), in the same
        round trip. `func` runs once, here, on placeholders, to record what to do: it may
        only read properties and make calls, not await or branch on values."""
        return RpcPromise(mapper.send_map(self._hook, self._path, func))

    def dup(self):
        return type(self)(self._hook.dup(), list(self._path))

    def dispose(self):
        """Release the reference now (the peer may free what it points at)."""
        hook = self._hook
        if hook is not _DISPOSED:
            self._hook = _DISPOSED
            hook.dispose()

    def __del__(self):
        try:
            self.dispose()
        except Exception:
            pass

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.dispose()

    async def __aenter__(self):
        return self

    async def __aexit__(self, *exc):
        self.dispose()

    def __repr__(self):
        path = "".join(f".{p}" if type(p) is str else f"[{p}]" for p in self._path)
        return f"<{type(self).__name__} {type(self._hook).__name__}{path}>"


class RpcPromise(RpcStub):
    """A stub for a value not known yet; `await` it for the value."""

    __slots__ = ()

    def __await__(self):
        return self._pull().__await__()

    async def _pull(self):
        hook = self._hook.get(self._path) if self._path else self._hook
        session = hook.session
        timeout = session.options.call_timeout if session is not None else None
        try:
            if timeout is None:
                return await hook.pull()
            return await asyncio.wait_for(hook.pull(), timeout)
        finally:
            if self._path:
                hook.dispose()


def take_hook(stub):
    """The stub's hook, which the caller now owns; the stub is left disposed."""
    hook = stub._hook
    stub._hook = _DISPOSED
    return hook


async def settle(value, pending):
    """`value` with the promises listed in `pending` replaced by their resolutions."""
    if not pending:
        return value
    results = await asyncio.gather(*(promise._pull() for _, _, promise in pending))
    for (parent, key, _), result in zip(pending, results, strict=True):
        if parent is None:
            value = result
        else:
            parent[key] = result
    pending.clear()
    return value
