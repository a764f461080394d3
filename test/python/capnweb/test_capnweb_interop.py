"""Interop with the JavaScript implementation (npm capnweb 0.12, Node 20): Node clients
against the Python server (standalone and inside Hornbeam), and the Python client
against a Node server."""

import asyncio
import datetime
import json

import capnweb
import httpx
import pytest
from cw_support import node_client, run

ALL_WS = [
    "hello",
    "pipeline",
    "chain",
    "map",
    "map_objects",
    "callback",
    "target_callback",
    "counter",
    "error",
    "types",
    "python_types",
    "private_names",
]
# A batch is one request: scenarios that await in turn need a WebSocket.
ALL_BATCH = ["hello", "pipeline", "chain", "map", "map_objects", "error", "python_types"]

PIPELINE = [
    {"id": "u_1", "name": "Alice", "token": "token-1"},
    {"id": "u_1", "bio": "Developer"},
    ["Welcome, u_1!", "You have 3 new messages"],
]


def check_common(results):
    assert results["hello"]["ok"] == "Hello, Node!"
    assert results["pipeline"]["ok"] == PIPELINE
    assert results["chain"]["ok"] == 10
    assert results["map"]["ok"] == [1, 4, 9, 16]
    assert results["map_objects"]["ok"] == [
        {"name": "Alice", "profile": {"id": "u_1", "bio": "Developer"}},
        {"name": "Bob", "profile": {"id": "u_2", "bio": "Developer"}},
    ]
    assert results["python_types"]["ok"] == {
        "big": "1180591620717411303424",
        "small_big": "bigint",
        "date": "2025-06-08T00:22:50.815Z",
        "bytes": "0001fe",
        "tuple": [1, "two"],
        "floats": [True, True, True],
        "undef": True,
    }


def check_websocket_only(results):
    assert results["callback"]["ok"] == 40
    assert results["target_callback"]["ok"] == "hi py from node"
    assert results["counter"]["ok"] == [15, 18, 18]
    types = results["types"]["ok"]
    described = types.pop("described")
    assert all(types.values()), types
    assert described == {
        "big": "BigInt",
        "date": "datetime",
        "bytes": "bytes",
        "undef": "NoneType",
        "inf": "float",
        "ninf": "float",
        "nan": "float",
        "nested": "list",
        "obj": "dict",
        "err": "RpcTypeError",
    }
    assert results["private_names"]["ok"] == [
        ["_secret", "TypeError"],
        ["instance_field", "TypeError"],
        ["class_data", "TypeError"],
        ["missing", "TypeError"],
    ]
    assert results["error"]["ok"] == {
        "name": "Error",
        "message": "Sensitive information redacted",
        "isError": True,
    }


def test_node_client_python_websocket_server(py_servers):
    results = node_client("ws", f"ws://127.0.0.1:{py_servers.ws_port}/", *ALL_WS)
    check_common(results)
    check_websocket_only(results)


def test_node_client_python_batch_server(py_servers):
    results = node_client(
        "batch", f"http://127.0.0.1:{py_servers.batch_port}/rpc", *ALL_BATCH, "callback"
    )
    check_common(results)
    assert results["error"]["ok"] == {
        "name": "Error",
        "message": "Sensitive information redacted",
        "isError": True,
    }
    assert "HTTP batch" in results["callback"]["error"]


def test_node_client_hornbeam_websocket(hornbeam_api):
    results = node_client("ws", f"ws://127.0.0.1:{hornbeam_api.port}/api", *ALL_WS)
    check_common(results)
    check_websocket_only(results)


def test_node_client_hornbeam_batch(hornbeam_api):
    results = node_client("batch", f"http://127.0.0.1:{hornbeam_api.port}/api", *ALL_BATCH)
    check_common(results)
    assert results["error"]["ok"]["message"] == "Sensitive information redacted"


@pytest.mark.parametrize(
    "body, error",
    [
        ("not json", ["SyntaxError", "invalid JSON"]),
        ('["push", ["headers", []]]', ["TypeError", "does not support the 'headers' expression"]),
        ('["pull", 5]', ["Error", "no such export ID: 5"]),
    ],
)
def test_malformed_batch_gets_its_abort_as_the_reply(hornbeam_api, body, error):
    url = f"http://127.0.0.1:{hornbeam_api.port}/api"
    reply = httpx.post(url, content=body)
    assert reply.status_code == 200
    (line,) = reply.text.split("\n")
    kind, (tag, name, message) = json.loads(line)
    assert (kind, tag, name) == ("abort", "error", error[0]) and error[1] in message
    good = httpx.post(url, content='["push", ["pipeline", 0, ["square"], [7]]]\n["pull", 1]')
    assert good.status_code == 200 and good.text == '["resolve",1,49]'


def test_python_client_node_websocket_server(node_server):
    async def scenario():
        auth = capnweb.RpcSessionOptions(auth_handler=lambda: {"Authorization": "Bearer py"})
        async with capnweb.websocket_rpc_session(
            f"ws://127.0.0.1:{node_server.port}/", options=auth
        ) as api:
            assert await api.hello("Py") == "Hello, Py! (node)"
            assert await api.whoami() == "Bearer py"
            counter = await api.make_counter(5)
            assert await api.increment_counter(counter, 2) == 7
            assert await counter.increment(1) == 8
            assert await counter.value == 8
            assert await api.make_counter(1).incremented(2).incremented(3).value == 6
            assert await api.numbers().map(lambda x: api.square(x)) == [1, 4, 9]
            assert await api.call_back(lambda x: x + 1, 41) == 42
            sent = {
                "big": capnweb.BigInt(5),
                "date": datetime.datetime(2025, 1, 2, tzinfo=datetime.UTC),
                "bytes": b"\x01\xff",
                "list": [1, [2]],
                "err": TypeError("t"),
                "u": capnweb.undefined,
                "nan": float("nan"),
                "inf": float("inf"),
            }
            assert await api.describe(sent) == {
                "big": "bigint",
                "date": "Date",
                "bytes": "Uint8Array",
                "list": "Array",
                "err": "TypeError",
                "u": "undefined",
                "nan": "number",
                "inf": "number",
            }
            back = await api.echo(sent)
            assert back["big"] == 5 and isinstance(back["big"], capnweb.BigInt)
            assert (
                back["date"] == sent["date"]
                and back["bytes"] == b"\x01\xff"
                and back["list"] == [1, [2]]
            )
            assert isinstance(back["err"], TypeError) and back["err"].message == "t"
            assert back["u"] is None and back["nan"] != back["nan"] and back["inf"] == float("inf")
            with pytest.raises(ValueError, match="node says no"):
                await api.boom()

    run(scenario())


def test_python_client_node_batch_server(node_server):
    async def scenario():
        api = await capnweb.new_http_batch_rpc_session(f"http://127.0.0.1:{node_server.port}/")
        counter = api.make_counter(3)
        value = counter.incremented(4).value
        squares = api.numbers().map(lambda x: api.square(x))
        assert await asyncio.gather(api.hello("batch"), value, squares) == [
            "Hello, batch! (node)",
            7,
            [1, 4, 9],
        ]

    run(scenario())
