"""A WSGI app that misbehaves on purpose, one route each, for hornbeam_hardening_SUITE."""
import os
import sys
import time

# One token per interpreter: a replaced worker shows as a new token.
TOKEN = os.urandom(8).hex().encode()


def application(environ, start_response):
    path = environ["PATH_INFO"]
    if path == "/token":
        start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", str(len(TOKEN)))])
        return [TOKEN]
    if path == "/host":
        host = environ.get("HTTP_HOST", "").encode()
        start_response("200 OK", [("Content-Length", str(len(host)))])
        return [host]
    if path == "/nap":
        time.sleep(float(environ.get("QUERY_STRING") or "1"))
        start_response("200 OK", [("Content-Length", "5")])
        return [b"slept"]
    if path == "/exit":
        sys.exit(3)
    if path == "/keyboard":
        raise KeyboardInterrupt
    if path == "/read":
        # Blocks on a client that stopped sending: the read must wake and raise.
        body = environ["wsgi.input"].read(int(environ.get("CONTENT_LENGTH") or 0))
        start_response("200 OK", [("Content-Length", str(len(body)))])
        return [body]
    if path == "/c-sleep":
        # Blocked in C: no interrupt reaches it before it returns.
        time.sleep(float(environ.get("QUERY_STRING") or "20"))
        start_response("200 OK", [("Content-Length", "5")])
        return [b"slept"]
    if path == "/short":
        start_response("200 OK", [("Content-Length", "10")])
        return [b"abc"]
    if path == "/short-stream":
        start_response("200 OK", [("Content-Length", "10")])
        return iter([b"ab", b"c"])
    if path == "/long":
        start_response("200 OK", [("Content-Length", "3")])
        return [b"abcdef"]
    if path == "/long-stream":
        start_response("200 OK", [("Content-Length", "3")])
        return iter([b"ab", b"cdef", b"gh"])
    if path == "/status-999":
        start_response("999 Whatever", [("Content-Length", "2")])
        return [b"no"]
    if path == "/status-101":
        start_response("101 Switching Protocols", [("Upgrade", "evil"), ("Connection", "upgrade")])
        return [b""]
    start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", "2")])
    return [b"ok"]
