"""pykrozen's HTTP side, the same assertions against the three ways of running it
(standalone, ASGI in Hornbeam, reactor in Hornbeam): routing, decoding, handler
results, middleware and hooks, plugins, failures, static files, uploads."""

import socket

import httpx
import pytest


@pytest.fixture
def http(pk):
    with httpx.Client(base_url=pk.url(), timeout=10) as client:
        yield client


# Routing


@pytest.mark.parametrize(
    "path, expected",
    [
        ("/users/me", {"route": "me"}),  # static beats :id
        ("/users/42", {"route": "user", "id": "42"}),
        ("/users/42/posts/7", {"route": "user_post", "id": "42", "post": "7"}),
        ("/files/docs/readme.txt", {"route": "files", "path": "docs/readme.txt"}),
        ("/files/", {"route": "files", "path": ""}),
        ("/a/b/c", {"route": "a_x_c", "x": "b"}),  # :x beats *rest
        ("/a/b/d", {"route": "a_rest", "rest": "b/d"}),  # backs off to *rest
        ("/users/caf%C3%A9", {"route": "user", "id": "café"}),  # params decoded
        ("/users/a%2Fb", {"route": "user", "id": "a/b"}),  # %2F stays in the param
    ],
)
def test_routing_priorities(http, path, expected):
    r = http.get(path)
    assert r.status_code == 200
    assert r.json() == expected


def test_unmatched_route_is_404(http):
    r = http.get("/no/such/route")
    assert r.status_code == 404
    assert r.json() == {"error": "not found", "path": "/no/such/route"}


def test_wrong_method_is_405_with_allow(http):
    r = http.post("/users/me", json={})
    assert r.status_code == 405
    assert r.headers["allow"] == "GET, HEAD"
    assert r.json()["error"] == "method not allowed"


def test_put_patch_delete(http):
    assert http.put("/items/9", json={"n": 1}).json() == {
        "method": "PUT",
        "id": "9",
        "body": {"n": 1},
    }
    assert http.patch("/items/9").json() == {"method": "PATCH", "id": "9"}
    r = http.delete("/items/9")
    assert r.status_code == 204 and r.content == b""


def test_head_uses_the_get_route_without_a_body(http):
    r = http.head("/users/me")
    assert r.status_code == 200
    assert r.content == b""
    assert r.headers["content-length"] == str(len(b'{"route":"me"}'))


def test_query_and_path_are_percent_decoded(http):
    r = http.get("/search?q=hello%20world&tag=caf%C3%A9&plus=a+b&empty=&q2=%26")
    assert r.json() == {
        "query": {"q": "hello world", "tag": "café", "plus": "a b", "empty": "", "q2": "&"},
        "path": "/search",
    }


def test_header_names_are_case_insensitive(http):
    r = http.get("/headers", headers={"x-TeSt": "v1"})
    assert r.json() == {"exact": "v1", "lower": "v1", "upper": "v1", "has": True}


# Request bodies


def test_json_body(http):
    r = http.post("/echo", json={"username": "ann", "n": [1, 2]})
    assert r.status_code == 201
    assert r.json()["body"] == {"username": "ann", "n": [1, 2]}


def test_malformed_json_is_400(http):
    r = http.post("/echo", content=b"{not json", headers={"content-type": "application/json"})
    assert r.status_code == 400
    assert r.json()["error"].startswith("invalid JSON body")


def test_form_and_text_bodies(http):
    assert http.post("/echo", data={"a": "1", "b": "é"}).json()["body"] == {"a": "1", "b": "é"}
    r = http.post(
        "/echo", content="héllo".encode(), headers={"content-type": "text/plain; charset=utf-8"}
    )
    assert r.json()["body"] == "héllo"


def test_chunked_request_body(http):
    def chunks():
        yield b'{"parts": ['
        yield b'"a", "b"'
        yield b"]}"

    r = http.post("/echo", content=chunks(), headers={"content-type": "application/json"})
    assert r.status_code == 201
    assert r.json()["body"] == {"parts": ["a", "b"]}


def test_large_body(http):
    payload = {"data": "x" * 3_000_000}
    r = http.post("/echo", json=payload)
    assert r.status_code == 201
    assert r.json()["body"] == payload


# What handlers return


def test_result_kinds(http):
    r = http.get("/kinds/text")
    assert (r.text, r.headers["content-type"]) == ("plain words", "text/plain; charset=utf-8")
    r = http.get("/kinds/str")  # a str without its own Content-Type is JSON
    assert (r.json(), r.headers["content-type"]) == ("a str", "application/json")
    r = http.get("/kinds/bytes")
    assert (r.content, r.headers["content-type"]) == (b"\x00\x01\xff", "application/octet-stream")
    r = http.get("/kinds/response")
    assert (r.status_code, r.json(), r.headers["x-made"]) == (202, {"made": "Response"}, "yes")
    r = http.get("/kinds/none")
    assert (r.status_code, r.json()) == (200, {})
    assert http.get("/kinds/bare").json() == {
        "message": "a dict without status/body/headers is the body"
    }


def test_async_handler(http):
    assert http.get("/async").json() == {"async": True}


