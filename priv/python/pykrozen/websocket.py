"""WebSocket (RFC 6455): the client handle every transport gives hooks, and, for the
transports that own the socket (standalone and reactor), the frame codec and the
session that turns frames into `ws:*` events.

A session answers pings, reassembles fragmented messages, checks that text is UTF-8
(close 1007), that client frames are masked and well formed (1002), that a message
fits `settings.max_ws_message_size` (1009), and echoes the client's close code.
"""

import base64
import hashlib
import struct
from types import SimpleNamespace

from . import pipeline
from .application import encode_ws, log

__all__ = [
    "WSClient",
    "ProtocolError",
    "FrameParser",
    "FrameSession",
    "frame",
    "accept_key",
    "handshake_error",
]

_GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
CONT, TEXT, BINARY, CLOSE, PING, PONG = 0, 1, 2, 8, 9, 10
_pack_short = struct.Struct(">H").pack
_pack_long = struct.Struct(">Q").pack
_unpack_short = struct.Struct(">H").unpack_from
_unpack_long = struct.Struct(">Q").unpack_from


class WSClient:
    """One WebSocket connection, as hooks see it.

    `data` is a namespace for per-connection state. `send(value)` sends a dict/list
    (any JSON value) as JSON text, a str as text, bytes as binary; it returns False,
    sending nothing, once the connection is closed. `close(code, reason)` starts the
    close handshake.
    """

    __slots__ = ("data", "closed", "_sink", "__weakref__")

    def __init__(self, sink):
        self.data = SimpleNamespace()
        self.closed = False
        self._sink = sink

    def send(self, data, opcode=None):
        if self.closed:
            return False
        message = encode_ws(data)
        if opcode == TEXT and message.__class__ is bytes:
            message = message.decode()
        elif opcode == BINARY and message.__class__ is str:
            message = message.encode()
        self._sink.send_message(message)
        return True

    def close(self, code=1000, reason=""):
        if not self.closed:
            self.closed = True
            self._sink.close(code, reason)

    def __repr__(self):
        return f"<WSClient {'closed' if self.closed else 'open'}>"


def accept_key(key):
    return base64.b64encode(hashlib.sha1(key.encode("latin-1") + _GUID).digest()).decode()


def handshake_error(method, headers):
    """Why this upgrade request cannot become a WebSocket (status, message), or None."""
    if method != "GET":
        return 405, "a WebSocket handshake is a GET"
    if (
        headers.get("upgrade", "").lower() != "websocket"
        or "upgrade" not in headers.get("connection", "").lower()
    ):
        return 400, "not a WebSocket upgrade"
    if headers.get("sec-websocket-version") != "13":
        return 426, "unsupported WebSocket version (13 only)"
    key = headers.get("sec-websocket-key", "")
    try:
        if len(base64.b64decode(key, validate=True)) != 16:
            raise ValueError
    except ValueError:
        return 400, "invalid Sec-WebSocket-Key"
    return None


def frame(opcode, payload):
    """A server frame (unmasked, final) carrying `payload`."""
    n = len(payload)
    if n < 126:
        head = bytes((0x80 | opcode, n))
    elif n < 65536:
        head = bytes((0x80 | opcode, 126)) + _pack_short(n)
    else:
        head = bytes((0x80 | opcode, 127)) + _pack_long(n)
    return head + payload


def close_frame(code, reason=""):
    return frame(CLOSE, _pack_short(code) + reason.encode()[:123])


