"""`App`: routes, middleware, hooks, plugins and shared state, and the request and
WebSocket pipelines every transport runs.

An HTTP request goes: middleware in order (any may set `res.stop`), the
`http:<method>` hooks (same), the route handler, the `http:<method>:after` hooks.
Each of them may be sync or async. A request no route matches is a 404 (a 405 with
`Allow` when the path exists for other methods); an exception anywhere is a 500 with a
JSON error and the traceback in the log.
"""

import inspect
import json
import logging
import os
import sys
from dataclasses import dataclass
from types import SimpleNamespace

from . import pipeline
from .body import BadRequest, parse_body, parse_multipart
from .context import HTTPContext, Request, Response, ServerContext, WSContext, WSMessage
from .render import json_bytes, render
from .responses import error, static_file
from .routing import Router
from .settings import settings as global_settings

__all__ = ["App", "Plugin", "log", "log_to_erlang"]

log = logging.getLogger("pykrozen")


def log_to_erlang():
    """Inside Hornbeam, sends pykrozen's log records (tracebacks of failed requests)
    to Erlang's logger instead of stderr. Does nothing elsewhere."""
    try:
        import _erlang  # noqa: F401 - only present inside Hornbeam
        import hornbeam_erlang
    except ImportError:
        return
    if not any(isinstance(h, hornbeam_erlang.LogHandler) for h in log.handlers):
        log.addHandler(hornbeam_erlang.LogHandler())
        log.propagate = False


_isawaitable = inspect.isawaitable
_BEFORE = {
    m: f"http:{m.lower()}" for m in ("GET", "POST", "PUT", "DELETE", "PATCH", "HEAD", "OPTIONS")
}
_AFTER = {m: k + ":after" for m, k in _BEFORE.items()}
_EVENTS = frozenset(
    list(_BEFORE.values())
    + list(_AFTER.values())
    + ["ws:connect", "ws:message", "ws:disconnect", "server:start", "server:stop"]
)
_INVALID_JSON = '{"error":"invalid json"}'


@dataclass
class Plugin:
    """Reusable set-up: subclass it and register routes, middleware and hooks on the
    app in `setup`. `app.plugin(p)` calls `setup` once."""

    name: str = "plugin"

    def setup(self, app):
        pass


