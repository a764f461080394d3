"""Cap'n Web for Python: capability-based RPC, wire-compatible with the JavaScript
`capnweb` package (0.12).

    class Api(RpcTarget):
        async def hello(self, name):
            return f"Hello, {name}!"

    server = await new_websocket_rpc_server("127.0.0.1", 8080, Api())
    api = await new_websocket_rpc_session("ws://127.0.0.1:8080/")
    print(await api.hello("World"))

Inside Hornbeam: `app = capnweb.asgi_app(Api())` and
`hornbeam:start("api:app", #{worker_class => asgi})`.
"""

from .asgi import asgi_app
from .batch import new_http_batch_rpc_response, new_http_batch_rpc_session
from .codec import BigInt, Limits, deserialize, serialize, undefined
from .errors import RpcError, RpcRangeError, RpcSessionClosed, RpcTypeError
from .hooks import RpcTarget
from .options import RpcSessionOptions
from .session import RpcSession, Transport
from .stubs import RpcPromise, RpcStub
from .websocket import (
    Connection,
    RpcServer,
    new_websocket_rpc_server,
    new_websocket_rpc_session,
    websocket_rpc_session,
)

__version__ = "0.12.0"

__all__ = [
    "RpcTarget",
    "RpcStub",
    "RpcPromise",
    "RpcSession",
    "RpcSessionOptions",
    "Transport",
    "RpcError",
    "RpcTypeError",
    "RpcRangeError",
    "RpcSessionClosed",
    "BigInt",
    "Limits",
    "undefined",
    "serialize",
    "deserialize",
    "new_websocket_rpc_session",
    "websocket_rpc_session",
    "new_websocket_rpc_server",
    "RpcServer",
    "Connection",
    "new_http_batch_rpc_session",
    "new_http_batch_rpc_response",
    "asgi_app",
]
