"""Every Python block of docs/pykrozen.md (the original pykrozen README's examples,
verbatim) as a test: each app block is served in the three modes and driven with
real clients; the type stubs are checked against the real classes."""

import asyncio
import json

import httpx
import pykrozen
import pytest
import readme_blocks
import websockets
from conftest import MODES, Standalone, serve

BLOCKS = readme_blocks.blocks()
HEADINGS = [heading for heading, _ in BLOCKS]


def ws_talk(url, messages, receive=None):
    """Sends each message (JSON-encoded) and collects one reply per message."""

    async def talk():
        async with websockets.connect(url) as ws:
            replies = []
            for message in messages:
                await ws.send(json.dumps(message))
                replies.append(json.loads(await ws.recv()))
            return replies

    return asyncio.run(asyncio.wait_for(talk(), 30))


@pytest.fixture
def served(request, readme_apps):
    directory, modules = readme_apps

    def start(heading, mode):
        return serve(request, modules[heading], mode, directory)

    return start


# One check per block heading; test_every_block_has_a_check keeps this complete.


def check_quick_start(s):
    assert httpx.get(s.url("/hello")).json() == {"message": "Hello, World!"}
    assert ws_talk(s.ws_url("/ws"), [{"a": 1}]) == [{"echo": {"a": 1}}]


def check_installation(s):
    assert httpx.get(s.url("/_internal/health")).json() == {"status": "ok"}


def check_configuration(s):
    # ws_path = "/socket" applies in every mode (port and host only standalone).
    assert ws_talk(s.ws_url("/socket"), [{"b": 2}]) == [{"echo": {"b": 2}}]


def check_get_routes(s):
    assert httpx.get(s.url("/")).json() == {"message": "Welcome!"}
    r = httpx.get(s.url("/users"))
    assert r.json() == {"users": ["alice", "bob"]} and r.headers["x-custom"] == "value"


def check_post_routes(s):
    r = httpx.post(s.url("/users"), json={"username": "ann"})
    assert (r.status_code, r.json()) == (201, {"created": "ann"})


def check_route_parameters(s):
    assert httpx.get(s.url("/users/7")).json() == {"user_id": "7"}
    assert httpx.get(s.url("/posts/1/comments/2")).json() == {"post": "1", "comment": "2"}


def check_wildcard_routes(s):
    assert httpx.get(s.url("/files/docs/readme.txt")).json() == {"path": "docs/readme.txt"}


def check_query_parameters(s):
    assert httpx.get(s.url("/search?q=hello&limit=10")).json() == {"query": "hello", "limit": 10}
    assert httpx.get(s.url("/search")).json() == {"query": "", "limit": 20}


def check_response_format(s):
    r = httpx.get(s.url("/"))
    assert (r.status_code, r.json()) == (200, {"key": "value"})


def check_middleware(s):
    r = httpx.get(s.url("/api/data"))
    assert (r.status_code, r.json()) == (401, {"error": "Unauthorized"})
    r = httpx.get(s.url("/api/data"), headers={"authorization": "secret-token"})
    assert (r.status_code, r.json()) == (200, {"data": 1})
    r = httpx.get(s.url("/open"))
    assert r.headers["access-control-allow-origin"] == "*"
    s.output.wait_for(lambda line: line == "GET /open")


def check_http_hooks(s):
    httpx.get(s.url("/hooked"))
    s.output.wait_for(lambda line: line == "GET request to /hooked")
    s.output.wait_for(lambda line: line == "Response: 404")


def check_handling_connections(s):
    assert ws_talk(s.ws_url(), [{"x": 1}]) == [{"echo": {"x": 1}}]
    s.output.wait_for(lambda line: line == "Client connected")
    s.output.wait_for(lambda line: line == "Client anonymous disconnected")


def check_handling_messages(s):
    assert ws_talk(
        s.ws_url(), [{"type": "ping"}, {"type": "set_name", "name": "zoe"}, {"type": "other"}]
    ) == [{"type": "pong"}, {"type": "name_set", "name": "zoe"}, {"echo": {"type": "other"}}]


def check_broadcasting(s):
    async def talk():
        async with websockets.connect(s.ws_url()) as a, websockets.connect(s.ws_url()) as b:
            # Both are tracked once the server answers them.
            for ws in (a, b):
                await ws.send("{}")
                await ws.recv()
            sent = await asyncio.to_thread(httpx.get, s.url("/broadcast?n=5"))
            assert sent.json() == {"sent_to": 2}
            return [json.loads(await ws.recv()) for ws in (a, b)]

    assert asyncio.run(asyncio.wait_for(talk(), 30)) == [{"news": "5"}, {"news": "5"}]