class App:
    """What a pykrozen application is. The package's global `app` is one; make more
    for separate apps (each has its own routes and hooks).

    An App is also an ASGI application: `hornbeam:start("mod:app", #{worker_class =>
    asgi})`, or any other ASGI server, serves it.
    """

    def __init__(self, settings=None):
        self._settings = settings
        self.state = SimpleNamespace()
        self.router = Router()
        self.middleware = []
        self.hooks = {}
        self.plugins = []
        # "standalone", "asgi" or "reactor" once something serves the app.
        self.mode = None
        self.router.add("GET", "/_internal/health", self._health)
        self.router.add("GET", "/_internal/info", self._info)

    @property
    def settings(self):
        return self._settings if self._settings is not None else global_settings

    # Registration

    def route(self, method, path):
        """Decorator: `fn(req)` answers `method` requests for `path`."""

        def register(fn):
            self.router.add(method, path, fn)
            return fn

        return register

    def get(self, path):
        return self.route("GET", path)

    def post(self, path):
        return self.route("POST", path)

    def put(self, path):
        return self.route("PUT", path)

    def delete(self, path):
        return self.route("DELETE", path)

    def patch(self, path):
        return self.route("PATCH", path)

    def use(self, fn):
        """Registers middleware `fn(req, res)`, run on every HTTP request in order."""
        self.middleware.append(fn)
        return fn

    def on(self, event):
        """Decorator: `fn(ctx)` runs on `event` (see the README's table)."""
        if event not in _EVENTS:
            raise ValueError(f"unknown event {event!r}; one of {', '.join(sorted(_EVENTS))}")

        def register(fn):
            self.hooks.setdefault(event, []).append(fn)
            return fn

        return register

    def plugin(self, plugin):
        """Registers a plugin: calls its `setup(app)`. Returns the app."""
        self.plugins.append(plugin)
        plugin.setup(self)
        return self

    def static(self, prefix="/static", directory=None):
        """Serves the files under `directory` (default: `settings.base_dir / "static"`,
        looked up per request) at `prefix/...`. Paths that would leave the directory
        are 404s."""
        prefix = prefix.rstrip("/")

        def serve_static(req):
            root = directory if directory is not None else self.settings.base_dir / "static"
            return static_file(root, req.params["path"])

        self.router.add("GET", f"{prefix}/*path", serve_static)
        return serve_static

    def upload(self, path, handler):
        """A POST route at `path` for `multipart/form-data` uploads: `handler(files)`,
        or `handler(files, req)`, gets the list of UploadedFile (`field`, `filename`,
        `content_type`, `content`); the non-file fields are in `req.extra["form"]`."""
        takes_request = len(inspect.signature(handler).parameters) >= 2

        def receive_upload(req):
            try:
                files, fields = parse_multipart(req.headers.get("content-type"), req.raw_body)
            except BadRequest as exc:
                return error(exc.message, exc.status)
            req.extra["form"] = fields
            return handler(files, req) if takes_request else handler(files)

        self.router.add("POST", path, receive_upload)
        return receive_upload

    # Events

    def emit(self, event, ctx):
        """Runs `event`'s hooks with `ctx`, stopping after one sets `ctx.stop` (or
        `ctx.res.stop`). Returns `ctx`, or an awaitable of it if a hook is async."""
        return pipeline.run(self._emit_steps(event, ctx))

    def _emit_steps(self, event, ctx):
        yield from _each(
            self.hooks.get(event, ()), (ctx,), ctx.res if isinstance(ctx, HTTPContext) else ctx
        )
        return ctx

    def server_context(self, server, mode):
        self.set_mode(mode)
        return ServerContext(server, self, mode)

    def set_mode(self, mode):
        """What serves the app now; inside Hornbeam, logs go to Erlang from here on."""
        self.mode = mode
        if mode != "standalone":
            log_to_erlang()

    # HTTP

    def make_request(self, method, path, headers, query, raw_body, query_string="", client=None):
        """A Request with its body parsed (BadRequest if it cannot be)."""
        body = parse_body(headers.get("content-type"), raw_body)
        return Request(method, path, headers, query, body, {}, raw_body, query_string, client)

    def handle(self, req, raw_path=None):
        """The Response for `req`, or an awaitable of it. Never raises: failures are
        answered (500, with the traceback logged)."""
        try:
            outcome = pipeline.run(self._http_steps(req, raw_path))
        except Exception as exc:
            return self.failure(req, exc)
        if outcome.__class__ is Response:
            return outcome
        return self._await_handled(req, outcome)

    async def _await_handled(self, req, pending):
        try:
            return await pending
        except Exception as exc:
            return self.failure(req, exc)

    def _http_steps(self, req, raw_path):
        res = Response()
        if (yield from _each(self.middleware, (req, res), res)):
            return res
        method = req.method
        hooks = self.hooks
        before = hooks.get(_BEFORE.get(method))
        if before and (yield from _each(before, (HTTPContext(req, res),), res)):
            return res
        router = self.router
        match = router.match(method, req.path, raw_path)
        if match is None and method == "HEAD":
            match = router.match("GET", req.path, raw_path)
        if match is None:
            allowed = router.allowed(req.path, raw_path)
            if allowed:
                res.status, res.body = 405, {"error": "method not allowed", "allow": allowed}
                res.headers["Allow"] = ", ".join(allowed)
            else:
                res.status, res.body = 404, {"error": "not found", "path": req.path}
        else:
            req.params = match.params
            result = match.handler(req)
            if result is not None and _isawaitable(result):
                result = yield result
            _apply(result, res)
        after = hooks.get(_AFTER.get(method))
        if after:
            yield from _each(after, (HTTPContext(req, res),), res)
        return res

    def failure(self, req, exc):
        """The 500 for an exception while serving `req` (logged with its traceback)."""
        log.error("%s %s raised %s", req.method, req.path, type(exc).__name__, exc_info=exc)
        body = {"error": "internal server error"}
        if self.settings.debug:
            body["detail"] = f"{type(exc).__name__}: {exc}"
        return Response(500, body)

    def encode(self, req, res):
        """`render(res)`, or the 500 if the response cannot be sent (a bad status, a
        body JSON cannot encode)."""
        try:
            return render(res)
        except Exception as exc:
            return render(self.failure(req, exc))

    def bad_request(self, exc):
        """The response for a request the transport could not read (BadRequest)."""
        return Response(exc.status, {"error": exc.message})

    # Internal routes

    def _health(self, req):
        return {"body": {"status": "ok"}}

    def _info(self, req):
        return {
            "body": {
                "server": "pykrozen",
                "mode": self.mode,
                "pid": os.getpid(),
                "python": sys.version.split()[0],
                "ws_path": self.settings.ws_path,
                "workers": self.settings.workers if self.mode == "standalone" else None,
                "routes": [
                    f"{m} {p}" for m, p in self.router.patterns if not p.startswith("/_internal/")
                ],
            }
        }

    # WebSocket

    def ws_connect(self, ws):
        return self.emit("ws:connect", WSContext(ws))

    def ws_disconnect(self, ws):
        return self.emit("ws:disconnect", WSContext(ws))

    def ws_message(self, ws, payload):
        """Runs the `ws:message` hooks for one message (`str` text or `bytes`). Returns
        what to send back (str, bytes or None), or an awaitable of it."""
        if payload.__class__ is str:
            try:
                data = json.loads(payload)
            except ValueError:
                return _INVALID_JSON
            binary = False
        else:
            data, binary = payload, True
        return pipeline.run(self._ws_message_steps(WSMessage(ws, data, binary=binary)))

    def _ws_message_steps(self, ctx):
        yield from _each(self.hooks.get("ws:message", ()), (ctx,), ctx)
        if ctx.reply is not None:
            return encode_ws(ctx.reply)
        if ctx.stop:
            return None
        if ctx.binary:
            return ctx.data
        return json_bytes({"echo": ctx.data}).decode()

    # ASGI

    async def __call__(self, scope, receive, send):
        await _asgi_serve(self, scope, receive, send)


