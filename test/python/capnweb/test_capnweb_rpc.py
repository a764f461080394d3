"""Python client against Python server, over real sockets: pipelining, map, callbacks,
references, timeouts, reconnection, authentication and bad input."""

import asyncio
import itertools
import json

import capnweb
import pytest
import websockets
from capnweb import RpcSessionOptions, RpcTarget
from capnweb.session import RpcSession
from capnweb.transports import WebSocketTransport
from cw_support import Recorder, run
from interop_api import InteropApi, make_api


async def serve(target=InteropApi, options=None, port=0):
    factory = target if not isinstance(target, type) else (lambda connection: target())
    return await capnweb.new_websocket_rpc_server("127.0.0.1", port, factory, options)


def url(server):
    return f"ws://127.0.0.1:{server.port}/"


async def recorded_session(server, local_main=None):
    """A client session whose messages are logged: (session, recorder)."""
    websocket = await websockets.connect(url(server))
    recorder = Recorder(WebSocketTransport(websocket))
    return RpcSession(recorder, local_main), recorder


def test_three_dependent_calls_take_one_round_trip():
    async def scenario():
        async with await serve() as server:
            session, wire = await recorded_session(server)
            api = session.get_remote_main()
            value = await api.make_counter(5).incremented(2).incremented(3).value
            assert value == 10
            # The temporaries release their imports as Python drops them; the rest is
            # one round trip: everything goes out before the single answer comes in.
            calls = [(d, m) for d, m in wire.log if m[0] != "release"]
            sent_first = [m for d, m in calls[:5]]
            assert [d for d, _ in calls] == ["out"] * 5 + ["in"]
            assert [m[0] for m in sent_first] == ["push", "push", "push", "push", "pull"]
            # Each call names the previous one's result by its import id: 1, 2, 3.
            assert sent_first[1][1][:3] == ["pipeline", 1, ["incremented"]]
            assert sent_first[2][1][:3] == ["pipeline", 2, ["incremented"]]
            assert sent_first[3][1] == ["pipeline", 3, ["value"]]
            assert sent_first[4] == ["pull", 4]
            assert calls[5] == ("in", ["resolve", 4, 10])
            api.dispose()

    run(scenario())


def test_map_runs_remotely_in_one_round_trip():
    async def scenario():
        async with await serve() as server:
            session, wire = await recorded_session(server)
            api = session.get_remote_main()
            squares = await api.numbers().map(lambda x: api.square(x))
            assert squares == [1, 4, 9, 16]
            remap = wire.log[1][1]
            assert remap[0] == "push" and remap[1][0] == "remap"
            assert remap[1][3] == [["import", 0]]  # `api`, captured
            assert remap[1][4] == [["pipeline", -1, ["square"], [["pipeline", 0]]], ["pipeline", 1]]
            assert sum(1 for d, _ in wire.log if d == "in") == 1
            profiles = await api.users().map(
                lambda u: {"who": u.name, "bio": api.get_user_profile(u.id).bio}
            )
            assert profiles == [
                {"who": "Alice", "bio": "Developer"},
                {"who": "Bob", "bio": "Developer"},
            ]
            single = await api.authenticate("t").map(lambda user: user.name)
            assert single == "Alice"
            with pytest.raises(TypeError, match="cannot be async"):

                async def coro(x):
                    return x

                api.numbers().map(coro)
            api.dispose()

    run(scenario())


class ClientSide(RpcTarget):
    def __init__(self):
        self.pings = []

    def ping(self, n):
        self.pings.append(n)
        return n + 1


def test_callbacks_both_ways():
    async def scenario():
        async with await serve() as server:
            mine = ClientSide()
            api = await capnweb.new_websocket_rpc_session(url(server), local_main=mine)
            assert await api.call_back(lambda x: x * 3, 5) == 15
            assert await api.call_back(_async_double, 21) == 42
            assert await api.greet_with(Greeter(), "me") == "hello me"
            # The server calls the client's main object through its own session.
            (server_session,) = server.sessions
            client_main = server_session.get_remote_main()
            assert await client_main.ping(1) == 2
            assert mine.pings == [1]
            api.dispose()

    run(scenario())


