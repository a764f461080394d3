"""The feature app the pykrozen tests serve in all three modes (see conftest.py)."""

import asyncio
from dataclasses import dataclass
from pathlib import Path

from pykrozen import App, Plugin, Response, app, delete, get, on, patch, post, put, upload, use

HERE = Path(__file__).resolve().parent

app.state.started = None
app.state.clients = []
app.state.disconnects = 0
app.state.events = []


@on("server:start")
def started(ctx):
    app.state.started = ctx.mode


# Routing


@get("/users/me")
def me(req):
    return {"body": {"route": "me"}}


@get("/users/:id")
def user(req):
    return {"body": {"route": "user", "id": req.params["id"]}}


@get("/users/:id/posts/:post")
def user_post(req):
    return {"body": {"route": "user_post", **req.params}}


@get("/files/*path")
def files(req):
    return {"body": {"route": "files", "path": req.params["path"]}}


@get("/a/:x/c")
def a_x_c(req):
    return {"body": {"route": "a_x_c", "x": req.params["x"]}}


@get("/a/*rest")
def a_rest(req):
    return {"body": {"route": "a_rest", "rest": req.params["rest"]}}


@get("/search")
def search(req):
    return {"body": {"query": req.query, "path": req.path}}


@get("/headers")
def headers(req):
    return {
        "body": {
            "exact": req.headers["X-Test"],
            "lower": req.headers.get("x-test"),
            "upper": req.headers.get("X-TEST"),
            "has": "X-Test" in req.headers,
        }
    }


@post("/echo")
def echo(req):
    return {
        "status": 201,
        "body": {
            "body": req.body,
            "raw_len": len(req.raw_body),
            "content_type": req.headers.get("content-type"),
        },
    }


@put("/items/:id")
def put_item(req):
    return {"body": {"method": "PUT", "id": req.params["id"], "body": req.body}}


@delete("/items/:id")
def delete_item(req):
    return {"status": 204, "body": ""}


@patch("/items/:id")
def patch_item(req):
    return {"body": {"method": "PATCH", "id": req.params["id"]}}


@get("/async")
async def async_route(req):
    await asyncio.sleep(0.001)
    return {"body": {"async": True}}


@get("/kinds/text")
def kind_text(req):
    return {"body": "plain words", "headers": {"Content-Type": "text/plain; charset=utf-8"}}


@get("/kinds/str")
def kind_str(req):
    return {"body": "a str"}


@get("/kinds/bytes")
def kind_bytes(req):
    return {"body": b"\x00\x01\xff"}


@get("/kinds/response")
def kind_response(req):
    return Response(202, {"made": "Response"}, {"X-Made": "yes"})


@get("/kinds/none")
def kind_none(req):
    return None


@get("/kinds/bare")
def kind_bare(req):
    return {"message": "a dict without status/body/headers is the body"}


# Failures


@get("/boom")
def boom(req):
    raise RuntimeError("kaboom sync")


@get("/aboom")
async def aboom(req):
    await asyncio.sleep(0)
    raise ValueError("kaboom async")


@get("/badstatus")
def bad_status(req):
    return {"status": "teapot"}


@get("/unjsonable")
def unjsonable(req):
    return {"body": {"x": object()}}


@get("/badheader")
def bad_header(req):
    return {"body": "x", "headers": {"X-Split": "a\r\nInjected: yes"}}


# Middleware and hooks


@use
def trace(req, res):
    res.headers["X-Trace"] = "mw1"
    if req.headers.get("X-Mw-Boom"):
        raise RuntimeError("middleware kaboom")


@use
async def guard(req, res):
    res.headers["X-Trace"] += ",mw2"
    if req.path.startswith("/private") and req.headers.get("Authorization") != "letmein":
        res.status = 401
        res.body = {"error": "Unauthorized"}
        res.stop = True


@get("/private/data")
def private(req):
    return {"body": {"secret": 42}}


@on("http:get")
def before_get(ctx):
    ctx.res.headers["X-Trace"] += ",before"
    if ctx.req.path == "/hook-stop":
        ctx.res.status = 418
        ctx.res.body = {"stopped": "by hook"}
        ctx.res.stop = True


@on("http:get:after")
def after_get(ctx):
    ctx.res.headers["X-Trace"] += ",after"
    ctx.res.headers["X-Status-Seen"] = str(ctx.res.status)


@get("/hook-stop")
def hook_stop(req):
    raise AssertionError("the handler must not run after a hook stopped the request")


@on("http:post")
def before_post(ctx):
    app.state.events.append("post:" + ctx.req.path)


@get("/events")
def events(req):
    return {"body": {"events": app.state.events, "started": app.state.started}}


# Plugins


@dataclass
class StampPlugin(Plugin):
    name: str = "stamp"
    stamp: str = "none"

    def setup(self, target: App) -> None:
        @target.use
        def stamp(req, res):
            res.headers["X-Stamp"] = self.stamp

        @target.get("/plugin")
        def plugin_route(req):
            return {"body": {"plugin": self.name, "stamp": self.stamp}}


app.plugin(StampPlugin(stamp="s-123"))


# Static files and uploads

app.static("/static", directory=HERE / "static")


def received(files, req):
    return {
        "body": {
            "files": [
                {
                    "field": f.field,
                    "filename": f.filename,
                    "content_type": f.content_type,
                    "size": len(f.content),
                    "head": f.content[:16].decode("latin-1"),
                }
                for f in files
            ],
            "form": req.extra["form"],
        }
    }


upload("/upload", received)


# WebSocket


@on("ws:connect")
def ws_connect(ctx):
    ctx.ws.data.count = 0
    ctx.ws.data.name = "anonymous"
    app.state.clients.append(ctx.ws)


@on("ws:disconnect")
def ws_disconnect(ctx):
    app.state.clients.remove(ctx.ws)
    app.state.disconnects += 1


@on("ws:message")
def ws_first(ctx):
    if ctx.binary:
        return
    kind = ctx.data.get("type") if isinstance(ctx.data, dict) else None
    if kind == "ping":
        ctx.reply = {"type": "pong"}
        ctx.stop = True
    elif kind == "count":
        ctx.ws.data.count += 1
        ctx.reply = {"count": ctx.ws.data.count}
        ctx.stop = True
    elif kind == "set_name":
        ctx.ws.data.name = ctx.data["name"]
        ctx.reply = {"type": "name_set", "name": ctx.ws.data.name}
        ctx.stop = True
    elif kind == "broadcast":
        for client in app.state.clients:
            client.send({"from": ctx.ws.data.name, "text": ctx.data["text"]})
        ctx.stop = True
    elif kind == "close":
        ctx.ws.close(4001, "asked to")
        ctx.stop = True
    elif kind == "silent":
        ctx.stop = True
    elif kind == "boom":
        raise RuntimeError("ws hook kaboom")


@on("ws:message")
async def ws_second(ctx):
    if isinstance(ctx.data, dict) and ctx.data.get("type") == "async":
        await asyncio.sleep(0.001)
        ctx.reply = {"type": "async", "value": ctx.data.get("value")}


@get("/ws-stats")
def ws_stats(req):
    return {"body": {"clients": len(app.state.clients), "disconnects": app.state.disconnects}}