def check_using_a_plugin(s):
    assert httpx.get(s.url("/api/data")).status_code == 401
    r = httpx.get(s.url("/api/data"), headers={"Authorization": "my-secret-token"})
    assert (r.status_code, r.json()) == (200, {"data": 1})


def check_shared_state(s):
    assert httpx.get(s.url("/users")).json() == {"users": []}


def check_per_connection_state(s):
    assert ws_talk(s.ws_url(), ["hi"]) == [{"echo": "hi"}]


def check_full_example(s):
    async def talk():
        async with websockets.connect(s.ws_url()) as ws:
            await ws.send(json.dumps({"type": "ping"}))
            pong = json.loads(await ws.recv())
            created = await asyncio.to_thread(httpx.post, s.url("/api/users"), json={"name": "ann"})
            event = json.loads(await ws.recv())
            return pong, created, event

    pong, created, event = asyncio.run(asyncio.wait_for(talk(), 30))
    assert pong["type"] == "pong" and isinstance(pong["time"], float)
    assert created.status_code == 201
    user = created.json()
    assert user["name"] == "ann"
    assert event == {"event": "user_created", "user": user}
    assert user in httpx.get(s.url("/api/users")).json()["users"]
    assert httpx.get(s.url("/")).json() == {"message": "Welcome to the API"}


def check_performance_tuning(s):
    check_installation(s)


def check_multi_worker_mode(s):
    check_installation(s)


CHECKS = {
    "Quick Start": check_quick_start,
    "Installation": check_installation,
    "Configuration": check_configuration,
    "GET Routes": check_get_routes,
    "POST Routes": check_post_routes,
    "Route Parameters": check_route_parameters,
    "Wildcard Routes": check_wildcard_routes,
    "Query Parameters": check_query_parameters,
    "Response Format": check_response_format,
    "Middleware": check_middleware,
    "HTTP Hooks": check_http_hooks,
    "Handling Connections": check_handling_connections,
    "Handling Messages": check_handling_messages,
    "Broadcasting": check_broadcasting,
    "Using a Plugin": check_using_a_plugin,
    "Shared State": check_shared_state,
    "Per-Connection State": check_per_connection_state,
    "Full Example": check_full_example,
    "Performance Tuning": check_performance_tuning,
    "Multi-Worker Mode": check_multi_worker_mode,
}


def test_every_block_has_a_check():
    assert len(BLOCKS) == 25
    unchecked = [h for h in HEADINGS if h not in CHECKS and h not in readme_blocks.NOT_APPS]
    assert unchecked == []


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("heading", list(CHECKS))
def test_block(served, heading, mode):
    CHECKS[heading](served(heading, mode))


def test_creating_a_plugin_defines_a_plugin():
    namespace = {}
    exec(dict(BLOCKS)["Creating a Plugin"], namespace)
    plugin = namespace["AuthPlugin"](secret="s")
    assert isinstance(plugin, pykrozen.Plugin) and plugin.name == "auth"
    target = pykrozen.App()
    target.plugin(plugin)
    assert len(target.middleware) == 1


@pytest.mark.parametrize(
    "heading, real",
    [
        ("Request", pykrozen.Request),
        ("Response", pykrozen.Response),
        ("WSClient", pykrozen.WSClient),
        ("WSMessage", pykrozen.WSMessage),
    ],
)
def test_type_reference_matches_the_real_classes(heading, real):
    namespace = {"WSClient": pykrozen.WSClient}
    exec(
        "from typing import Any\nfrom types import SimpleNamespace\n" + dict(BLOCKS)[heading],
        namespace,
    )
    stub = namespace[heading]
    documented = set(stub.__annotations__) | {n for n in vars(stub) if not n.startswith("_")}
    present = set(getattr(real, "__slots__", ())) | {n for n in dir(real) if not n.startswith("_")}
    assert documented <= present, documented - present


@pytest.mark.parametrize("heading", ["Performance Tuning", "Multi-Worker Mode"])
def test_workers_share_the_port(readme_apps, heading):
    """settings.workers forks processes that all accept on the one port."""
    directory, modules = readme_apps
    server = Standalone(directory / f"{modules[heading]}.py")
    try:
        expected = 4 if heading == "Performance Tuning" else 2
        pids = set()
        for _ in range(400):
            with httpx.Client() as client:  # a new connection each time
                pids.add(client.get(f"http://127.0.0.1:{server.port}/_internal/info").json()["pid"])
            if len(pids) == expected:
                break
        assert len(pids) == expected
        assert server.proc.pid not in pids  # the parent only supervises
    finally:
        assert server.stop() == 0
