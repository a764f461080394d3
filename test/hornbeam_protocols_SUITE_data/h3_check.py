"""An HTTP/3 client built on aioquic's H3Connection, for the HTTP/3 tests.

    h3_check.py PORT CAFILE get PATH [METHOD]   one request: status, headers, body
    h3_check.py PORT CAFILE asgi MARKFILE       the ASGI scenario below, as one JSON
    h3_check.py PORT CAFILE post PATH SIZE      one POST of SIZE bytes, Content-Length set
    h3_check.py PORT CAFILE hold PATH           sends a GET, waits for a line on stdin,
                                                then closes the connection (no answer)
    h3_check.py PORT CAFILE limits N            the QUIC stream limit the server
                                                and idle timeout the server announced,
                                                N streams answered together,
                                                and requests over the header limits

Every request goes over one QUIC connection, verified against the test CA. No HEAD:
aioquic checks a response's Content-Length against its body without knowing the
request was a HEAD (niquests tests HEAD).
"""

import asyncio
import hashlib
import json
import sys

from aioquic.asyncio.client import connect
from aioquic.asyncio.protocol import QuicConnectionProtocol
from aioquic.h3.connection import H3_ALPN, H3Connection
from aioquic.h3.events import DataReceived, HeadersReceived
from aioquic.quic.configuration import QuicConfiguration
from aioquic.quic.events import StreamReset

AUTHORITY = b"localhost"


class Response:
    def __init__(self):
        self.status = None
        self.headers = []
        self.body = bytearray()
        self.reset = None
        self.informational = []
        self.done = asyncio.get_running_loop().create_future()
        self.head = asyncio.get_running_loop().create_future()


class Client(QuicConnectionProtocol):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.h3 = H3Connection(self._quic)
        self.responses = {}

    def quic_event_received(self, event):
        if isinstance(event, StreamReset) and event.stream_id in self.responses:
            response = self.responses[event.stream_id]
            response.reset = event.error_code
            if not response.done.done():
                response.done.set_result(response)
        for h3_event in self.h3.handle_event(event):
            response = self.responses.get(getattr(h3_event, "stream_id", None))
            if response is None:
                continue
            if isinstance(h3_event, HeadersReceived):
                headers = [(k.decode(), v.decode()) for k, v in h3_event.headers]
                status = dict(headers).get(":status")
                if status and int(status) < 200:
                    response.informational.append(
                        [int(status), [[k, v] for k, v in headers if k != ":status"]]
                    )
                elif status:
                    response.status = int(status)
                    response.headers = [(k, v) for k, v in headers if k != ":status"]
                    if not response.head.done():
                        response.head.set_result(response)
            elif isinstance(h3_event, DataReceived):
                response.body += h3_event.data
            if getattr(h3_event, "stream_ended", False) and not response.done.done():
                response.done.set_result(response)

    def start(self, method, path, body=None, end=True, extra=()):
        stream_id = self._quic.get_next_available_stream_id()
        self.responses[stream_id] = Response()
        headers = [
            (b":method", method.encode()),
            (b":scheme", b"https"),
            (b":authority", AUTHORITY),
            (b":path", path.encode()),
            *extra,
        ]
        self.h3.send_headers(stream_id, headers, end_stream=body is None and end)
        if body is not None:
            self.h3.send_data(stream_id, body, end_stream=end)
        self.transmit()
        return stream_id

    async def request(self, method, path, body=None, extra=()):
        stream_id = self.start(method, path, body, extra=extra)
        return await asyncio.wait_for(self.responses[stream_id].done, 30)

    def reset(self, stream_id):
        self._quic.reset_stream(stream_id, 0x10C)  # H3_REQUEST_CANCELLED
        self.transmit()


def summary(response):
    return {
        "status": response.status,
        "headers": response.headers,
        "body": response.body.decode("utf-8", "replace"),
        "reset": response.reset,
        "informational": response.informational,
    }


