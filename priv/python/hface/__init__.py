"""hface on Hornbeam: one HTTP connection interface over HTTP/1.1, HTTP/2 and HTTP/3.

The names and semantics are hface 0.1's (https://github.com/akamai/hface); the protocol
work is Hornbeam's engine (hyper and h2 over TCP, quinn and h3 over QUIC), so Python sees
events and sends headers and data, never bytes on a socket. ``docs/hface.md`` says what
runs where and how this differs from hface itself.
"""

from ._configuration import ClientTLSConfig, ServerTLSConfig
from ._error_codes import HTTPErrorCodes
from ._typing import AddressType, DatagramType, HeadersType, HeaderType

__all__ = [
    "AddressType",
    "ClientTLSConfig",
    "DatagramType",
    "HTTPErrorCodes",
    "HeaderType",
    "HeadersType",
    "ServerTLSConfig",
]

__version__ = "0.1+hornbeam"
