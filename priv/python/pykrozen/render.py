"""A Response becomes a status, header pairs and body bytes, the same way in every
transport.

The body is JSON-encoded (`application/json`) unless it is `str` or `bytes` and the
response names its own Content-Type: then it is sent as it is. `bytes` without a
Content-Type go as `application/octet-stream`. Content-Length is always computed here;
one set by the app is ignored.
"""

import json
from http import HTTPStatus

__all__ = ["render", "reason", "json_bytes"]

_JSON = "application/json"
_dumps = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode

_REASONS = {s.value: s.phrase for s in HTTPStatus}


def reason(status):
    return _REASONS.get(status, "Unknown")


def json_bytes(value):
    return _dumps(value).encode()


def render(res):
    """(status, [(name, value)], body) for `res`. Raises TypeError or ValueError for a
    status or body that cannot be sent."""
    status = res.status
    if status.__class__ is not int or not 100 <= status <= 599:
        raise ValueError(f"the response status must be an int from 100 to 599, not {status!r}")
    body = res.body
    content_type = None
    headers = []
    for name, value in res.headers.items():
        lower = name.lower()
        if lower == "content-type":
            content_type = str(value)
        elif lower != "content-length":
            headers.append((name, str(value)))
    kind = body.__class__
    if kind is bytes or kind is bytearray or kind is memoryview:
        data = bytes(body)
        content_type = content_type or "application/octet-stream"
    elif kind is str and content_type is not None:
        data = body.encode()
    else:
        data = _dumps(body).encode()
        content_type = content_type or _JSON
    headers.append(("Content-Type", content_type))
    return status, headers, data