async def asgi_scenario(client, mark):
    out = {}
    out["get"] = summary(await client.request("GET", "/"))
    out["early_hints"] = summary(await client.request("GET", "/early-hints"))
    scope = await client.request("GET", "/scope")
    out["http_version"] = json.loads(scope.body)["http_version"]
    payload = bytes(range(256)) * (10 * 1024 * 1024 // 256)
    echoed = await client.request("POST", "/echo", payload)
    out["echo"] = {
        "status": echoed.status,
        "same": hashlib.sha256(echoed.body).hexdigest() == hashlib.sha256(payload).hexdigest(),
        "length": len(echoed.body),
    }
    # Answers only once all 50 are waiting at once: they must be concurrent streams.
    together = await asyncio.gather(*(client.request("GET", "/barrier?n=50") for _ in range(50)))
    out["barrier"] = sorted({(r.status, bytes(r.body).decode()) for r in together})
    # A body followed by trailers: the trailers are ignored, the body arrives whole.
    stream_id = client.start("POST", "/echo", b"with trailers", end=False)
    client.h3.send_headers(stream_id, [(b"x-checksum", b"abc")], end_stream=True)
    client.transmit()
    out["trailers"] = summary(await asyncio.wait_for(client.responses[stream_id].done, 30))
    # Half a body; once the app answered its first chunk, a reset: the app must see
    # http.disconnect.
    stream_id = client.start("POST", f"/read-until-disconnect?mark={mark}", b"x" * 1000, end=False)
    await asyncio.wait_for(client.responses[stream_id].head, 30)
    client.reset(stream_id)
    # The connection still serves after the reset.
    out["after_reset"] = summary(await client.request("GET", "/"))
    return out


async def limits_scenario(client, streams):
    out = {
        "max_streams_bidi": client._quic._remote_max_streams_bidi,
        "max_idle_timeout": client._quic._remote_max_idle_timeout,
    }
    together = await asyncio.gather(
        *(client.request("GET", f"/barrier?n={streams}") for _ in range(streams))
    )
    out["barrier"] = sorted({(r.status, bytes(r.body).decode()) for r in together})
    many = [(f"x-extra-{i}".encode(), b"1") for i in range(30)]
    out["many_headers"] = summary(await client.request("GET", "/", extra=many))
    # Over max_header_size but within the HTTP/3 field section limit (request line
    # plus headers): the engine's own check answers; past both, h3's.
    for name, size in (("large_header", 3000), ("huge_header", 20000)):
        big = [(b"x-big", b"b" * size)]
        out[name] = summary(await client.request("GET", "/", extra=big))
    out["after"] = summary(await client.request("GET", "/"))
    return out


async def main():
    port, cafile, mode = int(sys.argv[1]), sys.argv[2], sys.argv[3]
    configuration = QuicConfiguration(is_client=True, alpn_protocols=H3_ALPN)
    configuration.load_verify_locations(cafile)
    configuration.server_name = "localhost"
    async with connect(
        "127.0.0.1", port, configuration=configuration, create_protocol=Client
    ) as client:
        if mode == "hold":
            client.start("GET", sys.argv[4])
            await asyncio.get_running_loop().run_in_executor(None, sys.stdin.readline)
            client._quic.close(error_code=0x100, reason_phrase="client leaves")
            client.transmit()
            result = {"closed": True}
        elif mode == "post":
            body = b"x" * int(sys.argv[5])
            length = [(b"content-length", str(len(body)).encode())]
            result = summary(await client.request("POST", sys.argv[4], body, extra=length))
        elif mode == "limits":
            result = await limits_scenario(client, int(sys.argv[4]))
        elif mode == "get":
            method = sys.argv[5] if len(sys.argv) > 5 else "GET"
            result = summary(await client.request(method, sys.argv[4]))
        else:
            result = await asgi_scenario(client, sys.argv[4])
    print(json.dumps(result))


asyncio.run(main())
