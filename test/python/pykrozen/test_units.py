"""Pieces of pykrozen that need no server: route registration rules, settings
validation, body parsing."""

import pytest
from pykrozen import App, RouteConflict, Settings
from pykrozen.body import BadRequest, parse_body, parse_multipart


def test_conflicting_params_raise():
    app = App()
    app.get("/u/:id")(lambda req: None)
    with pytest.raises(RouteConflict, match=":name conflicts with :id"):
        app.get("/u/:name")(lambda req: None)
    app.post("/u/:name")(lambda req: None)  # another method: no conflict


def test_bad_patterns_raise():
    app = App()
    with pytest.raises(ValueError, match="must be the last segment"):
        app.get("/a/*rest/b")(lambda req: None)
    with pytest.raises(ValueError, match="must start with '/'"):
        app.get("nope")(lambda req: None)
    with pytest.raises(ValueError, match="unknown event"):
        app.on("http:gets")


def test_same_pattern_replaces_the_handler():
    app = App()
    app.get("/x/:id")(lambda req: 1)
    app.get("/x/:id")(lambda req: 2)
    assert app.router.match("GET", "/x/5").handler(None) == 2
    assert app.router.patterns.count(("GET", "/x/:id")) == 1


@pytest.mark.parametrize(
    "name, value", [("port", 70000), ("ws_path", "ws"), ("workers", 0), ("loop", "trio")]
)
def test_invalid_settings_are_named(name, value):
    with pytest.raises(ValueError, match=f"invalid pykrozen setting {name}="):
        Settings(**{name: value}).validate()


def test_body_parsing():
    assert parse_body(None, b"") == {}
    assert parse_body(None, b'{"a": 1}') == {"a": 1}
    assert parse_body(None, b"plain") == "plain"
    assert parse_body(None, b"\xff\xfe") == b"\xff\xfe"
    assert parse_body("application/x-www-form-urlencoded", b"a=1&b=%C3%A9") == {"a": "1", "b": "é"}
    assert parse_body("application/octet-stream", b"\x00") == b"\x00"
    with pytest.raises(BadRequest):
        parse_body("application/json", b"{")


def test_multipart_cut_short_is_400():
    body = b'--XX\r\nContent-Disposition: form-data; name="f"; filename="a"\r\n\r\nabc'
    with pytest.raises(BadRequest, match="closing boundary"):
        parse_multipart("multipart/form-data; boundary=XX", body)
    files, fields = parse_multipart("multipart/form-data; boundary=XX", body + b"\r\n--XX--\r\n")
    assert [(f.field, f.filename, f.content) for f in files] == [
        ("f", "a", b"abc")
    ] and fields == {}
