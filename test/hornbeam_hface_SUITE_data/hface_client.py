"""hface clients run inside Hornbeam (a py context's asyncio.run), for the opener tests.

Each entry point returns plain data the suite asserts on: the version the connection
speaks, the status, the body (or its length and digest) and the events it saw.
"""

import asyncio
import hashlib

from hface import ClientTLSConfig
from hface.connections import HTTPConnection, HTTPOverTCPOpener
from hface.events import (
    ConnectionTerminated,
    DataReceived,
    HeadersReceived,
    StreamResetReceived,
)
from hface.protocols import ALPNHTTPFactory
from hface.protocols.http1 import HTTP1ClientFactory
from hface.protocols.http2 import HTTP2ClientFactory

FACTORIES = {
    "h1": HTTP1ClientFactory,
    "h2": HTTP2ClientFactory,
    "alpn": lambda: ALPNHTTPFactory([HTTP2ClientFactory(), HTTP1ClientFactory()]),
}


def _opener(factory, cafile):
    tls_config = ClientTLSConfig(cafile=cafile) if cafile else None
    return HTTPOverTCPOpener(FACTORIES[factory](), tls_config=tls_config)


async def make_request(connection: HTTPConnection, authority=b"localhost", path=b"/"):
    """The seed's custom client example, with the authority and path as arguments."""
    stream_id = connection.get_available_stream_id()
    headers = [
        (b":method", b"GET"),
        (b":scheme", b"https"),
        (b":authority", authority),
        (b":path", path),
    ]
    await connection.send_headers(stream_id, headers, end_stream=True)
    data = b""
    end = False
    while not end:
        event = await connection.receive_event()
        if isinstance(event, HeadersReceived):
            end = event.end_stream
        elif isinstance(event, DataReceived):
            data += event.data
            end = event.end_stream
        elif isinstance(event, ConnectionTerminated):
            end = True
    return data


def get(host, port, factory, tls, cafile, paths):
    """GETs each of ``paths`` in turn on one connection, with the seed's client."""

    async def main():
        opener = _opener(factory, cafile)
        authority = f"{host}:{port}".encode()
        async with await opener((host, port), tls=tls, server_name="localhost") as connection:
            bodies = [await make_request(connection, authority, p.encode()) for p in paths]
            return {
                "http_version": connection.http_version,
                "multiplexed": connection.multiplexed,
                "remote_address": list(connection.remote_address),
                "bodies": bodies,
                "available_after": connection.is_available(),
            }

    return asyncio.run(main())


async def _exchange(connection, method, path, authority, body=b"", chunk=65536):
    """One request: headers, the body in chunks, then every event until the end."""
    stream_id = connection.get_available_stream_id()
    headers = [
        (b":method", method),
        (b":scheme", b"https" if connection.extra_attributes["tls"]() else b"http"),
        (b":authority", authority),
        (b":path", path),
    ]
    if body:
        headers.append((b"content-length", str(len(body)).encode()))
    await connection.send_headers(stream_id, headers, end_stream=not body)

    async def send_body():
        for offset in range(0, len(body), chunk):
            last = offset + chunk >= len(body)
            await connection.send_data(stream_id, body[offset : offset + chunk], end_stream=last)

    # The body goes out while the response comes in: an echoing server answers
    # before the body is all sent, and waits for its reader.
    sending = asyncio.ensure_future(send_body())
    kinds, status, digest, size = [], None, hashlib.sha256(), 0
    while True:
        event = await connection.receive_event()
        if isinstance(event, HeadersReceived):
            assert event.stream_id == stream_id, (event, stream_id)
            status = int(dict(event.headers)[b":status"])
            kinds.append("headers")
            if event.end_stream:
                break
        elif isinstance(event, DataReceived):
            assert event.stream_id == stream_id, (event, stream_id)
            digest.update(event.data)
            size += len(event.data)
            if not kinds or kinds[-1] != "data":
                kinds.append("data")
            if event.end_stream:
                kinds.append("end")
                break
        else:
            kinds.append(type(event).__name__)
            break
    await sending
    return {
        "stream_id": stream_id,
        "status": status,
        "size": size,
        "sha256": digest.hexdigest(),
        "events": kinds,
    }


