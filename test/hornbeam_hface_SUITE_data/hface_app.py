"""hface handlers for the hface worker class tests."""

import asyncio
import json

from hface.connections import HTTPConnection
from hface.events import (
    ConnectionTerminated,
    DataReceived,
    HeadersReceived,
    StreamResetReceived,
)

# What the events handler saw, across connections (one worker: one interpreter).
SEEN = {"resets": 0, "terminated": 0}


async def handler(connection: HTTPConnection):
    """The seed's custom server example, as it is."""
    while True:
        event = await connection.receive_event()
        if isinstance(event, HeadersReceived):
            response_headers = [(b":status", b"200")]
            await connection.send_headers(event.stream_id, response_headers)
            await connection.send_data(event.stream_id, b"It works!\n", end_stream=True)
        elif isinstance(event, ConnectionTerminated):
            break


def _describe(event):
    if isinstance(event, HeadersReceived):
        return ["headers", [[k.decode(), v.decode()] for k, v in event.headers], event.end_stream]
    if isinstance(event, DataReceived):
        return ["data", len(event.data), event.end_stream]
    return [type(event).__name__]


async def events(connection: HTTPConnection):
    """Answers each request, once its body is in, with the events its stream had (body
    chunks as their sizes), the connection's version and addresses, and SEEN. /reset
    resets the stream instead; /echo streams the body back as it arrives."""
    streams = {}
    paths = {}
    while True:
        event = await connection.receive_event()
        if isinstance(event, ConnectionTerminated):
            SEEN["terminated"] += 1
            break
        if isinstance(event, StreamResetReceived):
            SEEN["resets"] += 1
            streams.pop(event.stream_id, None)
            continue
        seen = streams.setdefault(event.stream_id, [])
        seen.append(_describe(event))
        if isinstance(event, HeadersReceived):
            paths[event.stream_id] = dict(event.headers)[b":path"]
            if paths[event.stream_id] == b"/echo":
                await connection.send_headers(event.stream_id, [(b":status", b"200")])
                if event.end_stream:
                    await connection.send_data(event.stream_id, b"", end_stream=True)
        elif isinstance(event, DataReceived) and paths.get(event.stream_id) == b"/echo":
            await connection.send_data(event.stream_id, event.data, end_stream=event.end_stream)
        ended = getattr(event, "end_stream", False)
        if not ended or paths.get(event.stream_id) == b"/echo":
            continue
        if paths[event.stream_id] == b"/reset":
            await connection.send_stream_reset(
                event.stream_id, connection.error_codes.internal_error
            )
            continue
        body = json.dumps(
            {
                "events": streams.pop(event.stream_id),
                "stream_id": event.stream_id,
                "http_version": connection.http_version,
                "multiplexed": connection.multiplexed,
                "remote_address": list(connection.remote_address),
                "local_address": list(connection.local_address),
                "seen": SEEN,
            }
        ).encode()
        headers = [(b":status", b"200"), (b"content-type", b"application/json")]
        await connection.send_headers(event.stream_id, headers)
        await connection.send_data(event.stream_id, body, end_stream=True)


async def failing(connection: HTTPConnection):
    """Raises on its first request."""
    event = await connection.receive_event()
    raise RuntimeError(f"the handler failed on stream {event.stream_id}")


async def slow(connection: HTTPConnection):
    """Answers each request after ?s= seconds: in flight when the server stops."""
    while True:
        event = await connection.receive_event()
        if isinstance(event, ConnectionTerminated):
            break
        if isinstance(event, HeadersReceived):
            asyncio.get_running_loop().create_task(_answer_later(connection, event))


async def _answer_later(connection, event):
    query = dict(event.headers)[b":path"].partition(b"?s=")[2]
    await asyncio.sleep(float(query or 0))
    await connection.send_headers(event.stream_id, [(b":status", b"200")])
    await connection.send_data(event.stream_id, b"slept", end_stream=True)
