"""The ASGI app the hface client tests reach through servers no one here wrote
(hypercorn). / says who answers, /long streams 4 MiB, /echo sends the body back."""

CHUNK = b"x" * 65536


async def app(scope, receive, send):
    if scope["type"] == "lifespan":
        while (await receive())["type"] != "lifespan.shutdown":
            await send({"type": "lifespan.startup.complete"})
        await send({"type": "lifespan.shutdown.complete"})
        return
    path = scope["path"]
    headers = [(b"content-type", b"text/plain")]
    await send({"type": "http.response.start", "status": 200, "headers": headers})
    if path == "/long":
        for _ in range(64):
            await send({"type": "http.response.body", "body": CHUNK, "more_body": True})
        await send({"type": "http.response.body", "body": b""})
    elif path == "/echo":
        more = True
        while more:
            message = await receive()
            more = message.get("more_body", False)
            await send(
                {"type": "http.response.body", "body": message.get("body", b""), "more_body": True}
            )
        await send({"type": "http.response.body", "body": b""})
    else:
        body = f"hypercorn says hello over HTTP/{scope['http_version']} at {path}\n"
        await send({"type": "http.response.body", "body": body.encode()})
