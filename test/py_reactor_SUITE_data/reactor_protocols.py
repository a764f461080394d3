"""Protocols the reactor suite serves, besides the seed's examples."""
import json

import erlang
import erlang.reactor as reactor
from _hornbeam_reactor import _buffer_address

from seed_echo import EchoProtocol

STATS = {"partial_writes": 0, "max_pending": 0, "lost": 0}


class MeasuredEcho(EchoProtocol):
    """The seed's echo, counting partial writes (back-pressure) and the most bytes
    it ever held waiting to be written."""

    def connection_made(self, fd, client_info):
        reactor.Protocol.connection_made(self, fd, client_info)

    def data_received(self, data):
        action = super().data_received(data)
        STATS["max_pending"] = max(STATS["max_pending"], len(self.write_buffer))
        return action

    def write(self, data):
        written = super().write(data)
        if written < len(data):
            STATS["partial_writes"] += 1
        return written

    def connection_lost(self):
        STATS["lost"] += 1


def _tell(proto, *message):
    pid = proto.client_info.get("reply_to")
    if pid is not None:
        erlang.send(pid, message)


class Sink(reactor.Protocol):
    """Sends what it reads to `client_info['reply_to']` (works on pipes)."""

    def data_received(self, data):
        if not data:
            _tell(self, erlang.atom("eof"), self.fd)
            return "close"
        _tell(self, erlang.atom("data"), bytes(data))
        return "continue"

    def connection_lost(self):
        _tell(self, erlang.atom("lost"), self.fd)


class Faulty(reactor.Protocol):
    """Echoes, except: b"boom" raises, b"dance" returns an unknown action, b"bye"
    closes from the protocol's side."""

    def data_received(self, data):
        if data.startswith(b"boom"):
            return 1 / 0
        if data.startswith(b"dance"):
            return "dance"
        if data.startswith(b"bye"):
            return "close"
        self.write_buffer.extend(data)
        return "write_pending"

    def connection_lost(self):
        _tell(self, erlang.atom("lost"), self.fd)


class FailingMade(reactor.Protocol):
    def connection_made(self, fd, client_info):
        super().connection_made(fd, client_info)
        raise ValueError("refusing this connection")

    def connection_lost(self):
        _tell(self, erlang.atom("lost"), self.fd)


class Greeter(reactor.Protocol):
    """Speaks first: connection_made may return an action."""

    def connection_made(self, fd, client_info):
        super().connection_made(fd, client_info)
        self.write_buffer.extend(b"hello from python\n")
        return "write_pending"

    def data_received(self, data):
        self.write_buffer.extend(b"you said: " + data)
        return "write_pending"


class BufferProbe(reactor.Protocol):
    """Runs every ReactorBuffer operation against bytes(data) and answers with a JSON
    report; the second message checks that the first buffer, kept, is intact."""

    kept = None
    kept_copy = None

    def data_received(self, data):
        if not data:
            return "close"
        if self.kept is not None:
            ok = self.kept == self.kept_copy and bytes(self.kept) == self.kept_copy
            report = {"kept_intact": ok, "kept_type": type(self.kept).__name__}
        else:
            self.kept, self.kept_copy = data, bytes(data)
            report = probe(data)
        self.write_buffer.extend(json.dumps(report).encode() + b"\n")
        return "write_pending"


