"""pykrozen: a small HTTP + WebSocket framework (routes, middleware, hooks, plugins),
run three ways with the same app module:

- standalone, standard library only: `Server.run()`;
- inside Hornbeam as ASGI: `hornbeam:start("myapp:app", #{worker_class => asgi})`;
- on Hornbeam's fd reactor: see `pykrozen.reactor`.

    from pykrozen import Server, settings, get

    @get("/hello")
    def hello(req):
        return {"body": {"message": "Hello, World!"}}

    settings.port = 8000
    Server.run()
"""

from .application import App, Plugin
from .body import BadRequest
from .context import (
    HTTPContext,
    Request,
    Response,
    ServerContext,
    UploadedFile,
    WSContext,
    WSMessage,
)
from .responses import error, file, html, text
from .routing import RouteConflict
from .server import Server
from .settings import Settings, settings
from .websocket import WSClient

__version__ = "1.0.0"

__all__ = [
    "Server",
    "Settings",
    "settings",
    "App",
    "Plugin",
    "Request",
    "Response",
    "WSClient",
    "WSMessage",
    "WSContext",
    "HTTPContext",
    "ServerContext",
    "UploadedFile",
    "RouteConflict",
    "BadRequest",
    "app",
    "get",
    "post",
    "put",
    "delete",
    "patch",
    "on",
    "use",
    "static",
    "upload",
    "html",
    "text",
    "error",
    "file",
]

# The global app and its decorators.
app = App()
get = app.get
post = app.post
put = app.put
delete = app.delete
patch = app.patch
on = app.on
use = app.use
static = app.static
upload = app.upload
