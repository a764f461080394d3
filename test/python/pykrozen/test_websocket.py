"""pykrozen's WebSocket side in all three modes, with the `websockets` library and
raw frames: hooks and replies, per-connection state, frame sizes, fragmentation,
ping/pong, close codes, abrupt disconnects, broadcasting, 100 concurrent clients."""

import asyncio
import json
import os
import socket
import struct
import time

import httpx
import pytest
import websockets
from websockets.exceptions import ConnectionClosed, InvalidStatus


def run(coro):
    return asyncio.run(asyncio.wait_for(coro, 60))


def connect(pk, **kwargs):
    return websockets.connect(pk.ws_url(), max_size=None, **kwargs)


def stats(pk):
    return httpx.get(pk.url("/ws-stats"), timeout=10).json()


def wait_until(check, timeout=10.0):
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        time.sleep(0.01)


def test_default_echo_and_hook_replies(pk):
    async def talk():
        async with connect(pk) as ws:
            await ws.send(json.dumps({"hello": "wörld"}))
            assert json.loads(await ws.recv()) == {"echo": {"hello": "wörld"}}
            await ws.send(json.dumps({"type": "ping"}))
            assert json.loads(await ws.recv()) == {"type": "pong"}
            await ws.send(json.dumps({"type": "async", "value": 7}))
            assert json.loads(await ws.recv()) == {"type": "async", "value": 7}
            await ws.send(json.dumps({"type": "silent"}))  # stop without reply: nothing
            await ws.send(json.dumps({"type": "ping"}))
            assert json.loads(await ws.recv()) == {"type": "pong"}

    run(talk())


def test_per_connection_state(pk):
    async def talk():
        async with connect(pk) as a, connect(pk) as b:
            for expected in (1, 2, 3):
                await a.send(json.dumps({"type": "count"}))
                assert json.loads(await a.recv()) == {"count": expected}
            await b.send(json.dumps({"type": "count"}))
            assert json.loads(await b.recv()) == {"count": 1}
            await b.send(json.dumps({"type": "set_name", "name": "bo"}))
            assert json.loads(await b.recv()) == {"type": "name_set", "name": "bo"}

    run(talk())


def test_malformed_json_gets_an_error_and_the_connection_survives(pk):
    async def talk():
        async with connect(pk) as ws:
            await ws.send("{not json")
            assert json.loads(await ws.recv()) == {"error": "invalid json"}
            await ws.send(json.dumps([1, 2]))
            assert json.loads(await ws.recv()) == {"echo": [1, 2]}

    run(talk())


@pytest.mark.parametrize("size", [0, 125, 126, 65535, 65536, 1_000_000])
def test_binary_frame_sizes(pk, size):
    payload = os.urandom(size)

    async def talk():
        async with connect(pk) as ws:
            await ws.send(payload)
            assert await ws.recv() == payload

    run(talk())


@pytest.mark.parametrize("size", [0, 125, 126, 65535, 65536, 300_000])
def test_text_frame_sizes(pk, size):
    text = ("é" * size)[:size] if size else ""
    message = json.dumps(text, ensure_ascii=False)

    async def talk():
        async with connect(pk) as ws:
            await ws.send(message)
            assert json.loads(await ws.recv()) == {"echo": text}

    run(talk())


def test_fragmented_messages(pk):
    async def talk():
        async with connect(pk) as ws:
            await ws.send(['{"type":', ' "ping"', "}"])  # text in three frames
            assert json.loads(await ws.recv()) == {"type": "pong"}
            await ws.send([b"ab", b"", b"cd" * 40000])  # binary in three frames
            assert await ws.recv() == b"ab" + b"cd" * 40000

    run(talk())


def test_ping_pong(pk):
    async def talk():
        async with connect(pk) as ws:
            latency = await (await ws.ping(b"are you there"))
            assert latency >= 0
            await ws.send(json.dumps({"type": "ping"}))  # still usable
            assert json.loads(await ws.recv()) == {"type": "pong"}

    run(talk())


def test_client_close_code_and_disconnect_hook(pk):
    before = stats(pk)["disconnects"]

    async def talk():
        ws = await connect(pk)
        await ws.close(4000, "bye")
        assert ws.close_code == 4000

    run(talk())
    wait_until(lambda: stats(pk)["disconnects"] >= before + 1)


def close_after(pk, message):
    """The close frame the server sends after `message` (as websockets received it)."""

    async def talk():
        async with connect(pk) as ws:
            await ws.send(json.dumps(message))
            with pytest.raises(ConnectionClosed) as closed:
                await ws.recv()
            return closed.value.rcvd

    return run(talk())


