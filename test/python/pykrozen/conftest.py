"""Runs pykrozen apps the three ways, for tests to talk to with real clients:

- standalone: a `python` subprocess running the app module with `Server.run()`;
- asgi: `hornbeam:start("mod:app", #{worker_class => asgi})` in an Erlang node;
- reactor: a reactor context running `pykrozen.reactor.serve(mod.app)`, fed by
  `py_reactor_listener`, in the same node.

One Erlang node serves every app module of the session both ways (each app in its
own interpreters). It takes commands on stdin ("stop NAME") and its output is kept
for tests that look for log lines.
"""

import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import pytest
import readme_blocks

ROOT = Path(__file__).resolve().parents[3]
PRIV_PYTHON = ROOT / "priv" / "python"
APPS = Path(__file__).resolve().parent / "apps"
EBIN = ROOT / "_build" / "default" / "lib" / "hornbeam" / "ebin"
MODES = ["standalone", "asgi", "reactor"]

sys.path.insert(0, str(PRIV_PYTHON))
# Where apps/pk_lifecycle.py marks its server:start and server:stop hooks; servers
# inherit it.
os.environ.setdefault("PK_MARKERS", tempfile.mkdtemp(prefix="pykrozen-markers-"))


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for_port(port, proc, timeout=30.0):
    """Returns once `port` accepts; fails if `proc` exits first or time runs out."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"the server exited with {proc.returncode} before listening")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.02)
    raise RuntimeError(f"nothing listens on {port} after {timeout} s")


class Output:
    """A process's output lines, drained by a thread so the pipe never fills."""

    def __init__(self, stream):
        self.lines = []
        self.cond = threading.Condition()
        self.thread = threading.Thread(target=self._drain, args=(stream,), daemon=True)
        self.thread.start()

    def _drain(self, stream):
        for line in stream:
            with self.cond:
                self.lines.append(line.rstrip("\n"))
                self.cond.notify_all()

    def text(self):
        with self.cond:
            return "\n".join(self.lines)

    def wait_for(self, predicate, timeout=30.0):
        """The first line for which `predicate` holds, waiting for it to arrive."""
        deadline = time.monotonic() + timeout
        with self.cond:
            seen = 0
            while True:
                for line in self.lines[seen:]:
                    if predicate(line):
                        return line
                seen = len(self.lines)
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(
                        f"no matching output line in {timeout} s; output:\n"
                        + "\n".join(self.lines[-40:])
                    )
                self.cond.wait(left)


_LAUNCH = """
import runpy, sys
sys.path[:0] = [{priv!r}, {here!r}]
import pykrozen
from pykrozen.server import Server
_run = Server.run.__func__
ran = []
def run(cls, app=None, **overrides):
    ran.append(True)
    overrides.update(port={port}, host="127.0.0.1")
    return _run(cls, app, **overrides)
Server.run = classmethod(run)
module = runpy.run_path({path!r}, run_name="__main__")
if not ran:
    Server.run(module.get("app", pykrozen.app))
"""


class Standalone:
    """A standalone pykrozen server running `path` as `__main__`; `Server.run()`
    listens on a free port whatever the module's settings say, and is called after
    the module if the module does not call it."""

    def __init__(self, path, env=None):
        path = Path(path)
        self.port = free_port()
        code = _LAUNCH.format(
            priv=str(PRIV_PYTHON), here=str(path.parent), port=self.port, path=str(path)
        )
        self.proc = subprocess.Popen(
            [sys.executable, "-c", code],
            cwd=str(path.parent),
            env={**os.environ, **(env or {})},
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            start_new_session=True,
        )
        self.output = Output(self.proc.stdout)
        wait_for_port(self.port, self.proc)

    def stop(self, sig=15):
        """Sends `sig` to the server's process group and returns its exit status."""
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, sig)
        try:
            return self.proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, 9)
            return self.proc.wait()


