"""HTTP/1: hface's module of the same name."""

from ._factories import HTTP1ClientFactory, HTTP1ServerFactory
from ._protocols import HTTP1Protocol

__all__ = ["HTTP1ClientFactory", "HTTP1Protocol", "HTTP1ServerFactory"]