def test_server_close_from_a_hook(pk):
    close = close_after(pk, {"type": "close"})
    assert (close.code, close.reason) == (4001, "asked to")


def test_hook_exception_closes_1011_and_logs(pk):
    assert close_after(pk, {"type": "boom"}).code == 1011
    pk.output.wait_for(lambda line: "ws hook kaboom" in line)


def test_abrupt_disconnect_runs_the_disconnect_hook(pk):
    before = stats(pk)
    s = raw_handshake(pk)
    wait_until(lambda: stats(pk)["clients"] == before["clients"] + 1)
    s.close()  # no close frame
    wait_until(lambda: stats(pk)["disconnects"] >= before["disconnects"] + 1)
    assert stats(pk)["clients"] == before["clients"]


def test_broadcast_reaches_every_client(pk):
    async def talk():
        async with connect(pk) as a, connect(pk) as b, connect(pk) as c:
            await a.send(json.dumps({"type": "set_name", "name": "ann"}))
            await a.recv()
            await a.send(json.dumps({"type": "broadcast", "text": "hi all"}))
            for ws in (a, b, c):
                assert json.loads(await ws.recv()) == {"from": "ann", "text": "hi all"}

    run(talk())


def test_100_concurrent_clients(pk):
    async def client(i):
        async with connect(pk) as ws:
            for j in range(20):
                await ws.send(json.dumps({"i": i, "j": j}))
                assert json.loads(await ws.recv()) == {"echo": {"i": i, "j": j}}
            await ws.send(json.dumps({"type": "count"}))
            return json.loads(await ws.recv())["count"]

    async def many():
        return await asyncio.gather(*(client(i) for i in range(100)))

    assert run(many()) == [1] * 100


def test_upgrade_elsewhere_is_refused(pk):
    async def talk():
        with pytest.raises(InvalidStatus) as refused:
            async with websockets.connect(pk.ws_url("/not-the-ws-path")):
                pass
        assert refused.value.response.status_code in (403, 404)

    run(talk())


# Raw frames: what a library would never send.


def raw_handshake(pk):
    s = socket.create_connection(("127.0.0.1", pk.port), timeout=10)
    s.sendall(
        b"GET /ws HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
    )
    head = b""
    while b"\r\n\r\n" not in head:
        head += s.recv(1)
    assert head.startswith(b"HTTP/1.1 101")
    assert b"s3pPLMBiTxaQ9kYGzzhZRbK+xOo=" in head  # RFC 6455's sample
    return s


def client_frame(opcode, payload, mask=True, fin=True):
    head = bytes([(0x80 if fin else 0) | opcode])
    n = len(payload)
    length = bytes([n]) if n < 126 else bytes([126]) + struct.pack(">H", n)
    if not mask:
        return head + length + payload
    key = b"\x01\x02\x03\x04"
    masked = bytes(b ^ key[i % 4] for i, b in enumerate(payload))
    return head + bytes([length[0] | 0x80]) + length[1:] + key + masked


def read_close_code(s):
    """The code of the close frame the server sends (skipping other frames)."""
    data = b""
    while True:
        chunk = s.recv(65536)
        if not chunk:
            raise AssertionError(f"closed without a close frame; got {data!r}")
        data += chunk
        while len(data) >= 2:
            opcode, n = data[0] & 0x0F, data[1] & 0x7F
            at = 2
            if n == 126:
                n, at = struct.unpack(">H", data[2:4])[0], 4
            if len(data) < at + n:
                break
            payload, data = data[at : at + n], data[at + n :]
            if opcode == 8:
                return struct.unpack(">H", payload[:2])[0]


@pytest.mark.parametrize(
    "frame, code",
    [
        (client_frame(1, b"\xff\xfe not utf-8"), 1007),
        (client_frame(1, b'{"a": 1}', mask=False), 1002),
        (client_frame(0, b"continuation of nothing"), 1002),
        (client_frame(9, b"p" * 126), 1002),  # a control frame over 125 bytes
    ],
)
def test_protocol_violations_close_with_their_code(pk, frame, code):
    s = raw_handshake(pk)
    s.sendall(frame)
    assert read_close_code(s) == code
    s.close()


def test_close_code_is_echoed(pk):
    s = raw_handshake(pk)
    s.sendall(client_frame(8, struct.pack(">H", 4321) + b"done"))
    assert read_close_code(s) == 4321
    s.close()
