"""The expression encoding: Python values <-> JSON trees (protocol.md, "Expressions").

| Python                          | wire                                  |
|---------------------------------|---------------------------------------|
| None, bool, str, float, int     | JSON literal                          |
| int beyond +-2**53, `BigInt`    | `["bigint", "123"]` (decoded: BigInt)  |
| inf, -inf, nan                  | `["inf"]`, `["-inf"]`, `["nan"]`      |
| `undefined`                     | `["undefined"]` (decoded: None)       |
| list, tuple                     | `[[item, ...]]` (decoded: list)       |
| dict with str keys              | JSON object                           |
| bytes, bytearray, memoryview    | `["bytes", base64 unpadded]` (bytes)  |
| datetime (naive means UTC)      | `["date", ms]` (aware UTC datetime)   |
| exception                       | `["error", type, message, stack?]`    |
| RpcTarget, function, RpcStub    | `["export", id]` / `["import", id]`   |
| RpcPromise                      | `["promise", id]` / `["pipeline", id, path]` |

`encode` needs an exporter (the session, or a map builder) for capabilities; `decode`
needs an importer for them. Without one, capabilities are a TypeError.
"""

import base64
import datetime
import json
import math

from . import errors

MAX_SAFE_INTEGER = 2**53 - 1
_EPOCH = datetime.datetime(1970, 1, 1, tzinfo=datetime.UTC)


class Limits:
    """What a session accepts from its peer; the defaults are the reference's."""

    __slots__ = ("max_message_size", "max_depth", "max_bigint_digits")

    def __init__(self, max_message_size=32 * 1024 * 1024, max_depth=256, max_bigint_digits=16384):
        self.max_message_size = max_message_size
        self.max_depth = max_depth
        self.max_bigint_digits = max_bigint_digits


DEFAULT_LIMITS = Limits()


class BigInt(int):
    """An int sent as a JavaScript bigint whatever its size; received bigints are BigInts."""

    def __repr__(self):
        return f"BigInt({int(self)})"


class _Undefined:
    __slots__ = ()

    def __repr__(self):
        return "undefined"

    def __bool__(self):
        return False

    def __reduce__(self):
        return "undefined"


undefined = _Undefined()


class Capabilities:
    """How `encode` and `decode` treat stubs; the session and map builder implement it."""

    def encode_capability(self, value, depth):
        raise TypeError("Can't serialize RPC stubs in this context.")

    def decode_capability(self, expr, depth, pending):
        raise TypeError("Can't deserialize RPC stubs in this context.")

    def rewrite_error(self, exc):
        return exc

    def error_stack(self, exc):
        return None

    limits = DEFAULT_LIMITS


NO_CAPABILITIES = Capabilities()

_CAPABILITY_TAGS = frozenset({"import", "pipeline", "export", "promise", "remap"})
_UNSUPPORTED_TAGS = frozenset(
    {"headers", "request", "response", "blob", "url", "readable", "writable", "pipe"}
)


