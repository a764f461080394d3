"""HTTP/3: hface's module of the same name."""

from ._factories import HTTP3ClientFactory, HTTP3ServerFactory
from ._protocols import HTTP3Protocol

__all__ = ["HTTP3ClientFactory", "HTTP3Protocol", "HTTP3ServerFactory"]
