"""What handlers, middleware and hooks receive: requests, responses and the contexts
passed to hooks. Plain classes with `__slots__`: one of each is made per request."""

from typing import Any, NamedTuple

__all__ = [
    "Headers",
    "Request",
    "Response",
    "HTTPContext",
    "WSContext",
    "WSMessage",
    "ServerContext",
    "UploadedFile",
]


class Headers(dict):
    """Request headers: a dict whose keys are stored lower-case and looked up in any
    case, so `headers.get("Authorization")` and `headers["content-type"]` both work.
    A header sent several times holds its values joined with ", "."""

    __slots__ = ()

    def __getitem__(self, name):
        return dict.__getitem__(self, name.lower())

    def __contains__(self, name):
        return isinstance(name, str) and dict.__contains__(self, name.lower())

    def get(self, name, default=None):
        return dict.get(self, name.lower(), default)

    def __setitem__(self, name, value):
        dict.__setitem__(self, name.lower(), value)

    def __delitem__(self, name):
        dict.__delitem__(self, name.lower())

    def add(self, name, value):
        """Adds one received header line (`name` already lower-case)."""
        if dict.__contains__(self, name):
            dict.__setitem__(self, name, dict.__getitem__(self, name) + ", " + value)
        else:
            dict.__setitem__(self, name, value)


class Request:
    """One HTTP request.

    `path` is percent-decoded, `query` holds the decoded query parameters (the last
    value of a repeated one), `params` the route's `:name`/`*name` captures, `body`
    the parsed body (see `App` for how each content type is parsed), `raw_body` its
    bytes, and `extra` whatever middleware wants to pass on.
    """

    __slots__ = (
        "method",
        "path",
        "headers",
        "query",
        "params",
        "body",
        "raw_body",
        "query_string",
        "client",
        "extra",
    )

    def __init__(
        self,
        method="GET",
        path="/",
        headers=None,
        query=None,
        body=None,
        params=None,
        raw_body=b"",
        query_string="",
        client=None,
        **extra,
    ):
        self.method = method
        self.path = path
        self.headers = (
            headers
            if isinstance(headers, Headers)
            else Headers((k.lower(), v) for k, v in (headers or {}).items())
        )
        self.query = query if query is not None else {}
        self.params = params if params is not None else {}
        self.body = body
        self.raw_body = raw_body
        self.query_string = query_string
        self.client = client
        self.extra = extra

    def __repr__(self):
        return f"Request({self.method} {self.path})"


class Response:
    """The response being built. Middleware and hooks set `status`, `body` and
    `headers`; `stop = True` in middleware or a before-hook answers with it as it is,
    without running the route handler."""

    __slots__ = ("status", "body", "headers", "stop")

    def __init__(self, status=200, body=None, headers=None, stop=False):
        self.status = status
        self.body = {} if body is None else body
        self.headers = headers if headers is not None else {}
        self.stop = stop

    def __repr__(self):
        return f"Response({self.status})"


class HTTPContext(NamedTuple):
    """Passed to `http:<method>` and `http:<method>:after` hooks."""

    req: Request
    res: Response


class WSContext(NamedTuple):
    """Passed to `ws:connect` and `ws:disconnect` hooks."""

    ws: Any  # WSClient


class WSMessage:
    """Passed to `ws:message` hooks: one message from the client.

    `data` is the parsed JSON of a text message, or the bytes of a binary one. Set
    `reply` to answer (a dict or list is sent as JSON text, str as text, bytes as
    binary); set `stop` to skip the remaining hooks and the default echo.
    """

    __slots__ = ("ws", "data", "reply", "stop", "binary")

    def __init__(self, ws, data, reply=None, stop=False, binary=False):
        self.ws = ws
        self.data = data
        self.reply = reply
        self.stop = stop
        self.binary = binary

    def __repr__(self):
        return f"WSMessage({self.data!r})"


class ServerContext(NamedTuple):
    """Passed to `server:start` and `server:stop`. `server` is the standalone `Server`,
    or None when Hornbeam serves the app; `mode` is "standalone", "asgi" or
    "reactor"."""

    server: Any
    app: Any
    mode: str


class UploadedFile(NamedTuple):
    """One file of a multipart upload (see `pykrozen.upload`)."""

    field: str
    filename: str
    content_type: str
    content: bytes

    # Dict-style access, as the original's TypedDict had.
    def __getitem__(self, key):
        if isinstance(key, str):
            return getattr(self, key)
        return tuple.__getitem__(self, key)
