"""The WSGI application the hornbeam_wsgi_SUITE drives, one route per behaviour.

`application` is this app under `wsgiref.validate.validator`, with the validator's
warnings turned into errors: any PEP 3333 violation by the server fails a test.
`raw` is the same app unwrapped (lists stay lists, exercising the whole-body path).
"""
import io
import json
import os
import sys
import tempfile
import threading
import time
import warnings
from urllib.parse import parse_qs
from wsgiref.validate import WSGIWarning, validator

warnings.simplefilter("error", WSGIWarning)

# One token per interpreter that imported this module: recycling shows as new tokens.
INTERPRETER_TOKEN = os.urandom(8).hex()
CLOSED = []
# start_response and wsgi.input of an earlier request, kept past its end (/keep).
KEPT = {}
WRITERS = []
WRITER_OUTCOMES = []

# 1 MiB of known bytes for the file_wrapper routes.
FILE_BYTES = bytes(range(256)) * 4096
FILE_PATH = os.path.join(tempfile.gettempdir(), f"hornbeam-wsgi-{os.getpid()}.bin")
if not os.path.exists(FILE_PATH):
    with open(FILE_PATH, "wb") as f:
        f.write(FILE_BYTES)


class NoReadFile(io.FileIO):
    """A real file that fails if anyone reads it through Python."""

    def read(self, *args):
        raise AssertionError("the file was read through Python")

    readinto = read


REASONS = {200: "OK", 201: "Created", 204: "No Content", 301: "Moved Permanently",
           302: "Found", 400: "Bad Request", 404: "Not Found", 500: "Internal Server Error"}


def respond(start_response, status, body=b"", content_type="text/plain", extra=()):
    headers = []
    if status not in (204, 304):
        headers = [("Content-Type", content_type), ("Content-Length", str(len(body)))]
    headers.extend(extra)
    start_response(f"{status} {REASONS.get(status, 'Status')}", headers)
    return [body] if status not in (204, 304) else []


def read_body(environ):
    length = environ.get("CONTENT_LENGTH")
    return environ["wsgi.input"].read(int(length) if length else -1)


class Tracked:
    """An iterable whose close() is recorded, to show close() is always called."""

    def __init__(self, chunks, fail_after=None):
        self.chunks = chunks
        self.fail_after = fail_after

    def __iter__(self):
        for i, chunk in enumerate(self.chunks):
            if self.fail_after is not None and i == self.fail_after:
                raise RuntimeError("failed in the middle of the body")
            yield chunk

    def close(self):
        CLOSED.append(1)