def encode_ws(value):
    """What goes on the wire for a reply or `client.send`: bytes as binary, str as
    text, anything else as JSON text."""
    kind = value.__class__
    if kind is str or kind is bytes:
        return value
    if kind is bytearray or kind is memoryview:
        return bytes(value)
    return json_bytes(value).decode()


def _each(fns, args, holder):
    """Pipeline steps: calls each of `fns` with `args` in order, handing out (yielding)
    the awaitables of async ones, until one sets `holder.stop`. Returns whether one
    did. Sync functions add no coroutine and no event-loop turn."""
    for fn in fns:
        result = fn(*args)
        if result is not None and _isawaitable(result):
            yield result
        if getattr(holder, "stop", False):
            return True
    return False


def _apply(result, res):
    if result is None:
        return
    kind = result.__class__
    if kind is dict:
        if "status" in result or "body" in result or "headers" in result:
            if "status" in result:
                res.status = result["status"]
            if "body" in result:
                res.body = result["body"]
            headers = result.get("headers")
            if headers:
                res.headers.update(headers)
        else:
            res.body = result  # a dict without those keys is the body itself
    elif isinstance(result, Response):
        res.status, res.body = result.status, result.body
        res.headers.update(result.headers)
    else:
        res.body = result


# Last: asgi imports names defined above.
from .asgi import serve as _asgi_serve  # noqa: E402
