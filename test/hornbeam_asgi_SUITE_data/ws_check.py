"""WebSocket checks with the `websockets` client library.

Usage: ws_check.py PORT MARK_FILE. Prints JSON, one entry per check. The client offers
permessage-deflate (the library's default); "extensions" says what the server agreed to.
"""
import asyncio
import json
import sys

from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed, InvalidStatus


async def main(port, mark):
    base = f"ws://127.0.0.1:{port}"
    out = {}
    async with connect(f"{base}/ws", max_size=None) as ws:
        out["extensions"] = [e.name for e in ws.protocol.extensions]
        await ws.send("héllo")
        text = await ws.recv()
        await ws.send(b"\x00\x01\xff")
        data = await ws.recv()
        out["echo"] = [text, list(data)]
        sizes = []
        for size in (0, 125, 126, 65535, 65536, 1_000_000):
            payload = bytes(i % 251 for i in range(size))
            await ws.send(payload)
            sizes.append(await ws.recv() == payload)
        out["sizes"] = sizes
        # An iterable is sent as one message in several frames.
        await ws.send(["frag", "men", "ted"])
        out["fragmented"] = await ws.recv()
        pong = await ws.ping(b"are you there")
        await asyncio.wait_for(pong, 5)
        out["ping"] = True
        # A message over websocket_max_frame_size: the server closes with 1009. When
        # compressed it is a 3 KB bomb that inflates past the limit.
        await ws.send(b"x" * 3_000_000)
        try:
            await asyncio.wait_for(ws.recv(), 5)
            out["oversize"] = "no close"
        except ConnectionClosed as e:
            out["oversize"] = e.rcvd.code if e.rcvd else None

    async with connect(f"{base}/ws/close-4000") as ws:
        try:
            await ws.recv()
        except ConnectionClosed as e:
            out["close"] = [e.rcvd.code, e.rcvd.reason]

    try:
        async with connect(f"{base}/ws/reject"):
            out["reject"] = "accepted"
    except InvalidStatus as e:
        out["reject"] = e.response.status_code

    async with connect(f"{base}/ws/protocol", subprotocols=["chat.v2", "chat.v1"]) as ws:
        out["subprotocol"] = ws.subprotocol
        out["accept_header"] = ws.response.headers.get("x-accepted")

    async with connect(f"{base}/ws/scope") as ws:
        scope = json.loads(await ws.recv())
        out["scope"] = {k: scope.get(k) for k in ("type", "scheme", "path", "subprotocols", "http_version")}
        out["scope_has_method"] = "method" in scope

    async def client(i):
        async with connect(f"{base}/ws") as ws:
            for j in range(20):
                await ws.send(f"{i}:{j}")
                if await ws.recv() != f"{i}:{j}":
                    return False
            return True
    out["concurrent"] = sum(await asyncio.gather(*(client(i) for i in range(50))))

    # A client that vanishes without a close frame.
    ws = await connect(f"{base}/ws?mark={mark}")
    await ws.send("still here")
    await ws.recv()
    ws.transport.abort()
    print(json.dumps(out))


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1]), sys.argv[2]))
