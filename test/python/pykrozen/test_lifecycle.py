"""server:start and server:stop in each mode: SIGTERM for the standalone server,
hornbeam:stop/1 (lifespan shutdown) for ASGI, py_reactor_context:stop/1 (the
interpreter's end) for the reactor."""

import os
from pathlib import Path

import httpx
from conftest import APPS, Standalone

MARKERS = Path(os.environ["PK_MARKERS"])


def test_standalone_start_and_stop():
    server = Standalone(APPS / "pk_lifecycle.py")
    assert httpx.get(f"http://127.0.0.1:{server.port}/").json() == {"mode": "standalone"}
    assert (MARKERS / "start-standalone").read_text() == str(server.proc.pid)
    assert server.stop() == 0  # SIGTERM: a clean exit
    assert (MARKERS / "stop-standalone").read_text() == str(server.proc.pid)


def test_hornbeam_start_and_stop(hornbeam_node):
    for mode in ("asgi", "reactor"):
        port = hornbeam_node.ports["pk_lifecycle"][mode]
        assert httpx.get(f"http://127.0.0.1:{port}/").json() == {"mode": mode}
        assert (MARKERS / f"start-{mode}").exists()
        assert not (MARKERS / f"stop-{mode}").exists()
    hornbeam_node.stop_app("pk_lifecycle")  # hornbeam:stop/1, py_reactor_context:stop/1
    for mode in ("asgi", "reactor"):
        assert (MARKERS / f"stop-{mode}").read_text() == str(hornbeam_node.proc.pid)
