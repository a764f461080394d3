"""The seed README's examples (docs/capnweb.md), run against real servers. The code is
the README's; only hosts and ports change, and prints become assertions."""

import asyncio

import capnweb
from aiohttp import web
from capnweb import (
    RpcSessionOptions,
    RpcTarget,
    new_http_batch_rpc_response,
    new_http_batch_rpc_session,
    new_websocket_rpc_server,
    new_websocket_rpc_session,
    websocket_rpc_session,
)
from cw_support import run


class MyApiServer(RpcTarget):
    async def hello(self, name: str) -> str:
        return f"Hello, {name}!"


def test_quick_example():
    async def main():
        server = await new_websocket_rpc_server("localhost", 0, MyApiServer())
        api = await new_websocket_rpc_session(f"ws://localhost:{server.port}/api")
        result = await api.hello("World")
        assert result == "Hello, World!"
        api.dispose()
        server.close()

    run(main())


class Api(RpcTarget):
    async def authenticate(self, session_token: str) -> dict:
        return {"id": "u_1", "name": "Alice"}

    async def get_user_profile(self, user_id: str) -> dict:
        return {"id": user_id, "bio": "Developer"}

    async def get_notifications(self, user_id: str) -> list:
        return ["Welcome!", "You have 3 new messages"]


def test_http_batch_pipelining_is_one_request():
    requests = []

    async def handle_rpc(request):
        body = await request.text()
        requests.append(body.count("\n") + 1)
        response_body = await new_http_batch_rpc_response(body, Api())
        return web.Response(text=response_body)

    async def main():
        app = web.Application()
        app.router.add_post("/rpc", handle_rpc)
        runner = web.AppRunner(app)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]

        api = await new_http_batch_rpc_session(f"http://127.0.0.1:{port}/rpc")
        user = api.authenticate("session-token")
        profile = api.get_user_profile(user.id)
        notifications = api.get_notifications(user.id)
        u, p, n = await asyncio.gather(user, profile, notifications)
        assert u == {"id": "u_1", "name": "Alice"}
        assert p == {"id": "u_1", "bio": "Developer"}
        assert n == ["Welcome!", "You have 3 new messages"]
        # One POST: three pushes and three pulls.
        assert requests == [6]
        await runner.cleanup()

    run(main())


def test_reconnection_and_error_handling_options():
    seen = []

    async def auth_handler():
        return {"Authorization": "Bearer your-token-here"}

    async def on_connect():
        seen.append("Connected to server!")

    async def on_disconnect(error):
        seen.append(f"Disconnected: {error}")

    def error_handler(error):
        if "password" in str(error).lower():
            return Exception("Sensitive information redacted")
        return error

    options = RpcSessionOptions(
        connect_timeout=10.0,
        call_timeout=5.0,
        reconnect_enabled=True,
        reconnect_max_attempts=5,
        reconnect_delay=1.0,
        reconnect_backoff_factor=2.0,
        reconnect_max_delay=60.0,
        auth_handler=auth_handler,
        on_connect=on_connect,
        on_disconnect=on_disconnect,
        on_send_error=error_handler,
        debug=True,
    )

    class Leaky(RpcTarget):
        async def hello(self, name):
            raise RuntimeError(f"bad password for {name}")

    async def main():
        server = await new_websocket_rpc_server("127.0.0.1", 0, Leaky(), options)
        api = await new_websocket_rpc_session(f"ws://127.0.0.1:{server.port}/api", options=options)
        try:
            await api.hello("World")
            raise AssertionError("no error")
        except Exception as e:
            assert str(e) == "Sensitive information redacted"
        assert seen == ["Connected to server!"]
        api.dispose()
        server.close()

    run(main())


class Counter(RpcTarget):
    def __init__(self, initial_value: int = 0):
        super().__init__()
        self._value = initial_value

    async def increment(self, amount: int = 1) -> int:
        self._value += amount
        return self._value

    @property
    def value(self) -> int:
        return self._value


class ApiServer(RpcTarget):
    async def hello(self, name: str) -> str:
        return f"Hello, {name}!"

    async def make_counter(self, initial: int = 0) -> Counter:
        return Counter(initial)

    async def increment_counter(self, counter, amount: int = 1) -> int:
        return await counter.increment(amount)

    async def process_data(self, data: list) -> dict:
        return {"processed": len(data), "data": data}

    async def process_with_callback(self, data, callback):
        return [await callback(item) for item in data]


def test_counter_demo_and_context_manager():
    async def demo():
        server = await new_websocket_rpc_server("127.0.0.1", 0, ApiServer())
        api = await new_websocket_rpc_session(f"ws://127.0.0.1:{server.port}")
        counter = await api.make_counter(10)
        result = await api.increment_counter(counter, 5)
        assert result == 15
        result = await counter.increment(3)
        assert result == 18
        assert await counter.value == 18
        assert await api.process_data([1, 2]) == {"processed": 2, "data": [1, 2]}
        assert await api.process_with_callback([1, 2], lambda item: item * 2) == [2, 4]
        api.dispose()

        async with websocket_rpc_session(f"ws://127.0.0.1:{server.port}/api") as api:
            result = await api.hello("World")
            assert result == "Hello, World!"
            session = api._hook.entry.session
        assert isinstance(await session.closed, capnweb.RpcSessionClosed)
        server.close()

    run(demo())


def test_promise_pipelining_section():
    class Profile(RpcTarget):
        def get_posts(self):
            return ["post 1"]

    class User(RpcTarget):
        def get_profile(self):
            return Profile()

    class Auth(RpcTarget):
        def authenticate(self, token):
            return User()

    async def main():
        server = await new_websocket_rpc_server("127.0.0.1", 0, Auth())
        api = await new_websocket_rpc_session(f"ws://127.0.0.1:{server.port}")
        user = api.authenticate("token")
        profile = user.get_profile()
        posts = profile.get_posts()
        user_data, profile_data, posts_data = await asyncio.gather(user, profile, posts)
        assert isinstance(user_data, capnweb.RpcStub) and isinstance(profile_data, capnweb.RpcStub)
        assert posts_data == ["post 1"]
        api.dispose()
        server.close()

    run(main())
