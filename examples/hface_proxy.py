"""A reverse proxy in hface. Serve it with

    hornbeam:start("hface_proxy:handler", #{worker_class => hface, bind => "127.0.0.1:8080"})

and every stream of a client connection (HTTP/1.1, HTTP/2 or HTTP/3) goes to
its upstream (default http://127.0.0.1:8000; see `setting`) over one HTTP/2 connection per client
connection, both bodies streamed with back-pressure. An upstream that cannot be reached
or goes away is a 502, or a reset once the answer has started.
"""

import asyncio
import os
from urllib.parse import urlsplit

from hface import ClientTLSConfig
from hface.connections import HTTPConnection, HTTPOverTCPOpener
from hface.events import ConnectionTerminated, DataReceived, HeadersReceived, StreamResetReceived
from hface.protocols.http2 import HTTP2ClientFactory
from hornbeam_erlang import state_get


def setting(name, default=None):
    """From Erlang (hornbeam_state:set(<<"hface_proxy.NAME">>, ...)), else the
    environment the VM started with (HFACE_NAME). Read per connection, on the worker's
    thread, where Erlang calls work."""
    return state_get(f"hface_proxy.{name}") or os.environ.get(f"HFACE_{name.upper()}", default)


# Connection-specific headers end at the proxy (and HTTP/2 forbids them).
HOP_BY_HOP = {b"connection", b"keep-alive", b"proxy-connection", b"transfer-encoding", b"upgrade"}


async def handler(client: HTTPConnection):
    target = urlsplit(setting("upstream", "http://127.0.0.1:8000"))
    tls_config = ClientTLSConfig(cafile=setting("upstream_cafile"))
    open_upstream = HTTPOverTCPOpener(HTTP2ClientFactory(), tls_config=tls_config)
    upstream, relay = None, None
    up_of, client_of, answered = {}, {}, set()

    def forget(up_id):
        up_of.pop(client_of.pop(up_id, None), None)

    async def fail(stream_id):
        if stream_id in answered:
            await client.send_stream_reset(stream_id)
        else:
            await client.send_headers(stream_id, [(b":status", b"502")])
            await client.send_data(stream_id, b"Bad Gateway\n", end_stream=True)

    async def relay_answers(upstream):
        while not isinstance(event := await upstream.receive_event(), ConnectionTerminated):
            stream_id = client_of.get(event.stream_id)
            if stream_id is None:  # the client reset it
                continue
            if isinstance(event, HeadersReceived):
                answered.add(stream_id)
                await client.send_headers(stream_id, event.headers, event.end_stream)
            elif isinstance(event, DataReceived):
                await client.send_data(stream_id, event.data, event.end_stream)
            elif isinstance(event, StreamResetReceived):
                await client.send_stream_reset(stream_id)
            if getattr(event, "end_stream", True):
                forget(event.stream_id)
        for up_id in list(client_of):
            await fail(client_of[up_id])
            forget(up_id)

    while not isinstance(event := await client.receive_event(), ConnectionTerminated):
        if isinstance(event, HeadersReceived):
            if upstream is None or not upstream.is_available():
                try:
                    address = (target.hostname, target.port or 80)
                    upstream = await open_upstream(address, tls=target.scheme == "https")
                except ConnectionError:
                    await fail(event.stream_id)
                    continue
                relay = asyncio.ensure_future(relay_answers(upstream))
            up_id = upstream.get_available_stream_id()
            up_of[event.stream_id], client_of[up_id] = up_id, event.stream_id
            headers = [(k, v) for k, v in event.headers if k not in HOP_BY_HOP and k != b":scheme"]
            headers.insert(1, (b":scheme", target.scheme.encode()))
            await upstream.send_headers(up_id, headers, event.end_stream)
        elif isinstance(event, DataReceived) and event.stream_id in up_of:
            if not upstream.has_expired():  # else the relay answers 502
                await upstream.send_data(up_of[event.stream_id], event.data, event.end_stream)
        elif isinstance(event, StreamResetReceived) and event.stream_id in up_of:
            up_id = up_of[event.stream_id]
            forget(up_id)
            await upstream.send_stream_reset(up_id)
    if upstream is not None:
        relay.cancel()
        await upstream.aclose()
