"""HTTP/2: hface's module of the same name."""

from ._factories import HTTP2ClientFactory, HTTP2ServerFactory
from ._protocols import HTTP2Protocol

__all__ = ["HTTP2ClientFactory", "HTTP2Protocol", "HTTP2ServerFactory"]
