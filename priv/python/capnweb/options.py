"""RpcSessionOptions: how a session connects, times out, reconnects and reports."""

import dataclasses
import inspect
from collections.abc import Awaitable, Callable

from .codec import Limits


@dataclasses.dataclass
class RpcSessionOptions:
    #: Seconds to open the connection (WebSocket handshake, HTTP request); None waits forever.
    connect_timeout: float | None = None
    #: Seconds an awaited call may take before TimeoutError; None waits forever.
    call_timeout: float | None = None
    #: Reopen a lost WebSocket client connection, waiting reconnect_delay, then that times
    #: reconnect_backoff_factor each attempt, at most reconnect_max_delay.
    reconnect_enabled: bool = False
    reconnect_max_attempts: int = 5
    reconnect_delay: float = 1.0
    reconnect_backoff_factor: float = 2.0
    reconnect_max_delay: float = 60.0
    #: `async def () -> dict` of headers sent with each WebSocket handshake or batch request.
    auth_handler: Callable[[], Awaitable[dict[str, str]]] | None = None
    #: Called (sync or async) after each connection opens, and with the error after it is lost.
    on_connect: Callable | None = None
    on_disconnect: Callable | None = None
    #: Given each error about to be sent to the peer; returns the error to send instead
    #: (e.g. a redacted one), or None to send it unchanged.
    on_send_error: Callable[[BaseException], BaseException | None] | None = None
    #: Log every message, and failed calls with their tracebacks, on the "capnweb" logger.
    debug: bool = False
    #: Send Python tracebacks as the error's stack (off: stacks stay on this side).
    send_stack_traces: bool = False
    #: What this side accepts: message size, nesting depth, bigint digits.
    limits: Limits = dataclasses.field(default_factory=Limits)

    def __post_init__(self):
        for name in ("connect_timeout", "call_timeout"):
            value = getattr(self, name)
            if value is not None and not value > 0:
                raise ValueError(
                    f"{name} must be a positive number of seconds or None, not {value!r}"
                )
        for name in ("reconnect_delay", "reconnect_max_delay"):
            if not getattr(self, name) >= 0:
                raise ValueError(f"{name} must be >= 0, not {getattr(self, name)!r}")
        if not self.reconnect_backoff_factor >= 1:
            raise ValueError(
                f"reconnect_backoff_factor must be >= 1, not {self.reconnect_backoff_factor!r}"
            )
        if not (isinstance(self.reconnect_max_attempts, int) and self.reconnect_max_attempts >= 0):
            raise ValueError(
                f"reconnect_max_attempts must be an int >= 0, not {self.reconnect_max_attempts!r}"
            )

    async def auth_headers(self):
        """The headers `auth_handler` gives (sync or async), or none."""
        if self.auth_handler is None:
            return {}
        headers = self.auth_handler()
        return (await headers if inspect.isawaitable(headers) else headers) or {}

    def reconnect_delays(self):
        """The wait before each reconnection attempt."""
        delay = self.reconnect_delay
        for _ in range(self.reconnect_max_attempts):
            yield min(delay, self.reconnect_max_delay)
            delay *= self.reconnect_backoff_factor
