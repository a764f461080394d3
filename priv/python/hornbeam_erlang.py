"""Python talks to Erlang: shared state, pub/sub, remote calls and registered
functions, for code running inside Hornbeam (WSGI and ASGI apps, `py:call`, reactor
protocols).

    from hornbeam_erlang import state_incr, publish, subscribe, rpc_call, call

    views = state_incr("views:/home")          # atomic, shared by every interpreter
    publish("chat:lobby", {"from": "ann", "text": "hi"})
    for message in subscribe("chat:lobby"):    # `async for` in ASGI code
        ...
    rpc_call("worker@host", "erlang", "node", [])
    call("my_fun", 1, 2)                       # hornbeam:register_function/2

Each call is a round trip to an Erlang process; the calling thread waits with its GIL
released. Values cross as docs/term-conversion.md says: what goes in comes back equal
and of the same type (str vs bytes, tuple vs list, big ints, nested dicts). A `str` is
a binary in Erlang: `state_set("k", 1)` is `hornbeam_state:get(<<"k">>)` there.
"""

import asyncio
import logging
from typing import ClassVar

import erlang
from erlang import ErlangError, UnknownFunctionError

__all__ = [
    "state_get",
    "state_set",
    "state_delete",
    "state_incr",
    "state_decr",
    "state_get_multi",
    "state_keys",
    "rpc_call",
    "rpc_cast",
    "nodes",
    "node",
    "publish",
    "subscribe",
    "Subscription",
    "call",
    "cast",
    "LogHandler",
    "ErlangError",
    "UnknownFunctionError",
    "RpcError",
]

_call = erlang.call


class RpcError(ErlangError):
    """`rpc_call` failed: the node is unreachable or went down (`reason` is
    "noconnection"), or the function raised there ("exception")."""

    def __init__(self, reason, message):
        super().__init__(message)
        self.reason = reason


# Shared state (ETS, Erlang module hornbeam_state)


def state_get(key):
    """The value stored under `key`, or None."""
    return _call("hornbeam.state_get", key)


def state_set(key, value):
    _call("hornbeam.state_set", key, value)


def state_delete(key):
    _call("hornbeam.state_delete", key)


def state_incr(key, delta=1):
    """Adds `delta` atomically (a missing key counts from 0); the new value."""
    return _call("hornbeam.state_incr", key, delta)


def state_decr(key, delta=1):
    """Subtracts `delta` atomically; the new value."""
    return _call("hornbeam.state_incr", key, -delta)


def state_get_multi(keys):
    """A dict of the given keys that are present, with their values."""
    return _call("hornbeam.state_get_multi", list(keys))


def state_keys(prefix=None):
    """Every key, or the `str` keys starting with `prefix`."""
    return _call("hornbeam.state_keys", prefix)


# Distribution (distributed Erlang, Erlang module hornbeam_dist)


def rpc_call(node, module, function, args=(), timeout_ms=5000):
    """Runs `module:function(*args)` on `node` and returns its result. Raises
    `TimeoutError` after `timeout_ms`, `RpcError` if the node is unreachable or the
    function failed there (the message names the Erlang reason)."""
    result = _call(
        "hornbeam.rpc_call", str(node), str(module), str(function), list(args), timeout_ms
    )
    if result[0] == "ok":
        return result[1]
    _, reason, message = result
    if reason == "timeout":
        raise TimeoutError(message)
    raise RpcError(str(reason), message)


def rpc_cast(node, module, function, args=()):
    """Runs `module:function(*args)` on `node` without waiting for it."""
    _call("hornbeam.rpc_cast", str(node), str(module), str(function), list(args))


def nodes():
    """The names of the connected nodes."""
    return _call("hornbeam.nodes")


def node():
    """This node's name."""
    return _call("hornbeam.node")


# Pub/sub (pg, Erlang module hornbeam_pubsub)


def publish(topic, message):
    """Sends `message` to every subscriber of `topic` in the cluster, Python and
    Erlang; returns how many there were."""
    return _call("hornbeam.publish", topic, message)


def subscribe(topic):
    """A `Subscription` to `topic`: what is published from now on, on any node."""
    return Subscription(topic)


