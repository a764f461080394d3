"""The ASGI app bench/http_asgi.sh and bench/http3.sh serve: 13 bytes at /, 10 KiB at
/10k, 100 MiB streamed in 1 MiB chunks at /100m, and a WebSocket echo at /ws."""
SMALL = b"Hello, World!"
LARGE = b"x" * 10240
MEBIBYTE = b"x" * (1 << 20)


async def app(scope, receive, send):
    if scope["type"] == "websocket":
        await receive()
        await send({"type": "websocket.accept"})
        while True:
            event = await receive()
            if event["type"] == "websocket.disconnect":
                return
            await send({"type": "websocket.send", "text": event.get("text"), "bytes": event.get("bytes")})
    if scope["type"] != "http":
        return
    if scope["path"] == "/100m":
        await send({"type": "http.response.start", "status": 200,
                    "headers": [(b"content-length", str(100 << 20).encode())]})
        for _ in range(100):
            await send({"type": "http.response.body", "body": MEBIBYTE, "more_body": True})
        await send({"type": "http.response.body", "body": b""})
        return
    body = LARGE if scope["path"] == "/10k" else SMALL
    await send({"type": "http.response.start", "status": 200,
                "headers": [(b"content-type", b"text/plain"), (b"content-length", str(len(body)).encode())]})
    await send({"type": "http.response.body", "body": body})
