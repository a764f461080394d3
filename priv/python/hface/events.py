"""What an ``HTTPConnection`` receives: connection events and stream events.

Dataclasses with hface's fields and equality (a ``ConnectionTerminated`` message is not
compared).
"""

from dataclasses import dataclass, field

from . import HeadersType

__all__ = [
    "ConnectionTerminated",
    "DataReceived",
    "Event",
    "GoawayReceived",
    "HeadersReceived",
    "StreamEvent",
    "StreamReset",
    "StreamResetReceived",
    "StreamResetSent",
]


class Event:
    """The base of every event."""


@dataclass
class ConnectionTerminated(Event):
    """The connection ended: the peer closed it, it timed out, or the server stopped."""

    error_code: int = 0
    message: str | None = field(default=None, compare=False)


@dataclass
class GoawayReceived(Event):
    """The peer opens no stream past ``last_stream_id``."""

    last_stream_id: int
    error_code: int = 0


@dataclass
class StreamEvent(Event):
    """An event of one stream."""

    stream_id: int


@dataclass
class StreamReset(StreamEvent):
    """A stream ended early; the connection and its other streams carry on."""

    error_code: int = 0


@dataclass
class StreamResetReceived(StreamReset):
    """The peer reset the stream (or, over HTTP/1.1, left in the middle of it)."""


@dataclass
class StreamResetSent(StreamReset):
    """This side reset the stream."""


@dataclass
class HeadersReceived(StreamEvent):
    """A request's (server) or a response's (client) headers, pseudo-headers first."""

    headers: HeadersType
    #: The peer sends no data on this stream.
    end_stream: bool = False

    def __repr__(self) -> str:
        return (
            f"HeadersReceived(stream_id={self.stream_id!r}, "
            f"len(headers)={len(self.headers)}, end_stream={self.end_stream!r})"
        )


@dataclass
class DataReceived(StreamEvent):
    """Body bytes of a stream."""

    data: bytes
    #: The peer sends no more data on this stream.
    end_stream: bool = False

    def __repr__(self) -> str:
        return (
            f"DataReceived(stream_id={self.stream_id!r}, "
            f"len(data)={len(self.data)}, end_stream={self.end_stream!r})"
        )