# Middleware, hooks, plugins


def test_middleware_and_hooks_run_in_order(http):
    r = http.get("/users/me")
    assert r.headers["x-trace"] == "mw1,mw2,before,after"
    assert r.headers["x-status-seen"] == "200"


def test_middleware_stop_skips_the_handler(http):
    r = http.get("/private/data")
    assert r.status_code == 401
    assert r.json() == {"error": "Unauthorized"}
    assert r.headers["x-trace"] == "mw1,mw2"  # no hook ran after the stop
    r = http.get("/private/data", headers={"Authorization": "letmein"})
    assert (r.status_code, r.json()) == (200, {"secret": 42})


def test_hook_stop_skips_the_handler(http):
    r = http.get("/hook-stop")
    assert r.status_code == 418
    assert r.json() == {"stopped": "by hook"}


def test_after_hooks_see_a_404(http):
    r = http.get("/nothing-here")
    assert r.headers["x-status-seen"] == "404"


def test_post_hook_and_server_start(http, pk):
    http.post("/echo", json={})
    body = http.get("/events").json()
    assert "post:/echo" in body["events"]
    assert body["started"] == pk.mode


def test_plugin(http):
    r = http.get("/plugin")
    assert r.json() == {"plugin": "stamp", "stamp": "s-123"}
    assert http.get("/users/me").headers["x-stamp"] == "s-123"


# Failures


@pytest.mark.parametrize("path, text", [("/boom", "kaboom sync"), ("/aboom", "kaboom async")])
def test_handler_exception_is_500_json_and_logged(http, pk, path, text):
    r = http.get(path)
    assert r.status_code == 500
    assert r.json() == {"error": "internal server error"}
    pk.output.wait_for(lambda line: text in line)
    assert "Traceback" in pk.output.text()


def test_middleware_exception_is_500(http, pk):
    r = http.get("/users/me", headers={"X-Mw-Boom": "1"})
    assert r.status_code == 500
    pk.output.wait_for(lambda line: "middleware kaboom" in line)


@pytest.mark.parametrize("path", ["/badstatus", "/unjsonable", "/badheader"])
def test_unsendable_response_is_500(http, path):
    r = http.get(path)
    assert r.status_code == 500
    assert "injected" not in r.headers
    assert http.get("/users/me").status_code == 200  # the connection still serves


# Internal routes


def test_internal_routes(http, pk):
    assert http.get("/_internal/health").json() == {"status": "ok"}
    info = http.get("/_internal/info").json()
    assert info["server"] == "pykrozen" and info["mode"] == pk.mode
    assert "GET /users/:id" in info["routes"]


# Static files


def test_static_files(http):
    r = http.get("/static/hello.txt")
    assert (r.status_code, r.text) == (200, "hello static\n")
    assert r.headers["content-type"] == "text/plain; charset=utf-8"
    r = http.get("/static/pixel.png")
    assert r.headers["content-type"] == "image/png" and r.content.startswith(b"\x89PNG")
    assert http.get("/static/sub/").text == "<h1>sub index</h1>\n"
    assert http.get("/static/missing.txt").status_code == 404


TRAVERSALS = [
    "/static/../secret.txt",
    "/static/%2e%2e/secret.txt",
    "/static/..%2fsecret.txt",
    "/static/%2e%2e%2fsecret.txt",
    "/static/sub/../../secret.txt",
    "/static/sub/%2e%2e/%2e%2e/secret.txt",
    "/static/%2fetc%2fpasswd",
    "/static//etc/passwd",
    "/static/..%5csecret.txt",
    "/static/hello.txt%00.png",
    "/static/....//secret.txt",
]


@pytest.mark.parametrize("path", TRAVERSALS)
def test_static_traversal_is_refused(pk, path):
    # A raw request, so the client does not normalise the dots away.
    status, body = raw_get(pk.port, path)
    assert status in (400, 404), (status, body)
    assert b"top secret" not in body and b"root:" not in body


def raw_get(port, path):
    with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
        s.sendall(f"GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".encode())
        data = b""
        while chunk := s.recv(65536):
            data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    return int(head.split(b" ")[1]), body


# Uploads


def test_upload(http):
    files = {
        "doc": ("report.pdf", b"%PDF-1.4 binary \x00\xff", "application/pdf"),
        "pic": ("a.png", b"\x89PNG\r\n", "image/png"),
    }
    r = http.post("/upload", files=files, data={"title": "Q3 report"})
    assert r.status_code == 200
    body = r.json()
    assert body["form"] == {"title": "Q3 report"}
    assert body["files"] == [
        {
            "field": "doc",
            "filename": "report.pdf",
            "content_type": "application/pdf",
            "size": 18,
            "head": "%PDF-1.4 binary ",
        },
        {
            "field": "pic",
            "filename": "a.png",
            "content_type": "image/png",
            "size": 6,
            "head": "\x89PNG\r\n",
        },
    ]


def test_upload_without_multipart_is_400(http):
    r = http.post("/upload", json={"not": "multipart"})
    assert r.status_code == 400
    assert r.json() == {"error": "expected a multipart/form-data body"}