_ERLANG = r"""
logger:set_primary_config(level, info),
{ok, _} = application:ensure_all_started(hornbeam),
Dirs = string:lexemes(os:getenv("PK_APPS"), ":"),
Mods = string:lexemes(os:getenv("PK_MODULES"), ","),
lists:foreach(fun(M) ->
    Name = list_to_atom(M),
    ok = hornbeam:start(M ++ ":app", #{name => Name, bind => "127.0.0.1:0", worker_class => asgi,
                                       workers => 1, pythonpath => Dirs}),
    #{port := AsgiPort} = hornbeam:info(Name),
    Setup = iolist_to_binary(["import pykrozen.reactor, ", M, "; pykrozen.reactor.serve(", M, ".app)"]),
    {ok, _} = py_reactor_context:start({reactor, Name}, subinterp, #{pythonpath => Dirs, setup_code => Setup}),
    {ok, L} = py_reactor_listener:start_link(#{context => {reactor, Name}, port => 0}),
    io:format("serving ~s ~b ~b~n", [M, AsgiPort, py_reactor_listener:port(L)])
end, Mods),
io:format("ready~n"),
Loop = fun Loop() ->
    case io:get_line("") of
        eof -> halt();
        Line ->
            case string:lexemes(string:trim(Line), " ") of
                ["stop", M] ->
                    ok = hornbeam:stop(list_to_atom(M)),
                    ok = py_reactor_context:stop({reactor, list_to_atom(M)}),
                    io:format("stopped ~s~n", [M]);
                _ -> io:format("unknown command ~s~n", [Line])
            end,
            Loop()
    end
end,
Loop().
"""


class Hornbeam:
    """An Erlang node serving app modules from `directories` as ASGI and on reactors."""

    def __init__(self, directories, modules):
        if not (EBIN / "hornbeam.app").exists():
            raise RuntimeError(f"{EBIN} has no hornbeam.app: run `rebar3 compile` (make test does)")
        env = {
            **os.environ,
            "PK_APPS": ":".join(map(str, directories)),
            "PK_MODULES": ",".join(modules),
        }
        self.proc = subprocess.Popen(
            ["erl", "-noshell", "-pa", str(EBIN), "-eval", _ERLANG],
            env=env,
            cwd=str(directories[0]),
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            start_new_session=True,
        )
        self.output = Output(self.proc.stdout)
        self.ports = {}
        try:
            self.output.wait_for(
                lambda line: line == "ready" or line.startswith('{"init terminating'), timeout=120
            )
        finally:
            for line in self.output.lines:
                if line.startswith("serving "):
                    _, module, asgi, reactor = line.split()
                    self.ports[module] = {"asgi": int(asgi), "reactor": int(reactor)}
        missing = set(modules) - set(self.ports)
        if missing:
            raise RuntimeError(f"the node did not serve {sorted(missing)}:\n{self.output.text()}")

    def stop_app(self, module):
        self.proc.stdin.write(f"stop {module}\n")
        self.proc.stdin.flush()
        self.output.wait_for(lambda line: line == f"stopped {module}")

    def close(self):
        if self.proc.poll() is None:
            self.proc.stdin.close()
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, 9)
                self.proc.wait()


# Every app module under apps/ is served by the session's node.
APP_MODULES = sorted(p.stem for p in APPS.glob("pk_*.py"))


@pytest.fixture(scope="session")
def readme_apps(tmp_path_factory):
    """(directory, {heading: module}) of the documentation's blocks as app modules."""
    directory = tmp_path_factory.mktemp("readme_apps")
    return directory, readme_blocks.write_modules(directory)


@pytest.fixture(scope="session")
def hornbeam_node(readme_apps):
    directory, readme_modules = readme_apps
    node = Hornbeam([APPS, directory], APP_MODULES + sorted(readme_modules.values()))
    yield node
    node.close()


class Served:
    """One app served one way: `url(path)`, `ws_url()`, `port`, and the server's
    output (`logs`)."""

    def __init__(self, mode, port, output):
        self.mode = mode
        self.port = port
        self.output = output

    def url(self, path="/"):
        return f"http://127.0.0.1:{self.port}{path}"

    def ws_url(self, path="/ws"):
        return f"ws://127.0.0.1:{self.port}{path}"


@pytest.fixture(scope="session")
def standalone_servers():
    servers = {}
    yield servers
    for server in servers.values():
        server.stop()


def serve(request, module, mode, directory=APPS):
    """The app `module` (in `directory`) served `mode`, started once per session."""
    if mode == "standalone":
        servers = request.getfixturevalue("standalone_servers")
        if module not in servers:
            servers[module] = Standalone(Path(directory) / f"{module}.py")
        server = servers[module]
        return Served(mode, server.port, server.output)
    node = request.getfixturevalue("hornbeam_node")
    return Served(mode, node.ports[module][mode], node.output)


@pytest.fixture(params=MODES)
def mode(request):
    return request.param


@pytest.fixture
def pk(request, mode):
    """The feature app (apps/pk_app.py) served in each mode."""
    return serve(request, "pk_app", mode)
