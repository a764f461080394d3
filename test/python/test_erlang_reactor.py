"""erlang.reactor outside Hornbeam: the classes import, defaults behave, and what
needs a reactor thread says so. The reactor itself is tested by
test/py_reactor_SUITE.erl against real sockets."""

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "priv" / "python"))

import erlang.reactor as reactor


def test_actions():
    assert {"continue", "write_pending", "read_pending", "close"} == reactor.ACTIONS


def test_protocol_defaults():
    proto = reactor.Protocol()
    assert proto.fd == -1
    assert proto.client_info == {}
    assert proto.write_buffer == bytearray()
    assert proto.closed is False
    assert proto.data_received(b"x") == "continue"
    assert proto.write_ready() == "read_pending"  # nothing buffered
    proto.connection_made(7, {"addr": "127.0.0.1"})
    assert (proto.fd, proto.client_info) == (7, {"addr": "127.0.0.1"})


def test_write_after_close_raises():
    proto = reactor.Protocol()
    proto.closed = True
    with pytest.raises(ConnectionError):
        proto.write(b"late")


def test_factory_needs_a_reactor_thread():
    with pytest.raises(RuntimeError, match="must run in a reactor context"):
        reactor.set_protocol_factory(reactor.Protocol)


def test_factory_must_be_callable():
    reactor._bind()
    try:
        with pytest.raises(TypeError, match="must be callable"):
            reactor.set_protocol_factory(42)
    finally:
        reactor._state.bound = False


def test_init_and_close_connection_without_io():
    lost = []

    class Tracked(reactor.Protocol):
        def connection_made(self, fd, client_info):
            super().connection_made(fd, client_info)
            return "write_pending"

        def connection_lost(self):
            lost.append(self.fd)

    reactor._bind()
    try:
        reactor.set_protocol_factory(Tracked)
        proto, action = reactor.init_connection(99, {"type": "pipe"})
        assert action == "write_pending"
        assert reactor.get_protocol(99) is proto
        reactor.close_connection(99)
        assert proto.closed and lost == [99]
        assert reactor.get_protocol(99) is None
        reactor.close_connection(99)  # a second close is harmless
        assert lost == [99]
    finally:
        reactor._state.bound = False
        reactor._state.factory = None


def test_failing_connection_made_leaves_nothing_behind():
    class Refuses(reactor.Protocol):
        def connection_made(self, fd, client_info):
            raise ValueError("no")

    reactor._bind()
    try:
        reactor.set_protocol_factory(Refuses)
        with pytest.raises(ValueError):
            reactor.init_connection(5, {})
        assert reactor.get_protocol(5) is None
    finally:
        reactor._state.bound = False
        reactor._state.factory = None
