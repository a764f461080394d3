"""Helpers of the capnweb tests (conftest.py holds the fixtures): running a test
coroutine, recording the wire, Python servers on a thread, the Node client, and
server subprocesses."""

import asyncio
import json
import os
import subprocess
import sys
import threading
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[2]
NODE_DIR = HERE / "node"
EBIN = ROOT / "_build" / "default" / "lib" / "hornbeam" / "ebin"
sys.path[:0] = [str(ROOT / "priv" / "python"), str(HERE / "apps")]

import capnweb  # noqa: E402
import interop_api  # noqa: E402


def run(coro, timeout=30):
    """Runs a test coroutine on a fresh event loop, failing it after `timeout` s."""

    async def bounded():
        return await asyncio.wait_for(coro, timeout)

    return asyncio.run(bounded())


class Recorder(capnweb.Transport):
    """Wraps a transport and logs every message as ("out"|"in", parsed JSON)."""

    def __init__(self, inner):
        self.inner = inner
        self.log = []

    def send(self, text):
        self.log.append(("out", json.loads(text)))
        self.inner.send(text)

    async def receive(self):
        text = await self.inner.receive()
        self.log.append(("in", json.loads(text)))
        return text

    def abort(self, error):
        self.inner.abort(error)


class ThreadedServers:
    """Python servers on their own event loop thread: the WebSocket server and the
    seed README's aiohttp batch handler, both serving `interop_api`."""

    def __init__(self):
        self.loop = asyncio.new_event_loop()
        self.ready = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()
        if not self.ready.wait(30):
            raise RuntimeError("the Python servers did not start")

    def _run(self):
        asyncio.set_event_loop(self.loop)
        self.loop.run_until_complete(self._start())
        self.ready.set()
        self.loop.run_forever()

    async def _start(self):
        from aiohttp import web

        options = capnweb.RpcSessionOptions(on_send_error=interop_api.redact)
        self.ws_server = await capnweb.new_websocket_rpc_server(
            "127.0.0.1", 0, interop_api.make_api, options
        )

        async def handle_rpc(request):
            body = await request.text()
            api = interop_api.InteropApi(request.headers.get("Authorization"))
            return web.Response(text=await capnweb.new_http_batch_rpc_response(body, api, options))

        app = web.Application()
        app.router.add_post("/rpc", handle_rpc)
        self.runner = web.AppRunner(app)
        await self.runner.setup()
        site = web.TCPSite(self.runner, "127.0.0.1", 0)
        await site.start()
        self.ws_port = self.ws_server.port
        self.batch_port = site._server.sockets[0].getsockname()[1]

    def close(self):
        async def stop():
            self.ws_server.close()
            await self.runner.cleanup()

        asyncio.run_coroutine_threadsafe(stop(), self.loop).result(30)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(30)


def node_ready():
    if not (NODE_DIR / "node_modules" / "capnweb" / "package.json").exists():
        raise RuntimeError(
            f"{NODE_DIR}/node_modules is missing: run `npm ci` there (make test does)"
        )


def node_client(transport, url, *scenarios, timeout=60):
    """Runs node/client.mjs; {scenario: result line}."""
    node_ready()
    done = subprocess.run(
        ["node", "client.mjs", transport, url, *scenarios],
        cwd=NODE_DIR,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    assert done.returncode == 0, done.stderr
    results = [json.loads(line) for line in done.stdout.splitlines() if line.startswith("{")]
    return {r["scenario"]: r for r in results}


class Process:
    """A server subprocess that prints a line with its port when ready."""

    def __init__(self, argv, ready_prefix, cwd, env=None, timeout=120):
        self.proc = subprocess.Popen(
            argv,
            cwd=cwd,
            env={**os.environ, **(env or {})},
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            start_new_session=True,
        )
        self.lines = []
        self.port = None
        timer = threading.Timer(timeout, self.proc.kill)
        timer.start()
        try:
            for line in self.proc.stdout:
                self.lines.append(line.rstrip("\n"))
                if line.startswith(ready_prefix):
                    self.port = int(line.split()[-1])
                    break
        finally:
            timer.cancel()
        if self.port is None:
            raise RuntimeError(f"{argv[0]} did not start:\n" + "\n".join(self.lines[-40:]))
        threading.Thread(target=self._drain, daemon=True).start()

    def _drain(self):
        for line in self.proc.stdout:
            self.lines.append(line.rstrip("\n"))

    def close(self):
        if self.proc.poll() is None:
            self.proc.stdin.close()
            self.proc.terminate()
        try:
            self.proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


_ERLANG = r"""
logger:set_primary_config(level, info),
{ok, _} = application:ensure_all_started(hornbeam),
ok = hornbeam:start("interop_api:app", #{name => capnweb, bind => "127.0.0.1:0", worker_class => asgi,
                                        workers => 1, pythonpath => [os:getenv("CAPNWEB_APPS")]}),
#{port := Port} = hornbeam:info(capnweb),
io:format("serving ~b~n", [Port]),
io:get_line(""),
halt().
"""
