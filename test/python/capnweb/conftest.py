"""Fixtures of the capnweb tests: Python servers in a thread, the Node server of
`node/`, and a Hornbeam node serving `apps/interop_api.py` as ASGI."""

import pytest
from cw_support import _ERLANG, EBIN, HERE, NODE_DIR, Process, ThreadedServers, node_ready


@pytest.fixture(scope="session")
def py_servers():
    servers = ThreadedServers()
    yield servers
    servers.close()


@pytest.fixture(scope="session")
def node_server():
    node_ready()
    server = Process(["node", "server.mjs", "0"], "listening ", NODE_DIR)
    yield server
    server.close()


@pytest.fixture(scope="session")
def hornbeam_api():
    """interop_api:app served by Hornbeam as ASGI: its port."""
    if not (EBIN / "hornbeam.app").exists():
        raise RuntimeError(f"{EBIN} has no hornbeam.app: run `rebar3 compile` (make test does)")
    node = Process(
        ["erl", "-noshell", "-pa", str(EBIN), "-eval", _ERLANG],
        "serving ",
        str(HERE / "apps"),
        env={"CAPNWEB_APPS": str(HERE / "apps")},
    )
    yield node
    node.close()
