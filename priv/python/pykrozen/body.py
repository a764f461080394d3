"""Request bodies: what `req.body` holds for each content type, and multipart uploads.

| Content-Type | `req.body` |
|---|---|
| none and an empty body | `{}` |
| `application/json`, `*+json` | the parsed JSON (malformed JSON is a 400) |
| `application/x-www-form-urlencoded` | a dict of the fields (last wins); JSON if it is (curl -d) |
| `text/*` | `str` (the charset parameter, UTF-8 by default) |
| `multipart/*` and any other type | the raw `bytes` |
| none | the parsed JSON if it is JSON, else the text if it is UTF-8, else `bytes` |
"""

import json
from urllib.parse import parse_qsl

from .context import UploadedFile

__all__ = ["BadRequest", "parse_body", "parse_multipart", "media_type"]

_loads = json.loads


class BadRequest(Exception):
    """The request cannot be served as sent: answered with `status` and `message`."""

    def __init__(self, status, message):
        super().__init__(message)
        self.status = status
        self.message = message


def media_type(content_type):
    """`"Text/HTML; charset=x"` -> `"text/html"`."""
    return content_type.split(";", 1)[0].strip().lower()


def _param(content_type, name):
    for part in content_type.split(";")[1:]:
        key, _, value = part.strip().partition("=")
        if key.strip().lower() == name:
            return value.strip().strip('"')
    return None


def parse_body(content_type, raw):
    if not raw:
        return {}
    if content_type is None:
        try:
            return _loads(raw)
        except ValueError:
            try:
                return raw.decode()
            except UnicodeDecodeError:
                return raw
    kind = media_type(content_type)
    if kind == "application/json" or kind.endswith("+json"):
        try:
            return _loads(raw)
        except ValueError as exc:
            raise BadRequest(400, f"invalid JSON body: {exc}") from None
    if kind == "application/x-www-form-urlencoded":
        # `curl -d '{"a": 1}'` labels JSON as a form; read it as the JSON it is.
        if raw[:1] in (b"{", b"["):
            try:
                return _loads(raw)
            except ValueError:
                pass
        try:
            return dict(parse_qsl(raw.decode("ascii"), keep_blank_values=True))
        except UnicodeDecodeError:
            raise BadRequest(400, "a urlencoded form body must be ASCII") from None
    if kind.startswith("text/"):
        try:
            return raw.decode(_param(content_type, "charset") or "utf-8")
        except (UnicodeDecodeError, LookupError):
            return raw
    return raw


def parse_multipart(content_type, raw):
    """The parts of a `multipart/form-data` body: (files, fields), files a list of
    UploadedFile and fields a dict of the parts without a filename. Raises BadRequest
    for a body that is not multipart or is cut short."""
    if content_type is None or not media_type(content_type).startswith("multipart/"):
        raise BadRequest(400, "expected a multipart/form-data body")
    boundary = _param(content_type, "boundary")
    if not boundary:
        raise BadRequest(400, "the multipart Content-Type has no boundary")
    # Every delimiter is CRLF "--" boundary; the first one may open the body.
    pieces = (b"\r\n" + raw).split(b"\r\n--" + boundary.encode("latin-1"))
    if len(pieces) < 2 or not pieces[-1].startswith(b"--"):
        raise BadRequest(400, "the multipart body does not end with its closing boundary")
    files, fields = [], {}
    for piece in pieces[1:-1]:
        part = piece.partition(b"\r\n")[2]  # past the delimiter line's padding
        if part.startswith(b"\r\n"):
            head, content = b"", part[2:]
        else:
            head, blank, content = part.partition(b"\r\n\r\n")
            if not blank:
                raise BadRequest(400, "a multipart part has no blank line after its headers")
        headers = {}
        for line in head.split(b"\r\n") if head else ():
            name, _, value = line.decode("utf-8", "replace").partition(":")
            headers[name.strip().lower()] = value.strip()
        disposition = headers.get("content-disposition", "")
        name = _param(disposition, "name") or ""
        filename = _param(disposition, "filename")
        if filename is None:
            fields[name] = content.decode("utf-8", "replace")
        else:
            files.append(
                UploadedFile(
                    name, filename, headers.get("content-type", "application/octet-stream"), content
                )
            )
    return files, fields
