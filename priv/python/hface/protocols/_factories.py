"""Factories name the HTTP versions a listener serves or an opener speaks.

In hface a factory builds a sans-IO protocol per connection. Here the engine builds the
connection; a factory says which versions (and ALPN names) it may use. Calling one to
get a protocol object says why it cannot.
"""

from collections.abc import Sequence

from ._protocols import (
    HTTP1Protocol,
    HTTP2Protocol,
    HTTP3Protocol,
    HTTPOverQUICProtocol,
    HTTPOverTCPProtocol,
    _engine_backed,
)


class HTTPOverTCPFactory:
    """Makes HTTP/1.1 or HTTP/2 connections (by ALPN, with TLS)."""

    #: ``"1.1"`` and/or ``"2"``: what the engine may speak for this factory.
    http_versions: Sequence[str] = ()
    #: Whether this is a server's factory (a listener) or a client's (an opener).
    server: bool = True

    @property
    def alpn_protocols(self) -> Sequence[str]:
        return [{"1.1": "http/1.1", "2": "h2"}[v] for v in self.http_versions]

    def __call__(self, *, tls_version=None, alpn_protocol=None) -> HTTPOverTCPProtocol:
        _engine_backed(self, "__call__")


class HTTPOverQUICServerFactory:
    http_versions: Sequence[str] = ("3",)
    server = True

    @property
    def quic_connection_id_length(self) -> int:
        return 8  # quinn's default

    @property
    def quic_supported_versions(self) -> Sequence[int]:
        return [0x00000001]  # QUIC v1 (RFC 9000)

    def __call__(self, *, remote_address=None, connection_id=None) -> HTTPOverQUICProtocol:
        _engine_backed(self, "__call__")


class HTTPOverQUICClientFactory:
    http_versions: Sequence[str] = ("3",)
    server = False

    def __call__(self, *, remote_address=None, server_name=None, tls_config=None):
        _engine_backed(self, "__call__")


class HTTP1ServerFactory(HTTPOverTCPFactory):
    http_versions = ("1.1",)
    server = True
    protocol_class = HTTP1Protocol


class HTTP2ServerFactory(HTTPOverTCPFactory):
    http_versions = ("2",)
    server = True
    protocol_class = HTTP2Protocol


class HTTP1ClientFactory(HTTPOverTCPFactory):
    http_versions = ("1.1",)
    server = False
    protocol_class = HTTP1Protocol


class HTTP2ClientFactory(HTTPOverTCPFactory):
    http_versions = ("2",)
    server = False
    protocol_class = HTTP2Protocol


class HTTP3ServerFactory(HTTPOverQUICServerFactory):
    protocol_class = HTTP3Protocol


class HTTP3ClientFactory(HTTPOverQUICClientFactory):
    protocol_class = HTTP3Protocol


class ALPNHTTPFactory(HTTPOverTCPFactory):
    """Chooses among ``factories`` by the protocol TLS's ALPN agreed on; without TLS
    (or without agreement), ``default_alpn_protocol``."""

    def __init__(
        self,
        factories: Sequence[HTTPOverTCPFactory],
        default_alpn_protocol: str | None = "http/1.1",
    ) -> None:
        if not factories:
            raise ValueError("ALPNHTTPFactory needs at least one factory")
        sides = {f.server for f in factories}
        if len(sides) != 1:
            raise ValueError("ALPNHTTPFactory cannot mix server and client factories")
        self.factories = list(factories)
        self.server = sides.pop()
        self.http_versions = tuple(v for f in self.factories for v in f.http_versions)
        if default_alpn_protocol is not None and default_alpn_protocol not in self.alpn_protocols:
            raise ValueError(
                f"default_alpn_protocol {default_alpn_protocol!r} is none of {self.alpn_protocols}"
            )
        self.default_alpn_protocol = default_alpn_protocol
