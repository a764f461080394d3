"""A Starlette application: routing, JSON, streaming, server-sent events, WebSocket,
lifespan."""
import asyncio
import contextlib

from starlette.applications import Starlette
from starlette.responses import JSONResponse, PlainTextResponse, StreamingResponse
from starlette.routing import Route, WebSocketRoute
from starlette.websockets import WebSocket, WebSocketDisconnect


@contextlib.asynccontextmanager
async def lifespan(app):
    yield {"started": True}


async def home(request):
    return PlainTextResponse("Hello from Starlette")


async def item(request):
    return JSONResponse({"id": request.path_params["item_id"], "q": request.query_params.get("q"),
                         "started": request.state.started})


async def echo(request):
    return JSONResponse(await request.json())


async def stream(request):
    async def numbers():
        for i in range(5):
            yield f"{i};"
            await asyncio.sleep(0)
    return StreamingResponse(numbers(), media_type="text/plain")


async def sse(request):
    async def ticks():
        for i in range(3):
            yield f"data: tick {i}\r\n\r\n"
            await asyncio.sleep(0.01)
    return StreamingResponse(ticks(), media_type="text/event-stream")


async def room(websocket: WebSocket):
    await websocket.accept()
    await websocket.send_json({"room": websocket.path_params["name"], "started": websocket.state.started})
    try:
        while True:
            message = await websocket.receive_json()
            if message.get("leave"):
                await websocket.close(code=4001, reason="left")
                return
            await websocket.send_json({"echo": message})
    except WebSocketDisconnect:
        pass


async def boom(request):
    raise RuntimeError("starlette handler failed")


app = Starlette(
    routes=[
        Route("/", home),
        Route("/items/{item_id:int}", item),
        Route("/echo", echo, methods=["POST"]),
        Route("/stream", stream),
        Route("/sse", sse),
        Route("/boom", boom),
        WebSocketRoute("/rooms/{name}", room),
    ],
    lifespan=lifespan,
)