async def _async_double(x):
    await asyncio.sleep(0)
    return x * 2


class Greeter(RpcTarget):
    def greet(self, name):
        return f"hello {name}"


def test_release_and_refcounts():
    async def scenario():
        async with await serve() as server:
            api = await capnweb.new_websocket_rpc_session(url(server))
            (server_session,) = server.sessions
            counter = await api.make_counter(1)
            await _until(lambda: sorted(server_session.exports) == [-1, 0])
            # The same local target passed twice is one export with refcount 2.
            client_session = api._hook.entry.session
            greeter = Greeter()
            assert await api.echo([greeter, greeter]) is not None
            with counter:
                assert await counter.increment() == 2
            await _until(lambda: sorted(server_session.exports) == [0])
            await _until(lambda: client_session.get_stats() == {"imports": 1, "exports": 1})
            assert server_session.get_stats() == {"imports": 1, "exports": 1}
            with pytest.raises(capnweb.RpcError, match="after it was disposed"):
                await counter.increment()
            api.dispose()
            await _until(lambda: not server.sessions)

    run(scenario())


async def _until(condition, timeout=5.0):
    """Waits for `condition` while the event loop delivers messages."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not condition():
        assert loop.time() < deadline, "condition not reached"
        await asyncio.sleep(0.005)


class Slow(RpcTarget):
    async def wait(self, seconds):
        await asyncio.sleep(seconds)
        return "done"


def test_call_and_connect_timeouts():
    async def scenario():
        async with await serve(Slow) as server:
            options = RpcSessionOptions(call_timeout=0.2)
            api = await capnweb.new_websocket_rpc_session(url(server), options=options)
            assert await api.wait(0) == "done"
            with pytest.raises(TimeoutError):
                await api.wait(10)
            api.dispose()

        # A server that accepts and never answers the handshake.
        held = []
        silent = await asyncio.start_server(lambda r, w: held.append(w), "127.0.0.1", 0)
        port = silent.sockets[0].getsockname()[1]
        with pytest.raises(TimeoutError):
            await capnweb.new_websocket_rpc_session(
                f"ws://127.0.0.1:{port}/", options=RpcSessionOptions(connect_timeout=0.2)
            )
        silent.close()

    run(scenario())


def test_reconnection_with_backoff_against_a_restarting_server():
    async def scenario():
        server = await serve(make_api)
        port = server.port
        loop = asyncio.get_running_loop()
        attempts, events = [], []

        async def auth_handler():
            attempts.append(loop.time())
            if len(attempts) == 4:  # the first connection and two failed retries before
                nonlocal server
                server = await serve(make_api, port=port)
            return {"Authorization": f"Bearer attempt-{len(attempts)}"}

        options = RpcSessionOptions(
            reconnect_enabled=True,
            reconnect_max_attempts=5,
            reconnect_delay=0.05,
            reconnect_backoff_factor=2.0,
            reconnect_max_delay=1.0,
            auth_handler=auth_handler,
            on_connect=lambda: events.append("connect"),
            on_disconnect=lambda e: events.append(f"lost: {e}"),
        )
        api = await capnweb.new_websocket_rpc_session(f"ws://127.0.0.1:{port}/", options=options)
        assert await api.whoami() == "Bearer attempt-1"
        server.close()
        await server.wait_closed()
        # A call while disconnected waits for the new connection.
        assert await api.whoami() == "Bearer attempt-4"
        assert events[0] == "connect" and events[1].startswith("lost: ") and events[2] == "connect"
        gaps = [b - a for a, b in itertools.pairwise(attempts[1:])]
        assert gaps[0] >= 0.1 * 0.9 and gaps[1] >= 0.2 * 0.9, gaps  # 0.05, 0.1, 0.2: doubling
        api.dispose()
        server.close()
        await server.wait_closed()

        # A server that never comes back: calls fail once the attempts are used up.
        server = await serve(make_api)
        options = RpcSessionOptions(
            reconnect_enabled=True, reconnect_max_attempts=2, reconnect_delay=0.01
        )
        api = await capnweb.new_websocket_rpc_session(url(server), options=options)
        server.close()
        await server.wait_closed()
        with pytest.raises(capnweb.RpcSessionClosed, match="after 2 attempts"):
            await api.hello("anyone")

    run(scenario())


def test_auth_headers_reach_the_server():
    async def scenario():
        async with await serve(
            lambda connection: InteropApi(connection.headers.get("authorization"))
        ) as server:
            options = RpcSessionOptions(auth_handler=_auth)
            async with capnweb.websocket_rpc_session(url(server), options=options) as api:
                assert await api.whoami() == "Bearer your-jwt-token"

        def refuse(connection):
            raise PermissionError("no token")

        async with await serve(refuse) as server:
            with pytest.raises(capnweb.RpcSessionClosed, match="1008 no token"):
                api = await capnweb.new_websocket_rpc_session(url(server))
                await api.hello("x")

    run(scenario())


async def _auth():
    return {"Authorization": "Bearer your-jwt-token", "X-API-Key": "k"}


def test_errors_redaction_and_stacks():
    async def scenario():
        async with await serve() as server:
            api = await capnweb.new_websocket_rpc_session(url(server))
            with pytest.raises(ValueError) as raised:
                await api.boom("plan")
            assert raised.value.name == "RangeError" and raised.value.message == "the plan is wrong"
            assert raised.value.stack is None  # not sent unless asked
            with pytest.raises(TypeError, match="not a function"):
                await api.missing()
            with pytest.raises(TypeError, match="private"):
                await api["_secret"]()
            with pytest.raises(TypeError, match="positional arguments only"):
                api.hello(name="x")
            with pytest.raises(TypeError, match="Cannot serialize"):
                api.echo(object())
            api.dispose()

        options = RpcSessionOptions(on_send_error=_redact, send_stack_traces=True)
        async with await serve(options=options) as server:
            api = await capnweb.new_websocket_rpc_session(url(server))
            with pytest.raises(capnweb.RpcError) as raised:
                await api.boom("password")
            assert raised.value.message == "Internal server error"
            with pytest.raises(ValueError) as raised:
                await api.boom("plan")
            assert "Traceback" in raised.value.stack and "in boom" in raised.value.stack
            api.dispose()

    run(scenario())


def _redact(error):
    if "password" in str(error):
        return Exception("Internal server error")
    return None


@pytest.mark.parametrize(
    "message, reason, max_size",
    [
        ("not json", "invalid JSON", None),
        ('{"not": "an array"}', "bad RPC message", None),
        ('["push", ["pipeline", 99, ["x"]]]', "no such entry on exports table: 99", None),
        ('["release", 0, 5]', "refcount would go negative", None),
        ('["pull", 7]', "no such export ID: 7", None),
        ('["push", ["headers", []]]', "does not support the 'headers' expression", None),
        ('["push", ["bigint", "' + "9" * 20000 + '"]]', "maximum length of 16384 digits", None),
        ('["push", ' + "[[" * 300 + "]]" * 300 + "]", "depth", None),
        ("x" * 2000, "exceeds maximum size of 1000", 1000),
    ],
)
def test_malformed_and_oversized_input_aborts_only_that_session(message, reason, max_size):
    async def scenario():
        limits = capnweb.Limits(max_message_size=max_size) if max_size else capnweb.Limits()
        options = RpcSessionOptions(limits=limits)
        async with await serve(options=options) as server:
            api = await capnweb.new_websocket_rpc_session(url(server))
            async with websockets.connect(url(server)) as raw:
                await raw.send(message)
                abort = json.loads(await raw.recv())
                assert abort[0] == "abort" and abort[1][0] == "error" and reason in abort[1][2], (
                    abort
                )
                with pytest.raises(websockets.ConnectionClosed):
                    await raw.recv()
                assert raw.close_code == 3000
            assert await api.hello("still here") == "Hello, still here!"
            api.dispose()

    run(scenario())


def test_disposing_the_main_stub_closes_the_session():
    async def scenario():
        async with await serve() as server:
            api = await capnweb.new_websocket_rpc_session(url(server))
            assert await api.hello("x") == "Hello, x!"
            session = api._hook.entry.session
            api.dispose()
            assert isinstance(await session.closed, capnweb.RpcSessionClosed)
            await _until(lambda: not server.sessions)

    run(scenario())