def upload(host, port, factory, tls, cafile, path, size):
    """POSTs ``size`` bytes (a known pattern) and reports what came back."""
    body = bytes(range(256)) * (size // 256)

    async def main():
        opener = _opener(factory, cafile)
        async with await opener((host, port), tls=tls, server_name="localhost") as connection:
            result = await _exchange(connection, b"POST", path.encode(), b"localhost", body)
            result["sent_sha256"] = hashlib.sha256(body).hexdigest()
            return result

    return asyncio.run(main())


def concurrent(host, port, factory, tls, cafile, path, count):
    """``count`` GETs at once on one connection (HTTP/2 runs them side by side): all
    the requests go out, then one reader takes the events of every stream, as hface's
    connection-wide ``receive_event`` has it."""

    async def main():
        opener = _opener(factory, cafile)
        async with await opener((host, port), tls=tls, server_name="localhost") as connection:
            open_streams, statuses, sizes = set(), {}, {}
            for _ in range(count):
                stream_id = connection.get_available_stream_id()
                headers = [(b":method", b"GET"), (b":scheme", b"http"), (b":authority", b"x")]
                await connection.send_headers(
                    stream_id, [*headers, (b":path", path.encode())], True
                )
                open_streams.add(stream_id)
            stream_ids = sorted(open_streams)
            most_open = len(open_streams)
            while open_streams:
                event = await connection.receive_event()
                if isinstance(event, HeadersReceived):
                    statuses[event.stream_id] = int(dict(event.headers)[b":status"])
                elif isinstance(event, DataReceived):
                    sizes[event.stream_id] = sizes.get(event.stream_id, 0) + len(event.data)
                else:
                    return {"unexpected": repr(event)}
                if event.end_stream:
                    open_streams.discard(event.stream_id)
            return {
                "http_version": connection.http_version,
                "stream_ids": stream_ids,
                "most_open": most_open,
                "statuses": sorted(set(statuses.values())),
                "answered": len(sizes),
            }

    return asyncio.run(main())


def reset_mid_body(host, port, factory, tls, cafile, path, then_path):
    """Reads part of a long response, resets the stream, then makes another request on
    the same connection (HTTP/2) or reports the connection's end (HTTP/1.1)."""

    async def main():
        opener = _opener(factory, cafile)
        async with await opener((host, port), tls=tls, server_name="localhost") as connection:
            stream_id = connection.get_available_stream_id()
            await connection.send_headers(
                stream_id,
                [
                    (b":method", b"GET"),
                    (b":scheme", b"http"),
                    (b":authority", b"x"),
                    (b":path", path.encode()),
                ],
                end_stream=True,
            )
            seen = 0
            while seen < 100_000:
                event = await connection.receive_event()
                if isinstance(event, DataReceived):
                    seen += len(event.data)
            await connection.send_stream_reset(stream_id)
            if not connection.multiplexed:
                return {"after": type(await connection.receive_event()).__name__}
            after = await _exchange(connection, b"GET", then_path.encode(), b"x")
            return {"after": after["status"], "after_events": after["events"]}

    return asyncio.run(main())


def refused(host, port):
    """Opening a connection to a port nobody listens on."""

    async def main():
        try:
            await _opener("h1", None)((host, port))
        except ConnectionError as e:
            return ["ConnectionError", str(e)]
        return ["connected"]

    return asyncio.run(main())


def reset_received(host, port, path):
    """A server that resets the stream: the client sees StreamResetReceived."""

    async def main():
        opener = _opener("h2", None)
        async with await opener((host, port)) as connection:
            stream_id = connection.get_available_stream_id()
            await connection.send_headers(
                stream_id,
                [
                    (b":method", b"GET"),
                    (b":scheme", b"http"),
                    (b":authority", b"x"),
                    (b":path", path.encode()),
                ],
                end_stream=True,
            )
            while True:
                event = await connection.receive_event()
                if isinstance(event, (StreamResetReceived, ConnectionTerminated)):
                    return [type(event).__name__, event.stream_id == stream_id]

    return asyncio.run(main())
