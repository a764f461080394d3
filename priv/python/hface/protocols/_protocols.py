"""hface's sans-IO protocol classes, by name and method.

In hface a protocol object turns bytes into events and back, and anyone may drive one
by hand. In Hornbeam that work is the engine's (hyper, h2, quinn, h3 in Rust), which
owns the sockets and is not reachable byte by byte from Python. So these classes exist
for the names and the documentation to hold, and every method says so when called.
"""

from collections.abc import Sequence

from .. import DatagramType, HeadersType, HTTPErrorCodes
from .._error_codes import HTTP1_ERROR_CODES, HTTP2_ERROR_CODES, HTTP3_ERROR_CODES
from ..events import Event

ENGINE_BACKED = (
    "Hornbeam's engine does the protocol work in Rust and owns the connection's bytes, "
    "so {cls}.{method}() cannot be driven by hand; use hface.connections.HTTPConnection, "
    "which the engine's listeners and the hface worker class hand out"
)


def _engine_backed(self, method):
    raise NotImplementedError(ENGINE_BACKED.format(cls=type(self).__name__, method=method))


class OverTCPProtocol:
    def connection_lost(self) -> None:
        _engine_backed(self, "connection_lost")

    def eof_received(self) -> None:
        _engine_backed(self, "eof_received")

    def bytes_received(self, data: bytes) -> None:
        _engine_backed(self, "bytes_received")

    def bytes_to_send(self) -> bytes:
        _engine_backed(self, "bytes_to_send")


class OverUDPProtocol:
    def clock(self, now: float) -> None:
        _engine_backed(self, "clock")

    def get_timer(self) -> float | None:
        _engine_backed(self, "get_timer")

    def connection_lost(self) -> None:
        _engine_backed(self, "connection_lost")

    def datagram_received(self, datagram: DatagramType) -> None:
        _engine_backed(self, "datagram_received")

    def datagrams_to_send(self) -> Sequence[DatagramType]:
        _engine_backed(self, "datagrams_to_send")


class OverQUICProtocol(OverUDPProtocol):
    @property
    def connection_ids(self) -> Sequence[bytes]:
        _engine_backed(self, "connection_ids")


class HTTPProtocol:
    """One HTTP connection's protocol state (hface: sans-IO; here: the engine's)."""

    http_version: str = ""
    multiplexed: bool = False
    error_codes: HTTPErrorCodes = HTTP1_ERROR_CODES

    def is_available(self) -> bool:
        _engine_backed(self, "is_available")

    def has_expired(self) -> bool:
        _engine_backed(self, "has_expired")

    def get_available_stream_id(self) -> int:
        _engine_backed(self, "get_available_stream_id")

    def submit_headers(self, stream_id: int, headers: HeadersType, end_stream=False) -> None:
        _engine_backed(self, "submit_headers")

    def submit_data(self, stream_id: int, data: bytes, end_stream=False) -> None:
        _engine_backed(self, "submit_data")

    def submit_stream_reset(self, stream_id: int, error_code: int = 0) -> None:
        _engine_backed(self, "submit_stream_reset")

    def submit_close(self, error_code: int = 0) -> None:
        _engine_backed(self, "submit_close")

    def next_event(self) -> Event | None:
        _engine_backed(self, "next_event")


class HTTPOverTCPProtocol(HTTPProtocol, OverTCPProtocol):
    """HTTP/1.1 or HTTP/2."""


class HTTPOverQUICProtocol(HTTPProtocol, OverQUICProtocol):
    """HTTP/3."""


class HTTP1Protocol(HTTPOverTCPProtocol):
    http_version = "1.1"
    multiplexed = False
    error_codes = HTTP1_ERROR_CODES


class HTTP2Protocol(HTTPOverTCPProtocol):
    http_version = "2"
    multiplexed = True
    error_codes = HTTP2_ERROR_CODES


class HTTP3Protocol(HTTPOverQUICProtocol):
    http_version = "3"
    multiplexed = True
    error_codes = HTTP3_ERROR_CODES
