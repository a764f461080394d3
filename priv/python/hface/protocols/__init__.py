"""hface's protocol classes and factories (``docs/hface.md``: the engine does the
protocol work; factories name the versions)."""

from ._factories import (
    ALPNHTTPFactory,
    HTTP1ClientFactory,
    HTTP1ServerFactory,
    HTTP2ClientFactory,
    HTTP2ServerFactory,
    HTTP3ClientFactory,
    HTTP3ServerFactory,
    HTTPOverQUICClientFactory,
    HTTPOverQUICServerFactory,
    HTTPOverTCPFactory,
)
from ._protocols import (
    HTTP1Protocol,
    HTTP2Protocol,
    HTTP3Protocol,
    HTTPOverQUICProtocol,
    HTTPOverTCPProtocol,
    HTTPProtocol,
)

__all__ = [
    "ALPNHTTPFactory",
    "HTTP1ClientFactory",
    "HTTP1Protocol",
    "HTTP1ServerFactory",
    "HTTP2ClientFactory",
    "HTTP2Protocol",
    "HTTP2ServerFactory",
    "HTTP3ClientFactory",
    "HTTP3Protocol",
    "HTTP3ServerFactory",
    "HTTPOverQUICClientFactory",
    "HTTPOverQUICProtocol",
    "HTTPOverQUICServerFactory",
    "HTTPOverTCPFactory",
    "HTTPOverTCPProtocol",
    "HTTPProtocol",
]