def route(environ, start_response):
    path = environ["PATH_INFO"]
    query = {k: v[0] for k, v in parse_qs(environ["QUERY_STRING"]).items()}
    method = environ["REQUEST_METHOD"]

    if path == "/":
        return respond(start_response, 200, b"Hello, World!")
    if path.startswith("/status/"):
        code = int(path.rsplit("/", 1)[1])
        extra = [("Location", "/")] if code in (301, 302) else []
        return respond(start_response, code, b"" if code == 204 else f"status {code}".encode(), extra=extra)
    if path == "/options" and method == "OPTIONS":
        start_response("200 OK", [("Allow", "GET, HEAD, OPTIONS"), ("Content-Type", "text/plain"), ("Content-Length", "0")])
        return []
    if path == "/headers":
        extra = [("X-Custom", "custom-value"), ("Set-Cookie", "a=1"), ("Set-Cookie", "b=2")]
        return respond(start_response, 200, b"headers", extra=extra)
    if path.startswith("/environ"):
        # Everything a test may look at: the str values, and the wsgi.* facts.
        out = {k: v for k, v in environ.items() if isinstance(v, str)}
        out["wsgi.version"] = list(environ["wsgi.version"])
        for key in ("wsgi.multithread", "wsgi.multiprocess", "wsgi.run_once", "wsgi.input_terminated"):
            out[key] = environ[key]
        out["PATH_INFO_BYTES"] = list(environ["PATH_INFO"].encode("latin-1"))
        return respond(start_response, 200, json.dumps(out).encode(), "application/json")
    if path == "/echo":
        body = read_body(environ)
        ctype = environ.get("CONTENT_TYPE") or "application/octet-stream"
        return respond(start_response, 200, body, ctype)
    if path == "/echo-lines":
        lines = environ["wsgi.input"].readlines()
        body = json.dumps([line.decode("latin-1") for line in lines]).encode()
        return respond(start_response, 200, body, "application/json")
    if path == "/json":
        data = json.loads(read_body(environ))
        data["seen"] = True
        return respond(start_response, 200, json.dumps(data).encode(), "application/json")
    if path == "/utf8":
        return respond(start_response, 200, "héllo wörld ✓".encode("utf-8"), "text/plain; charset=utf-8")
    if path == "/big":
        size = int(query.get("size", "0"))
        return respond(start_response, 200, b"x" * size, "application/octet-stream")
    if path == "/stream":
        n = int(query.get("n", "3"))
        start_response("200 OK", [("Content-Type", "text/plain")])
        return Tracked([f"chunk {i}\n".encode() for i in range(n)])
    if path == "/raise":
        raise ValueError("raised before start_response")
    if path == "/raise-after":
        start_response("200 OK", [("Content-Type", "text/plain")])
        return Tracked([b"first part\n", b"never sent\n"], fail_after=1)
    if path == "/closed":
        return respond(start_response, 200, str(len(CLOSED)).encode())
    if path == "/errors":
        errors = environ["wsgi.errors"]
        errors.write("first error line\nsecond error line\n")
        errors.flush()
        return respond(start_response, 200, b"logged")
    if path == "/write":
        write = start_response("200 OK", [("Content-Type", "text/plain")])
        write(b"written ")
        write(b"directly, ")
        return [b"then returned"]
    if path == "/spin":
        while True:
            pass
    if path == "/sleep":
        time.sleep(float(query.get("s", "0.1")))
        return respond(start_response, 200, b"slept")
    if path == "/file":
        f = NoReadFile(FILE_PATH, "r")
        f.seek(int(query.get("offset", "0")))
        start_response("200 OK", [("Content-Type", "application/octet-stream")])
        return environ["wsgi.file_wrapper"](f)
    if path == "/file-bytesio":
        start_response("200 OK", [("Content-Type", "application/octet-stream")])
        return environ["wsgi.file_wrapper"](io.BytesIO(FILE_BYTES[:5000]), 1000)
    if path == "/hints":
        environ["wsgi.early_hints"]([("Link", "</style.css>; rel=preload; as=style")])
        return respond(start_response, 200, b"hinted")
    if path == "/token":
        return respond(start_response, 200, INTERPRETER_TOKEN.encode())
    if path == "/keep":
        KEPT.update(start_response=start_response, input=environ["wsgi.input"])
        return respond(start_response, 200, b"kept")
    if path == "/write-from-thread":
        # The request ends (returns, or raises with ?raise) while another thread is
        # writing: its first write() has returned and it is going on with more.
        write = start_response("200 OK", [("Content-Type", "application/octet-stream")])
        started = threading.Event()

        def writer():
            outcome = "done"
            try:
                for n in range(16):
                    write(b"x" * 65536)
                    if n == 0:
                        started.set()
                    # Lets the request's own thread in between writes (a writer that
                    # never sleeps keeps it out until its last write).
                    time.sleep(0.001)
            except Exception as e:
                outcome = f"{type(e).__name__}: {e}"
            finally:
                started.set()
                WRITER_OUTCOMES.append(outcome)

        thread = threading.Thread(target=writer)
        WRITERS.append(thread)
        thread.start()
        started.wait()
        if environ.get("QUERY_STRING") == "raise":
            raise RuntimeError("the request fails while its writer writes")
        return []
    if path == "/writer-outcomes":
        for thread in WRITERS:
            thread.join()
        body = "\n".join(WRITER_OUTCOMES).encode()
        WRITERS.clear()
        WRITER_OUTCOMES.clear()
        return respond(start_response, 200, body)
    if path == "/use-kept":
        outcomes = []
        for use in (lambda: KEPT["start_response"]("200 OK", []), lambda: KEPT["input"].read()):
            try:
                use()
                outcomes.append("no error")
            except Exception as e:
                outcomes.append(f"{type(e).__name__}: {e}")
        return respond(start_response, 200, "\n".join(outcomes).encode())
    if path == "/exc-info":
        # start_response again with exc_info before anything was sent: the new
        # status wins.
        start_response("200 OK", [("Content-Type", "text/plain")])
        try:
            raise KeyError("replaced")
        except KeyError:
            start_response("503 Service Unavailable", [("Content-Type", "text/plain")], sys.exc_info())
        return [b"replaced"]
    return respond(start_response, 404, b"not found")


application = validator(route)
raw = route
