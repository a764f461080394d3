"""Talks to the Starlette app's WebSocket route with the `websockets` library.

Usage: starlette_ws_check.py PORT. Prints JSON: what the room said, and the close.
"""
import asyncio
import json
import sys

from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed


async def main(port):
    out = {}
    async with connect(f"ws://127.0.0.1:{port}/rooms/lobby") as ws:
        out["greeting"] = json.loads(await ws.recv())
        await ws.send(json.dumps({"n": 1, "text": "hi"}))
        out["echo"] = json.loads(await ws.recv())
        await ws.send(json.dumps({"leave": True}))
        try:
            await ws.recv()
            out["close"] = "no close"
        except ConnectionClosed as e:
            out["close"] = [e.rcvd.code, e.rcvd.reason]
    print(json.dumps(out))


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1])))
