"""Message transports: WebSocket (one JSON message per text frame) over the `websockets`
library or an ASGI connection, and the two ends of an HTTP batch."""

import asyncio
import collections

from .errors import RpcSessionClosed
from .session import Transport

_CLOSE = object()
ABORT_CLOSE_CODE = 3000  # what the reference closes with when a session aborts


def close_reason(error):
    """The reason text of a close frame: at most 123 bytes of UTF-8."""
    return str(error).encode("utf-8")[:123].decode("utf-8", "ignore")


class QueuedTransport(Transport):
    """`send` queues; one writer task writes in order, then closes after an abort."""

    def __init__(self):
        self._outbox = collections.deque()
        self._wake = asyncio.Event()
        self._closing = None
        self._writer = asyncio.ensure_future(self._write_loop())

    def send(self, text):
        if self._closing is None:
            self._outbox.append(text)
            self._wake.set()

    def abort(self, error):
        if self._closing is None:
            self._closing = error
            self._outbox.append(_CLOSE)
            self._wake.set()

    async def _write_loop(self):
        outbox = self._outbox
        try:
            while True:
                await self._wake.wait()
                self._wake.clear()
                while outbox:
                    item = outbox.popleft()
                    if item is _CLOSE:
                        await self._close(self._closing)
                        return
                    await self._write(item)
        except Exception:
            # The connection is gone; the read side reports it to the session.
            outbox.clear()

    async def _write(self, text):
        raise NotImplementedError

    async def _close(self, error):
        raise NotImplementedError


class WebSocketTransport(QueuedTransport):
    """Over a `websockets` (asyncio API) connection, client or server side."""

    def __init__(self, websocket):
        self.websocket = websocket
        super().__init__()

    async def receive(self):
        import websockets

        try:
            message = await self.websocket.recv()
        except websockets.ConnectionClosed as closed:
            raise RpcSessionClosed(f"Peer closed WebSocket: {_close_text(closed)}") from None
        return message if type(message) is str else message.decode("utf-8")

    async def _write(self, text):
        await self.websocket.send(text)

    async def _close(self, error):
        reason = close_reason(error)
        await self.websocket.close(ABORT_CLOSE_CODE, reason)


def _close_text(closed):
    frame = closed.rcvd or closed.sent
    return f"{frame.code} {frame.reason}".strip() if frame else "1006 connection lost"


class AsgiWebSocketTransport(QueuedTransport):
    """Over an accepted ASGI `websocket` connection."""

    def __init__(self, receive, send):
        self._receive = receive
        self._send = send
        super().__init__()

    async def receive(self):
        event = await self._receive()
        kind = event["type"]
        if kind == "websocket.receive":
            text = event.get("text")
            return text if text is not None else event.get("bytes", b"").decode("utf-8")
        if kind == "websocket.disconnect":
            code = event.get("code", 1005)
            reason = event.get("reason") or ""
            raise RpcSessionClosed(f"Peer closed WebSocket: {code} {reason}".strip())
        raise RpcSessionClosed(f"unexpected ASGI event {kind!r}")

    async def _write(self, text):
        await self._send({"type": "websocket.send", "text": text})

    async def _close(self, error):
        await self._send(
            {"type": "websocket.close", "code": ABORT_CLOSE_CODE, "reason": close_reason(error)}
        )


class BatchServerTransport(Transport):
    """The server end of one HTTP batch: the request's lines in, the response's lines out."""

    def __init__(self, lines):
        self._lines = collections.deque(lines)
        self.outbox = []
        self.all_received = asyncio.get_running_loop().create_future()

    def send(self, text):
        self.outbox.append(text)

    async def receive(self):
        if self._lines:
            return self._lines.popleft()
        if not self.all_received.done():
            self.all_received.set_result(None)
        await asyncio.get_running_loop().create_future()  # nothing more, ever

    def abort(self, error):
        # An aborted batch has received all it will: its abort message is the reply.
        if not self.all_received.done():
            self.all_received.set_result(None)


class BatchClientTransport(Transport):
    """The client end of one HTTP batch. Messages collect until the event loop has gone a
    full turn with nothing new (so calls and the awaits right after them share one
    request); then `post(lines)` sends them and returns the response's lines."""

    def __init__(self, post):
        self._post = post
        self._outbox = []
        self._replies = None
        self._done = asyncio.get_running_loop().create_future()
        self._flusher = None
        self._error = None

    def send(self, text):
        if self._outbox is None:
            return  # the request is gone: later messages (releases) have nowhere to go
        self._outbox.append(text)
        if self._flusher is None:
            self._flusher = asyncio.ensure_future(self._flush_when_quiet())

    async def _flush_when_quiet(self):
        seen = -1
        while seen != len(self._outbox):
            seen = len(self._outbox)
            await asyncio.sleep(0)
        if self._error is not None:
            self._done.set_exception(self._error)
            return
        lines, self._outbox = self._outbox, None
        try:
            self._replies = collections.deque(await self._post(lines))
            self._done.set_result(None)
        except BaseException as exc:
            self._done.set_exception(
                exc if isinstance(exc, Exception) else RpcSessionClosed(str(exc))
            )
            if not isinstance(exc, Exception):
                raise

    async def receive(self):
        if self._replies is None:
            await asyncio.shield(self._done)
        if self._replies:
            return self._replies.popleft()
        raise RpcSessionClosed("Batch RPC request ended.")

    def abort(self, error):
        self._error = error
        if self._flusher is None and not self._done.done():
            self._done.set_exception(error)
            self._done.exception()
