"""Helpers that build handler results, and static files served from a directory that
no request path can leave."""

import mimetypes
import os
from pathlib import Path

__all__ = ["html", "text", "error", "file", "static_file"]


def html(content, status=200):
    return {
        "status": status,
        "body": content,
        "headers": {"Content-Type": "text/html; charset=utf-8"},
    }


def text(content, status=200):
    return {
        "status": status,
        "body": content,
        "headers": {"Content-Type": "text/plain; charset=utf-8"},
    }


def error(message, status=400):
    """A JSON error: `{"error": message}`."""
    return {"status": status, "body": {"error": message}}


def _content_type(path):
    kind, _ = mimetypes.guess_type(path.name)
    if kind is None:
        return "application/octet-stream"
    if kind.startswith("text/") or kind in ("application/javascript", "application/json"):
        return kind + "; charset=utf-8"
    return kind


def file(path, content_type=None, status=200):
    """The file at `path` as the body, its type guessed from the name; a 404 if it
    is not a readable file."""
    path = Path(path)
    try:
        with open(path, "rb") as f:
            content = f.read()
    except (FileNotFoundError, IsADirectoryError, NotADirectoryError, PermissionError):
        return error("not found", 404)
    return {
        "status": status,
        "body": content,
        "headers": {"Content-Type": content_type or _content_type(path)},
    }


def static_file(root, relative):
    """`relative` (a decoded URL path) under the directory `root`, or a 404.

    Refused as not found, never served: `..` segments, absolute paths, NUL bytes,
    backslashes, and anything whose resolved path (symlinks followed) is not inside
    `root`. A directory serves its index.html.
    """
    if "\x00" in relative or "\\" in relative or relative.startswith("/"):
        return error("not found", 404)
    parts = [p for p in relative.split("/") if p not in ("", ".")]
    if ".." in parts:
        return error("not found", 404)
    base = Path(root).resolve()
    target = base.joinpath(*parts).resolve()
    if target != base and not target.is_relative_to(base):
        return error("not found", 404)
    if target.is_dir():
        target = target / "index.html"
    if not os.path.isfile(target):
        return error("not found", 404)
    return file(target)
