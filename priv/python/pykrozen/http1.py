"""HTTP/1.1 without I/O: bytes in, requests out; responses to bytes.

Used by the standalone server and the reactor protocol (inside Hornbeam's ASGI
workers, Hornbeam's own HTTP engine does this). The standalone mode has only the
standard library, hence a parser here. It reads pipelined requests in order,
Content-Length and chunked bodies, `Expect: 100-continue`, and refuses what RFC 9112
says to refuse (both Content-Length and Transfer-Encoding, differing lengths, obsolete
line folding, whitespace before a colon, unknown codings) with a 4xx, after which the
connection closes.
"""

import time
from email.utils import formatdate
from urllib.parse import parse_qsl, unquote

from .body import BadRequest
from .context import Headers
from .render import reason

__all__ = ["Parsed", "RequestReader", "response_head", "split_target", "BadRequest"]

_TOKEN = frozenset(b"!#$%&'*+-.^_`|~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz")
_HEX = frozenset("0123456789abcdefABCDEF")


class Parsed:
    """One request as read off the wire."""

    __slots__ = (
        "method",
        "path",
        "raw_path",
        "query_string",
        "version",
        "headers",
        "body",
        "keep_alive",
        "upgrade",
    )

    def query(self):
        qs = self.query_string
        if not qs:
            return {}
        return dict(parse_qsl(qs, keep_blank_values=True))


def split_target(target):
    """(decoded path, raw path, query string) of a request target."""
    if target.startswith("/"):
        raw, _, qs = target.partition("?")
    elif target.startswith(("http://", "https://")):  # absolute-form
        rest = target.split("//", 1)[1]
        slash = rest.find("/")
        raw, _, qs = (rest[slash:] if slash >= 0 else "/").partition("?")
    elif target == "*":
        raw, qs = "*", ""
    else:
        raise BadRequest(400, f"bad request target {target[:100]!r}")
    path = unquote(raw) if "%" in raw else raw
    return path, raw, qs


