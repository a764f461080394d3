"""erlang.reactor: Python protocols on file descriptors that Erlang hands over.

Erlang accepts a connection (or opens a pipe, a Unix socket...) and gives its fd to a
reactor context with `py_reactor_context:handoff/2,3`. The context's thread watches the
fd, reads it with the GIL released, and calls the protocol made for it by the factory
set here:

    import erlang.reactor as reactor

    class Echo(reactor.Protocol):
        def data_received(self, data):
            self.write_buffer.extend(data)
            return "write_pending"

    reactor.set_protocol_factory(Echo)

Each callback returns what to wait for next: "continue" (the same event again),
"read_pending", "write_pending" or "close". Anything else, or an exception, closes
that connection (and only that one), calls `connection_lost` and logs the traceback
through Erlang's logger.

A reactor context has its own factory and connections: the state here is kept per
reactor thread, which is per context in the main interpreter too.
"""

import threading

try:
    from _hornbeam_reactor import (
        ReactorBuffer,
    )
    from _hornbeam_reactor import (
        read as _read,
    )
    from _hornbeam_reactor import (
        want_write as _want_write,
    )
    from _hornbeam_reactor import (
        write as _write,
    )
except ImportError:  # outside Hornbeam: the classes stay importable for docs and tests
    ReactorBuffer = None

    def _read(fd, size):
        raise RuntimeError("erlang.reactor I/O works only inside Hornbeam")

    _write = _want_write = _read

__all__ = [
    "Protocol",
    "ReactorBuffer",
    "ACTIONS",
    "set_protocol_factory",
    "get_protocol",
    "init_connection",
    "on_read_ready",
    "on_write_ready",
    "close_connection",
]

ACTIONS = frozenset({"continue", "write_pending", "read_pending", "close"})


class Protocol:
    """One connection's protocol. Subclass it and override the callbacks.

    Attributes set by the reactor: `fd`, `client_info` (the map given to
    `handoff`, as a dict), `write_buffer` (a bytearray the default `write_ready`
    flushes) and `closed`.
    """

    def __init__(self):
        self.fd = -1
        self.client_info = {}
        self.write_buffer = bytearray()
        self.closed = False

    def connection_made(self, fd, client_info):
        """The fd was handed over. May return an action (default: wait for data)."""
        self.fd = fd
        self.client_info = client_info

    def data_received(self, data):
        """`data` is a ReactorBuffer (bytes-like, no copy); at end of stream it is
        empty once, and only writing can follow. Returns an action."""
        return "continue"

    def write_ready(self):
        """The fd can take data: flushes `write_buffer`. Returns an action."""
        if self.write_buffer:
            del self.write_buffer[: self.write(self.write_buffer)]
        return "continue" if self.write_buffer else "read_pending"

    def connection_lost(self):
        """The connection closed (either side, or the context stopped)."""

    def read(self, size=65536):
        """Reads up to `size` bytes now: b"" at end of stream, None if nothing is
        available yet."""
        return _read(self.fd, size)

    def request_write(self):
        """Asks the reactor to call this protocol's `write_ready` after the current
        turn's callbacks. For writes made from outside this protocol's own callbacks
        (another connection's `data_received` broadcasting to this one): append to
        `write_buffer`, then call this."""
        if not self.closed:
            _want_write(self.fd)

    def write(self, data):
        """Writes what the fd takes now and returns how many bytes that was (0 if it
        would block). A peer that went away raises ConnectionError."""
        if self.closed:
            raise ConnectionError(f"fd {self.fd} is closed")
        return _write(self.fd, data)


class _ContextState(threading.local):
    """The factory and connections of the reactor context running on this thread."""

    bound = False
    factory = None

    def __init__(self):
        self.protocols = {}


_state = _ContextState()


def _bind():
    """Called by the reactor on its own thread before anything else runs there."""
    _state.bound = True


def _require_reactor_thread(what):
    if not _state.bound:
        raise RuntimeError(
            f"erlang.reactor.{what} must run in a reactor context (its setup_code or "
            "py_reactor_context:exec/2); this thread is not one"
        )


def set_protocol_factory(factory):
    """Sets what makes a protocol for each new connection of this context: a
    Protocol subclass or any callable returning a protocol."""
    _require_reactor_thread("set_protocol_factory")
    if not callable(factory):
        raise TypeError(f"the protocol factory must be callable, not {type(factory).__name__}")
    _state.factory = factory


def get_protocol(fd):
    """The protocol serving `fd` in this context, or None."""
    return _state.protocols.get(fd)


def init_connection(fd, client_info):
    """Internal (the reactor calls it on hand-off): makes the protocol and calls
    `connection_made`. Returns (protocol, action or None)."""
    if _state.factory is None:
        raise RuntimeError("no protocol factory: call erlang.reactor.set_protocol_factory first")
    proto = _state.factory()
    # Set even if a subclass skips Protocol.__init__ or connection_made's super() call.
    if not hasattr(proto, "write_buffer"):
        proto.write_buffer = bytearray()
    proto.fd = fd
    proto.client_info = client_info
    proto.closed = False
    _state.protocols[fd] = proto
    try:
        action = proto.connection_made(fd, client_info)
    except BaseException:
        del _state.protocols[fd]
        raise
    return proto, action


def on_read_ready(fd, data):
    """Internal: what the reactor does when `fd` has data (it calls the protocol
    directly, this is the same in Python)."""
    return _state.protocols[fd].data_received(data)


def on_write_ready(fd):
    """Internal: what the reactor does when `fd` can take data."""
    return _state.protocols[fd].write_ready()


def close_connection(fd):
    """Internal: forgets the protocol of `fd`, marks it closed and calls
    `connection_lost`. The reactor closes the fd afterwards."""
    proto = _state.protocols.pop(fd, None)
    if proto is None or proto.closed:
        return
    proto.closed = True
    proto.connection_lost()