def _unmask(mask, payload):
    n = len(payload)
    if n == 0:
        return b""
    # One big-integer XOR: done in C, 30-100x faster than a byte loop.
    key = int.from_bytes((mask * (n // 4 + 1))[:n], "little")
    return (int.from_bytes(payload, "little") ^ key).to_bytes(n, "little")


class ProtocolError(Exception):
    """The client broke the protocol: close with `code`."""

    def __init__(self, code, reason):
        super().__init__(reason)
        self.code = code
        self.reason = reason


_VALID_CLOSE = (
    frozenset(range(1000, 1004)) | frozenset(range(1007, 1015)) | frozenset(range(3000, 5000))
)


class FrameParser:
    """Client frames in, (opcode, payload) messages out: TEXT with a str, BINARY with
    bytes, CLOSE with (code or None, reason), PING and PONG with bytes."""

    def __init__(self, max_message):
        self.max_message = max_message
        self.buf = bytearray()
        self.fragments = None  # the pieces of a fragmented message
        self.fragment_opcode = 0
        self.fragment_size = 0

    def feed(self, data):
        self.buf += data

    def next(self):
        """The next complete message, or None until more bytes arrive."""
        while True:
            buf = self.buf
            if len(buf) < 2:
                return None
            b0, b1 = buf[0], buf[1]
            fin, opcode, n = b0 & 0x80, b0 & 0x0F, b1 & 0x7F
            if b0 & 0x70:
                raise ProtocolError(1002, "reserved bits set (no extension was agreed)")
            if not b1 & 0x80:
                raise ProtocolError(1002, "client frames must be masked")
            at = 2
            if n == 126:
                if len(buf) < 4:
                    return None
                n, at = _unpack_short(buf, 2)[0], 4
            elif n == 127:
                if len(buf) < 10:
                    return None
                n, at = _unpack_long(buf, 2)[0], 10
                if n >> 63:
                    raise ProtocolError(1002, "frame length has the top bit set")
            if opcode >= 8:
                if not fin or n > 125:
                    raise ProtocolError(1002, "control frames are final and at most 125 bytes")
            elif opcode not in (CONT, TEXT, BINARY):
                raise ProtocolError(1002, f"unknown opcode {opcode}")
            elif (self.fragment_size if opcode == CONT else 0) + n > self.max_message:
                raise ProtocolError(1009, "message too big")
            end = at + 4 + n
            if len(buf) < end:
                return None
            payload = _unmask(bytes(buf[at : at + 4]), bytes(buf[at + 4 : end]))
            del buf[:end]
            if opcode >= 8:
                return self._control(opcode, payload)
            if opcode == CONT:
                if self.fragments is None:
                    raise ProtocolError(1002, "continuation frame without a message to continue")
                self.fragments.append(payload)
                self.fragment_size += n
                if not fin:
                    continue
                opcode, payload = self.fragment_opcode, b"".join(self.fragments)
                self.fragments = None
            elif self.fragments is not None:
                raise ProtocolError(1002, "a new message started inside a fragmented one")
            elif not fin:
                self.fragments, self.fragment_opcode, self.fragment_size = [payload], opcode, n
                continue
            if opcode == TEXT:
                try:
                    return TEXT, payload.decode()
                except UnicodeDecodeError:
                    raise ProtocolError(1007, "text message is not UTF-8") from None
            return BINARY, payload

    @staticmethod
    def _control(opcode, payload):
        if opcode != CLOSE:
            return opcode, payload
        if not payload:
            return CLOSE, (None, "")
        if len(payload) == 1:
            raise ProtocolError(1002, "close frame with a 1-byte payload")
        code = _unpack_short(payload)[0]
        if code not in _VALID_CLOSE:
            raise ProtocolError(1002, f"invalid close code {code}")
        try:
            return CLOSE, (code, payload[2:].decode())
        except UnicodeDecodeError:
            raise ProtocolError(1007, "close reason is not UTF-8") from None


class FrameSession:
    """Frames in, `ws:*` events, frames out, for a transport that owns the socket.

    The transport gives `write(bytes)` and `close()` (after what was written is
    flushed), feeds received bytes with `feed`, and calls `step()` until it returns
    None: each call handles one message and returns True, or an awaitable to await
    before the next step (an async hook). `lost()` runs `ws:disconnect` once.
    """

    def __init__(self, app, write, close_transport):
        self.app = app
        self.write = write
        self.close_transport = close_transport
        self.parser = FrameParser(app.settings.max_ws_message_size)
        self.client = WSClient(self)
        self.sent_close = False
        self.ended = False

    # The sink of the WSClient

    def send_message(self, message):
        if not self.sent_close:
            self.write(
                frame(TEXT, message.encode())
                if message.__class__ is str
                else frame(BINARY, message)
            )

    def close(self, code, reason):
        if not self.sent_close:
            self.sent_close = True
            self.write(close_frame(code, reason))

    # Driven by the transport

    def open(self):
        return self.app.ws_connect(self.client)

    def feed(self, data):
        self.parser.feed(data)

    def step(self):
        if self.ended:
            return None
        try:
            message = self.parser.next()
        except ProtocolError as exc:
            self._end(exc.code, exc.reason)
            return True
        if message is None:
            return None
        opcode, payload = message
        if opcode in (TEXT, BINARY):
            if self.sent_close:
                return True  # after our close, only the client's close matters
            try:
                reply = self.app.ws_message(self.client, payload)
            except Exception as exc:
                return self.failed(exc)
            if reply is None:
                return True
            if reply.__class__ is pipeline.Pending:
                return self._send_later(reply)
            self.send_message(reply)
        elif opcode == PING:
            if not self.sent_close:
                self.write(frame(PONG, payload))
        elif opcode == CLOSE:
            code, _ = payload
            self._end(code if code is not None else 1000, "")
        return True

    async def _send_later(self, pending):
        try:
            reply = await pending
        except Exception as exc:
            return self.failed(exc)
        if reply is not None:
            self.send_message(reply)
        return True

    def failed(self, exc, hook="ws:message"):
        """A hook raised: log it and close with 1011."""
        log.error("a %s hook raised %s; closing with 1011", hook, type(exc).__name__, exc_info=exc)
        self._end(1011, "internal error")
        return True

    def _end(self, code, reason):
        self.ended = True
        self.client.closed = True
        if not self.sent_close:
            self.sent_close = True
            self.write(close_frame(code, reason))
        self.close_transport()

    def lost(self):
        """The connection ended: `ws:disconnect`, once (an awaitable if a hook is async)."""
        self.client.closed = True
        self.ended = True
        return self.app.ws_disconnect(self.client)
