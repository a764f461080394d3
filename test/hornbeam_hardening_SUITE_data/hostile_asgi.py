"""An ASGI app that misbehaves on purpose, one route each, for hornbeam_hardening_SUITE."""
import asyncio
import os
import sys
import time

TOKEN = os.urandom(8).hex().encode()


async def send_body(send, body, status=200, headers=None):
    if headers is None:
        headers = [(b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


def _end_the_loop():
    raise SystemExit("the loop callback exits")


async def app(scope, receive, send):
    if scope["type"] != "http":
        return
    path = scope["path"]
    if path == "/token":
        await send_body(send, TOKEN)
    elif path == "/sleep":
        await asyncio.sleep(float(scope["query_string"] or b"0.5"))
        await send_body(send, TOKEN)
    elif path == "/nap":
        # A slow request that keeps the loop free.
        await asyncio.sleep(float(scope["query_string"] or b"1"))
        await send_body(send, b"slept")
    elif path == "/exit":
        sys.exit(3)
    elif path == "/keyboard":
        raise KeyboardInterrupt
    elif path == "/kill-loop":
        # An exception that escapes the event loop itself, not the request's task.
        asyncio.get_running_loop().call_soon(_end_the_loop)
        await send_body(send, b"bye")
    elif path == "/read":
        body = b""
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        await send_body(send, body)
    elif path == "/c-sleep":
        # Blocks the whole loop in C.
        time.sleep(float(scope["query_string"] or b"20"))
        await send_body(send, b"slept")
    elif path == "/short":
        await send({"type": "http.response.start", "status": 200, "headers": [(b"content-length", b"10")]})
        await send({"type": "http.response.body", "body": b"abc"})
    elif path == "/short-stream":
        await send({"type": "http.response.start", "status": 200, "headers": [(b"content-length", b"10")]})
        await send({"type": "http.response.body", "body": b"ab", "more_body": True})
        await send({"type": "http.response.body", "body": b"c"})
    elif path == "/long":
        await send({"type": "http.response.start", "status": 200, "headers": [(b"content-length", b"3")]})
        await send({"type": "http.response.body", "body": b"abcdef"})
    elif path == "/status-999":
        await send_body(send, b"no", status=999)
    else:
        await send_body(send, b"ok")
