"""Errors that cross the wire as `["error", type, message, stack?, props?]`.

A received error becomes an `RpcError` whose `name` is the sender's error type. The
JavaScript types with a close Python meaning also subclass it, so `except TypeError`
catches a remote `TypeError` and `except ValueError` a remote `RangeError`.
"""


class RpcError(Exception):
    """An error raised by the peer (or by the session itself, e.g. an abort)."""

    default_name = "Error"

    def __init__(self, message="", name=None, stack=None, props=None):
        super().__init__(message)
        self.name = name or self.default_name
        self.message = message
        self.stack = stack
        self.props = props or {}

    def __str__(self):
        return self.message if self.name == "Error" else f"{self.name}: {self.message}"


class RpcTypeError(RpcError, TypeError):
    default_name = "TypeError"


class RpcRangeError(RpcError, ValueError):
    default_name = "RangeError"


class RpcSessionClosed(RpcError, ConnectionError):
    """The session ended (peer closed, aborted, or disposed) before the call completed."""


_RECEIVED_TYPES = {"TypeError": RpcTypeError, "RangeError": RpcRangeError}

# The error types the JavaScript implementation reconstructs on its side.
JS_ERROR_TYPES = frozenset(
    {
        "Error",
        "EvalError",
        "RangeError",
        "ReferenceError",
        "SyntaxError",
        "TypeError",
        "URIError",
        "AggregateError",
    }
)


def received_error(name, message, stack=None, props=None):
    cls = _RECEIVED_TYPES.get(name, RpcError)
    return cls(message, name, stack, props)


def wire_name(exc):
    """The JavaScript error type a Python exception is sent as."""
    if isinstance(exc, RpcError):
        return exc.name
    if isinstance(exc, (TypeError, AttributeError)):
        return "TypeError"
    if isinstance(exc, (ValueError, IndexError, OverflowError)):
        return "RangeError"
    return "Error"


def wire_message(exc):
    if isinstance(exc, RpcError):
        return exc.message
    if isinstance(exc, KeyError) and len(exc.args) == 1:
        return f"KeyError: {exc.args[0]!r}"
    return str(exc) or type(exc).__name__