# How long a blocking wait lasts before Python code runs again, so a stopping server
# can interrupt a thread iterating over a quiet topic.
_WAIT_SLICE = 0.25


def _wake(arrived):
    """`add_reader`'s callback: the mailbox's eventfd is readable."""
    if not arrived.done():
        arrived.set_result(None)


class Subscription:
    """Messages published on one topic, oldest first.

    Iterate over it in WSGI or other synchronous code (each step blocks, GIL
    released, until a message comes), or with `async for` on an asyncio loop. `get`
    waits at most `timeout` seconds. `close()` (or leaving a `with` block) ends it.
    """

    def __init__(self, topic):
        self.topic = topic
        self._id, self._fd = erlang.mailbox_new()
        try:
            outcome = _call("hornbeam.subscribe", topic, self._id)
        except BaseException:
            erlang.mailbox_close(self._id)
            raise
        if outcome != "ok":
            erlang.mailbox_close(self._id)
            raise ErlangError(f"cannot subscribe to {topic!r}: {outcome!r}")
        self._closed = False
        # The loop watching the mailbox's eventfd while `async for` waits, if any.
        self._watching = None

    def get(self, timeout=None):
        """The next message; None if `timeout` seconds pass first. Raises EOFError
        once the subscription is closed."""
        if timeout is not None:
            got = erlang.mailbox_get(self._id, float(timeout))
            return None if got is None else got[0]
        while True:
            got = erlang.mailbox_get(self._id, _WAIT_SLICE)
            if got is not None:
                return got[0]

    def get_nowait(self):
        """The next message if one is waiting, else None."""
        got = erlang.mailbox_get(self._id, 0.0)
        return None if got is None else got[0]

    def __iter__(self):
        return self

    def __next__(self):
        try:
            return self.get()
        except EOFError:
            raise StopIteration from None

    def __aiter__(self):
        return self

    async def __anext__(self):
        loop = asyncio.get_running_loop()
        while True:
            try:
                got = erlang.mailbox_get(self._id, 0.0)
            except EOFError:
                raise StopAsyncIteration from None
            if got is not None:
                return got[0]
            arrived = loop.create_future()
            loop.add_reader(self._fd, _wake, arrived)
            self._watching = loop
            try:
                await arrived
            finally:
                self._unwatch()

    def _unwatch(self):
        if self._watching is not None:
            self._watching.remove_reader(self._fd)
            self._watching = None

    def close(self):
        if not self._closed:
            self._closed = True
            # The eventfd closes with the mailbox: no loop may watch it any more.
            self._unwatch()
            erlang.mailbox_close(self._id)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def __del__(self):
        if not getattr(self, "_closed", True):
            try:
                self.close()
            except Exception:
                pass

    def __repr__(self):
        return f"<Subscription {self.topic!r}{' closed' if self._closed else ''}>"


# Registered Erlang functions (hornbeam:register_function/2,3)


def call(name, *args):
    """Runs the Erlang function registered as `name` with `args` (as one list) and
    returns its result. Raises `UnknownFunctionError` for an unknown name and
    `ErlangError` (naming the Erlang reason) if the function failed."""
    return _call(name, *args)


def cast(name, *args):
    """Starts the Erlang function registered as `name` and returns at once; its
    result and failures are dropped. An unknown name raises at once."""
    _call("hornbeam.cast", name, list(args))


# Logging


class LogHandler(logging.Handler):
    """Sends Python log records to Erlang's `logger` (metadata `hornbeam => python`,
    `python_logger => Name`), so they land where the node's other logs do:

        logging.getLogger("myapp").addHandler(hornbeam_erlang.LogHandler())
    """

    _LEVELS: ClassVar[dict[int, str]] = {
        logging.DEBUG: "debug",
        logging.INFO: "info",
        logging.WARNING: "warning",
        logging.ERROR: "error",
        logging.CRITICAL: "critical",
    }

    def emit(self, record):
        try:
            level = self._LEVELS.get(record.levelno) or (
                "error" if record.levelno > logging.WARNING else "info"
            )
            _call("hornbeam.log", level, record.name, self.format(record))
        except Exception:
            self.handleError(record)
