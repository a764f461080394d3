"""`Settings`: how a pykrozen server listens and where it finds things.

Change the global `settings` before `Server.run()`. Inside Hornbeam (ASGI or the
reactor) Hornbeam owns the socket, so `host`, `port`, `workers`, `backlog` and
`reuse_port` do not apply; `ws_path`, `base_dir`, `debug` and `max_body_size` do.
"""

from dataclasses import dataclass, field
from pathlib import Path

__all__ = ["Settings", "settings"]


@dataclass
class Settings:
    port: int = 8000
    host: str = "127.0.0.1"
    ws_path: str = "/ws"
    debug: bool = False
    base_dir: Path = field(default_factory=Path.cwd)
    workers: int = 1
    backlog: int = 2048
    reuse_port: bool = True
    # The standalone server's event loop: "auto" (uvloop when it imports), "asyncio"
    # or "uvloop".
    loop: str = "auto"
    # Limits a client cannot exceed: a bigger request body gets 413, a bigger request
    # head 431, a bigger WebSocket message close code 1009.
    max_body_size: int = 16 * 1024 * 1024
    max_head_size: int = 64 * 1024
    max_ws_message_size: int = 16 * 1024 * 1024

    def validate(self):
        """Raises ValueError naming the first setting that cannot work."""
        checks = [
            ("port", isinstance(self.port, int) and 0 <= self.port <= 65535),
            ("host", isinstance(self.host, str) and self.host != ""),
            ("ws_path", isinstance(self.ws_path, str) and self.ws_path.startswith("/")),
            ("workers", isinstance(self.workers, int) and self.workers >= 1),
            ("loop", self.loop in ("auto", "asyncio", "uvloop")),
            ("backlog", isinstance(self.backlog, int) and self.backlog >= 1),
            ("max_body_size", isinstance(self.max_body_size, int) and self.max_body_size >= 0),
            ("max_head_size", isinstance(self.max_head_size, int) and self.max_head_size >= 1024),
            (
                "max_ws_message_size",
                isinstance(self.max_ws_message_size, int) and self.max_ws_message_size >= 0,
            ),
        ]
        for name, ok in checks:
            if not ok:
                raise ValueError(f"invalid pykrozen setting {name}={getattr(self, name)!r}")


settings = Settings()