class RequestReader:
    """Feed it bytes with `feed`; `next()` returns the next complete request, or None
    until more bytes arrive, and raises BadRequest for one it must refuse."""

    def __init__(self, max_head=65536, max_body=16 * 1024 * 1024):
        self.max_head = max_head
        self.max_body = max_body
        self.buf = bytearray()
        self.current = None  # a Parsed whose body is still arriving
        self.length = 0  # Content-Length left to read, or -1 for chunked
        self.chunks = None  # chunked: the decoded pieces so far
        self.chunked_size = 0
        self.trailers = False  # chunked: past the last chunk, in the trailers
        self.expects_continue = False

    def feed(self, data):
        self.buf += data

    def take_rest(self):
        """What was received after the last request (the first WebSocket frames)."""
        rest = bytes(self.buf)
        self.buf.clear()
        return rest

    def next(self):
        if self.current is None and not self._read_head():
            return None
        parsed = self.current
        if self.length >= 0:
            if len(self.buf) < self.length:
                return None
            parsed.body = bytes(self.buf[: self.length])
            del self.buf[: self.length]
        elif not self._read_chunks():
            return None
        self.current = None
        self.expects_continue = False
        return parsed

    def _read_head(self):
        buf = self.buf
        # RFC 9112 2.2: ignore empty lines before a request line.
        while buf[:2] == b"\r\n":
            del buf[:2]
        end = buf.find(b"\r\n\r\n")
        if end < 0:
            if len(buf) > self.max_head:
                raise BadRequest(431, "request header fields too large")
            return False
        if end > self.max_head:
            raise BadRequest(431, "request header fields too large")
        lines = bytes(buf[:end]).split(b"\r\n")
        del buf[: end + 4]
        parts = lines[0].split(b" ")
        if len(parts) != 3 or not parts[0] or not parts[1]:
            raise BadRequest(400, "malformed request line")
        method, target, version = parts
        if not _TOKEN.issuperset(method):
            raise BadRequest(400, "malformed method")
        if version == b"HTTP/1.1":
            keep_alive = True
        elif version == b"HTTP/1.0":
            keep_alive = False
        elif version.startswith(b"HTTP/"):
            raise BadRequest(505, "HTTP version not supported")
        else:
            raise BadRequest(400, "malformed request line")
        headers = Headers()
        for line in lines[1:]:
            name, colon, value = line.partition(b":")
            if not colon or not name or not _TOKEN.issuperset(name):
                raise BadRequest(400, "malformed header line")
            headers.add(name.decode("latin-1").lower(), value.strip(b" \t").decode("latin-1"))
        parsed = Parsed()
        parsed.method = method.decode("ascii")
        parsed.version = version.decode("ascii")
        parsed.path, parsed.raw_path, parsed.query_string = split_target(target.decode("latin-1"))
        parsed.headers = headers
        connection = headers.get("connection")
        if connection is not None:
            tokens = connection.lower()
            if "close" in tokens:
                keep_alive = False
            elif "keep-alive" in tokens:
                keep_alive = True
        parsed.keep_alive = keep_alive
        parsed.upgrade = "upgrade" in headers
        self._framing(headers)
        expect = headers.get("expect")
        self.expects_continue = (
            expect is not None and expect.lower() == "100-continue" and parsed.version == "HTTP/1.1"
        )
        parsed.body = b""
        self.current = parsed
        return True

    def _framing(self, headers):
        coding = headers.get("transfer-encoding")
        length = headers.get("content-length")
        if coding is not None:
            if length is not None:
                raise BadRequest(400, "both Content-Length and Transfer-Encoding")
            if coding.lower().replace(" ", "") != "chunked":
                raise BadRequest(501, f"unsupported transfer coding {coding!r}")
            self.length, self.chunks, self.chunked_size, self.trailers = -1, [], 0, False
            return
        if length is None:
            self.length = 0
            return
        values = {v.strip() for v in length.split(",")}
        # ASCII digits only: str.isdigit() is also true for "²" and other digits int() refuses.
        if len(values) != 1 or not (text := next(iter(values))).isascii() or not text.isdigit():
            raise BadRequest(400, "invalid Content-Length")
        self.length = int(values.pop())
        if self.length > self.max_body:
            raise BadRequest(413, "request body too large")

    def _read_chunks(self):
        buf = self.buf
        while True:
            if self.trailers:
                end = buf.find(b"\r\n")
                if end < 0:
                    if len(buf) > self.max_head:
                        raise BadRequest(431, "chunked trailers too large")
                    return False
                del buf[: end + 2]
                if end == 0:
                    self.current.body = b"".join(self.chunks)
                    self.chunks = None
                    return True
                continue
            end = buf.find(b"\r\n")
            if end < 0:
                if len(buf) > 1024:
                    raise BadRequest(400, "malformed chunk size")
                return False
            size_text = bytes(buf[:end]).split(b";", 1)[0].strip().decode("latin-1")
            if not size_text or not _HEX.issuperset(size_text):
                raise BadRequest(400, "malformed chunk size")
            size = int(size_text, 16)
            if size == 0:
                del buf[: end + 2]
                self.trailers = True
                continue
            if self.chunked_size + size > self.max_body:
                raise BadRequest(413, "request body too large")
            start = end + 2
            if len(buf) < start + size + 2:
                return False
            if buf[start + size : start + size + 2] != b"\r\n":
                raise BadRequest(400, "a chunk does not end with CRLF")
            self.chunks.append(bytes(buf[start : start + size]))
            self.chunked_size += size
            del buf[: start + size + 2]


_STATUS_LINES = {}
_date = [0, ""]


def _now():
    second = int(time.time())
    if second != _date[0]:
        _date[0], _date[1] = second, formatdate(second, usegmt=True)
    return _date[1]


def response_head(status, headers, length, keep_alive, version="HTTP/1.1"):
    """The bytes of a response head. Raises ValueError for a header that would split
    the response (CR or LF in a name or value)."""
    line = _STATUS_LINES.get(status)
    if line is None:
        line = _STATUS_LINES[status] = f"HTTP/1.1 {status} {reason(status)}\r\n"
    out = [line, "Server: pykrozen\r\nDate: ", _now(), "\r\n"]
    for name, value in headers:
        if "\n" in value or "\r" in value or "\n" in name or "\r" in name or ":" in name:
            raise ValueError(f"header {name!r} has a character that would split the response")
        out.append(f"{name}: {value}\r\n")
    if length is not None:
        out.append(f"Content-Length: {length}\r\n")
    if not keep_alive:
        out.append("Connection: close\r\n")
    elif version == "HTTP/1.0":
        out.append("Connection: keep-alive\r\n")
    out.append("\r\n")
    return "".join(out).encode()