def encode(value, caps=NO_CAPABILITIES, depth=0):
    if depth >= 256:
        raise ValueError(
            "Serialization exceeded maximum allowed depth. (Does the message contain cycles?)"
        )
    kind = type(value)
    if kind is str or kind is bool or value is None:
        return value
    if kind is int:
        return value if -MAX_SAFE_INTEGER <= value <= MAX_SAFE_INTEGER else ["bigint", str(value)]
    if kind is float:
        if math.isfinite(value):
            return value
        return ["nan"] if value != value else (["inf"] if value > 0 else ["-inf"])
    if kind is dict:
        out = {}
        for key, item in value.items():
            if type(key) is not str:
                raise TypeError(
                    f"Cannot serialize a dict key of type {type(key).__name__}: {key!r}"
                )
            out[key] = encode(item, caps, depth + 1)
        return out
    if kind is list or kind is tuple:
        return [[encode(item, caps, depth + 1) for item in value]]
    if isinstance(value, BigInt):
        return ["bigint", str(int(value))]
    if value is undefined:
        return ["undefined"]
    if isinstance(value, (bytes, bytearray, memoryview)):
        return ["bytes", base64.b64encode(value).decode("ascii").rstrip("=")]
    if isinstance(value, datetime.datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=datetime.UTC)
        return ["date", (value - _EPOCH) // datetime.timedelta(milliseconds=1)]
    if isinstance(value, BaseException):
        return encode_error(value, caps)
    if isinstance(value, int):  # int subclasses (IntEnum, ...) other than BigInt
        return encode(int(value), caps, depth)
    if isinstance(value, float):
        return encode(float(value), caps, depth)
    if isinstance(value, str):
        return str(value)
    if isinstance(value, dict):
        return encode(dict(value), caps, depth)
    return caps.encode_capability(value, depth)


def encode_error(exc, caps=NO_CAPABILITIES):
    rewritten = caps.rewrite_error(exc)
    if isinstance(rewritten, BaseException):
        exc = rewritten
    out = ["error", errors.wire_name(exc), errors.wire_message(exc)]
    stack = caps.error_stack(exc)
    if stack is not None:
        out.append(stack)
    return out


def decode(expr, caps=NO_CAPABILITIES, pending=None, depth=0):
    """The value of `expr`. Promises (`pipeline`, `promise`, `remap`) are left in place as
    RpcPromise objects and listed in `pending` as (parent, key, promise), for the caller to
    replace with their resolutions before the value reaches the application."""
    if depth >= caps.limits.max_depth:
        raise TypeError(
            f"Deserialization exceeded maximum allowed message depth of {caps.limits.max_depth}."
        )
    kind = type(expr)
    if kind is list:
        if len(expr) == 1 and type(expr[0]) is list:
            items = expr[0]
            out = [None] * len(items)
            for i, item in enumerate(items):
                out[i] = decode(item, caps, pending, depth + 1)
                _note_pending(out, i, pending)
            return out
        return _decode_special(expr, caps, pending, depth)
    if kind is dict:
        out = {}
        for key, item in expr.items():
            out[key] = decode(item, caps, pending, depth + 1)
            _note_pending(out, key, pending)
        return out
    return expr


def _note_pending(parent, key, pending):
    if pending is not None and pending and pending[-1][0] is None:
        # The capability decoder queued a promise without knowing where it lands.
        _, _, promise = pending.pop()
        pending.append((parent, key, promise))


def _decode_special(expr, caps, pending, depth):
    tag = expr[0] if expr else None
    size = len(expr)
    if tag == "bigint" and size == 2 and type(expr[1]) is str:
        digits = expr[1]
        if len(digits) > caps.limits.max_bigint_digits:
            raise TypeError(
                "Deserialized bigint exceeds maximum length of "
                f"{caps.limits.max_bigint_digits} digits."
            )
        try:
            return BigInt(int(digits, 10))
        except ValueError:
            raise TypeError(f"invalid bigint: {digits[:64]!r}") from None
    if tag == "date" and size == 2:
        if expr[1] is None:
            return None  # JavaScript's Invalid Date
        if type(expr[1]) in (int, float) and math.isfinite(expr[1]):
            try:
                return _EPOCH + datetime.timedelta(milliseconds=expr[1])
            except OverflowError:
                raise TypeError(f"date out of range: {expr[1]}") from None
    if tag == "bytes" and size in (2, 3) and type(expr[1]) is str:
        try:
            data = base64.b64decode(expr[1] + "=" * (-len(expr[1]) % 4), validate=True)
        except ValueError:
            raise TypeError("invalid base64 in bytes expression") from None
        return data
    if tag == "error" and size >= 3 and type(expr[1]) is str and type(expr[2]) is str:
        stack = expr[3] if size >= 4 and type(expr[3]) is str else None
        props = {}
        if size >= 5 and type(expr[4]) is dict:
            for key, item in expr[4].items():
                if key not in ("name", "message", "stack"):
                    props[key] = decode(item, caps, None, depth + 1)
        return errors.received_error(expr[1], expr[2], stack, props)
    if tag == "undefined" and size == 1:
        return None
    if tag == "inf" and size == 1:
        return math.inf
    if tag == "-inf" and size == 1:
        return -math.inf
    if tag == "nan" and size == 1:
        return math.nan
    if tag in _CAPABILITY_TAGS:
        return caps.decode_capability(expr, depth, pending)
    if tag in _UNSUPPORTED_TAGS:
        raise TypeError(f"the Python capnweb does not support the {tag!r} expression")
    raise TypeError(f"unknown special value: {_short(expr)}")


def _short(expr):
    text = json.dumps(expr)
    return text if len(text) <= 200 else text[:200] + "..."


def serialize(value):
    """A value as JSON text, without capabilities (the reference's `serialize`)."""
    return json.dumps(encode(value), separators=(",", ":"))


def deserialize(text):
    return decode(json.loads(text))