def probe(data):
    ref = bytes(data)
    results = []

    def check(name, got, want):
        same = got == want and type(got) is type(want)
        results.append({"name": name, "ok": same, "got": repr(got), "want": repr(want)})

    def raises(name, exc, fn):
        try:
            fn()
        except exc:
            results.append({"name": name, "ok": True})
        except Exception as other:  # the wrong exception
            results.append({"name": name, "ok": False, "got": repr(other)})
        else:
            results.append({"name": name, "ok": False, "got": "no exception"})

    check("type", type(data).__name__, "ReactorBuffer")
    check("len", len(data), len(ref))
    check("index 0", data[0], ref[0])
    check("index -1", data[-1], ref[-1])
    raises("index out of range", IndexError, lambda: data[len(ref)])
    check("slice", data[0:4], ref[0:4])
    check("slice negative", data[-4:], ref[-4:])
    check("slice step", data[1::3], ref[1::3])
    check("slice empty", data[5:2], ref[5:2])
    check("iteration", list(data), list(ref))
    check("startswith", data.startswith(b"GET"), ref.startswith(b"GET"))
    check("startswith tuple", data.startswith((b"POST", b"GET")), True)
    check("startswith start", data.startswith(b"/", 4), ref.startswith(b"/", 4))
    check("startswith false", data.startswith(b"PUT"), False)
    check("endswith", data.endswith(b"\r\n\r\n"), ref.endswith(b"\r\n\r\n"))
    check("endswith end", data.endswith(b"GET", 0, 3), True)
    check("find", data.find(b"\r\n"), ref.find(b"\r\n"))
    check("find missing", data.find(b"zzz"), -1)
    check("find start end", data.find(b"/", 5, 20), ref.find(b"/", 5, 20))
    check("find negative start", data.find(b"\r\n", -4), ref.find(b"\r\n", -4))
    check("find int", data.find(ord("H")), ref.find(ord("H")))
    check("find empty past end", data.find(b"", len(ref) + 1), -1)
    check("count", data.count(b"/"), ref.count(b"/"))
    check("count empty", data.count(b""), ref.count(b""))
    check("count range", data.count(b"a", 0, 10), ref.count(b"a", 0, 10))
    check("decode", data.decode(), ref.decode())
    check("decode utf-8", data.decode("utf-8"), ref.decode("utf-8"))
    check("decode latin-1 kw", data.decode(encoding="latin-1"), ref.decode("latin-1"))
    check("decode errors", data.decode("ascii", errors="replace"), ref.decode("ascii", errors="replace"))
    check("in", b"HTTP" in data, True)
    check("not in", b"nope" in data, False)
    check("in int", ord("G") in data, True)
    check("== bytes", data == ref, True)
    check("!= bytes", data != b"other", True)
    check("== bytearray", data == bytearray(ref), True)
    check("== str is False", data == ref.decode(), False)
    check("< bytes", data < ref + b"\x00", True)
    check("hash", hash(data), hash(ref))
    check("bytes()", bytes(data), ref)
    check("concat", data + b"!", ref + b"!")
    check("bytes + data", b"<" + data, b"<" + ref)
    grown = bytearray()
    grown.extend(data)
    check("bytearray.extend", bytes(grown), ref)
    check("repr", repr(data).startswith("ReactorBuffer(b'GET"), True)

    view = memoryview(data)
    check("memoryview readonly", view.readonly, True)
    check("memoryview obj", view.obj is data, True)
    check("memoryview bytes", view.tobytes(), ref)
    check("memoryview slice compare", view[:3] == b"GET", True)
    raises("memoryview write refused", TypeError, lambda: view.__setitem__(0, 1))
    method_view = data.memoryview()
    check("data.memoryview() type", type(method_view).__name__, "memoryview")
    # Zero copy: every view points at the buffer's own memory; a bytes copy does not.
    check("memoryview shares memory", _buffer_address(view), _buffer_address(data))
    check("data.memoryview() shares memory", _buffer_address(method_view), _buffer_address(data))
    check("bytes(data) is a copy", _buffer_address(ref) != _buffer_address(data), True)
    view.release()
    method_view.release()

    failures = [r for r in results if not r["ok"]]
    return {"checks": len(results), "failures": failures}


class Relay:
    """Each line a client sends goes to every *other* connection: written from the
    sender's callback into the others' buffers, flushed by request_write()."""

    peers = []


class RelayProtocol(__import__("erlang.reactor", fromlist=["Protocol"]).Protocol):
    def connection_made(self, fd, client_info):
        super().connection_made(fd, client_info)
        Relay.peers.append(self)
        self.write_buffer.extend(b"hello\n")
        return "write_pending"

    def data_received(self, data):
        if not data:
            return "close"
        for peer in Relay.peers:
            if peer is not self:
                peer.write_buffer.extend(data)
                peer.request_write()
        return "read_pending"

    def connection_lost(self):
        Relay.peers.remove(self)
