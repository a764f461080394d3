"""Echo protocols for bench/reactor_echo.sh."""
import erlang.reactor as reactor


class DirectEcho(reactor.Protocol):
    """Writes each read straight back, as asyncio's transport.write does, and keeps
    only what the socket refuses for write_ready (back-pressure: no reads meanwhile)."""

    def data_received(self, data):
        n = self.write(data)
        if n < len(data):
            self.write_buffer.extend(data.memoryview()[n:])
            return "write_pending"
        return "continue"


class QuietSeedEcho(reactor.Protocol):
    """The seed's EchoProtocol without its print calls."""

    def data_received(self, data):
        if not data:
            return "close"
        self.write_buffer.extend(data)
        return "write_pending"

    def write_ready(self):
        if not self.write_buffer:
            return "read_pending"
        written = self.write(bytes(self.write_buffer))
        del self.write_buffer[:written]
        if self.write_buffer:
            return "continue"
        return "read_pending"
