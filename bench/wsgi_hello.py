"""The app bench/http_wsgi.sh serves with every server: 13 bytes at /, 10 KiB at /10k."""
SMALL = b"Hello, World!"
LARGE = b"x" * (10 * 1024)


def application(environ, start_response):
    body = LARGE if environ["PATH_INFO"] == "/10k" else SMALL
    start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", str(len(body)))])
    return [body]
