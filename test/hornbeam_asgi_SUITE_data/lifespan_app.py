"""ASGI applications with different lifespan behaviour."""
import json
import os

SHUTDOWN_MARK = os.path.join(os.path.dirname(os.path.abspath(__file__)), "lifespan_shutdown.txt")


async def state_response(scope, send):
    state = scope.get("state")
    body = json.dumps({"has_state": state is not None, "state": state or {}}).encode()
    await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"application/json")]})
    await send({"type": "http.response.body", "body": body})


async def ok_app(scope, receive, send):
    """Startup stores state; shutdown leaves a mark on disk."""
    if scope["type"] == "lifespan":
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                scope["state"]["db"] = "connected"
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                with open(SHUTDOWN_MARK, "w") as f:
                    f.write("shutdown complete")
                await send({"type": "lifespan.shutdown.complete"})
                return
    else:
        await state_response(scope, send)


async def failing_app(scope, receive, send):
    if scope["type"] == "lifespan":
        await receive()
        await send({"type": "lifespan.startup.failed", "message": "database unreachable"})
        return
    await state_response(scope, send)


async def no_lifespan_app(scope, receive, send):
    """Refuses every scope but http, as many small apps do."""
    if scope["type"] != "http":
        raise ValueError(f"unsupported scope {scope['type']}")
    await state_response(scope, send)
