"""What a stub points at. Every RpcStub and RpcPromise wraps a hook plus a property path.

- `ValueHook`: a local value (an RpcTarget, a function, or a call's result);
- `PromiseHook`: a local value not known yet (a running call);
- `ImportHook`: an entry on a session's import table (lives in `session`);
- `ErrorHook`: a broken reference.

`call`, `get` and `map` never wait: they return another hook at once, which is what
makes pipelining possible. Only `pull` waits, for the value.
"""

import asyncio
import inspect

from .errors import RpcTypeError


class RpcTarget:
    """Subclass this for objects passed by reference. Remote peers may call its public
    methods and read its properties (anything defined on the class whose name does not
    start with `_`); instance attributes and private names are never reachable."""


class Hook:
    __slots__ = ()
    session = None

    def call(self, path, args, pending=None):
        """`pending` lists promises inside `args` to resolve before a local call runs."""
        raise NotImplementedError

    def get(self, path):
        raise NotImplementedError

    def map(self, path, captures, instructions):
        raise NotImplementedError

    async def pull(self):
        raise NotImplementedError

    def dup(self):
        return self

    def dispose(self):
        pass


class ErrorHook(Hook):
    __slots__ = ("error",)

    def __init__(self, error):
        self.error = error

    def call(self, path, args, pending=None):
        return self

    def get(self, path):
        return self

    def map(self, path, captures, instructions):
        for hook in captures:
            hook.dispose()
        return self

    async def pull(self):
        raise self.error


def _member(target, name):
    """`target.name` if the RPC rules allow reaching it."""
    if type(name) is not str:
        return None
    if name.startswith("_"):
        raise RpcTypeError(f"'{name}' is private and cannot be accessed over RPC.")
    try:
        attr = inspect.getattr_static(type(target), name)
    except AttributeError:
        if name in getattr(target, "__dict__", {}):
            raise RpcTypeError(
                f"Attempted to access property '{name}', which is an instance property of the "
                "RpcTarget. Define it as a method or property on the class to make it available."
            ) from None
        return None
    if not (
        callable(attr)
        or isinstance(attr, (property, staticmethod, classmethod))
        or hasattr(attr, "__get__")
    ):
        return None  # plain class data stays private, like the reference's instance fields
    return getattr(target, name)


def follow(value, path):
    """Walk `path` from `value`: returns (value, None) or, where the walk reaches a stub,
    (None, (hook, remaining path))."""
    from .stubs import RpcStub

    for i, part in enumerate(path):
        if isinstance(value, RpcStub):
            return None, (value._hook, value._path + list(path[i:]))
        if isinstance(value, RpcTarget):
            value = _member(value, part)
        elif type(value) is dict:
            value = value.get(part) if type(part) is str else None
        elif type(value) is list:
            value = value[part] if type(part) is int and 0 <= part < len(value) else None
        else:
            if type(part) is str and part.startswith("_"):
                raise RpcTypeError(f"'{part}' is private and cannot be accessed over RPC.")
            value = None
    if isinstance(value, RpcStub):
        return None, (value._hook, list(value._path))
    return value, None


class ValueHook(Hook):
    """A local value. Calls run here: sync functions at once, coroutines as tasks."""

    __slots__ = ("value",)

    def __init__(self, value):
        self.value = value

    def _at(self, path):
        """`follow(path)`, with a refused path as an ErrorHook to delegate to."""
        try:
            return follow(self.value, path)
        except Exception as exc:
            return None, (ErrorHook(exc), [])

    def call(self, path, args, pending=None):
        func, stub = self._at(path)
        if stub is not None:
            return stub[0].call(stub[1], args, pending)
        if not callable(func) or isinstance(func, type):
            return ErrorHook(RpcTypeError(f"'{'.'.join(map(str, path))}' is not a function."))
        return invoke(func, args, pending)

    def get(self, path):
        value, stub = self._at(path)
        if stub is not None:
            return stub[0].get(stub[1])
        return ValueHook(value)

    def map(self, path, captures, instructions):
        from .mapper import apply_map

        value, stub = self._at(path)
        if stub is not None:
            return stub[0].map(stub[1], captures, instructions)
        return apply_map(value, captures, instructions)

    def __repr__(self):
        return f"ValueHook({type(self.value).__name__})"

    async def pull(self):
        from .stubs import RpcPromise

        value = self.value
        if isinstance(value, RpcPromise):
            return await value
        return value


def invoke(func, args, pending=None):
    """Call a local function with decoded arguments; a hook for its result."""
    if pending:
        return PromiseHook(asyncio.ensure_future(_invoke_later(func, args, pending)))
    try:
        result = func(*args)
    except Exception as exc:
        return ErrorHook(exc)
    if inspect.isawaitable(result):
        return PromiseHook(asyncio.ensure_future(_result_hook(result)))
    return ValueHook(result)


async def _invoke_later(func, args, pending):
    from .stubs import settle

    await settle(args, pending)
    result = func(*args)
    if inspect.isawaitable(result):
        result = await result
    return ValueHook(result)


async def _result_hook(awaitable):
    return ValueHook(await awaitable)


class PromiseHook(Hook):
    """A hook known later: `future` resolves to another hook."""

    __slots__ = ("future",)

    def __init__(self, future):
        self.future = future
        future.add_done_callback(_consume_exception)

    def _then(self, step):
        return PromiseHook(asyncio.ensure_future(_chain(self.future, step)))

    def call(self, path, args, pending=None):
        return self._then(lambda hook: hook.call(path, args, pending))

    def get(self, path):
        if not path:
            return self
        return self._then(lambda hook: hook.get(path))

    def map(self, path, captures, instructions):
        return self._then(lambda hook: hook.map(path, captures, instructions))

    async def pull(self):
        hook = await self.future
        return await hook.pull()

    def dispose(self):
        if self.future.done():
            if not self.future.cancelled() and self.future.exception() is None:
                self.future.result().dispose()
        else:
            self.future.add_done_callback(_dispose_result)


async def _chain(future, step):
    return step(await future)


def payload_hook(value, pending):
    """A hook owning a decoded value: the promise itself when the whole value is one."""
    from .stubs import take_hook

    if pending and pending[-1][0] is None:
        return take_hook(pending.pop()[2])
    if pending:
        return PromiseHook(asyncio.ensure_future(_settled(value, pending)))
    return ValueHook(value)


async def _settled(value, pending):
    from .stubs import settle

    return ValueHook(await settle(value, pending))


def _consume_exception(future):
    # A failed call nobody awaits is not an "exception never retrieved" warning: the
    # error reaches whoever pulls the result.
    if not future.cancelled():
        future.exception()


def _dispose_result(future):
    if not future.cancelled() and future.exception() is None:
        future.result().dispose()
