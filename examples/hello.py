"""The example `make run` serves: a plain WSGI application, no framework.

    curl http://127.0.0.1:8000/            -> Hello, World!
    curl http://127.0.0.1:8000/echo -d hi  -> hi
"""


def application(environ, start_response):
    if environ["PATH_INFO"] == "/echo":
        body = environ["wsgi.input"].read()
        start_response("200 OK", [("Content-Type", "application/octet-stream"),
                                  ("Content-Length", str(len(body)))])
        return [body]
    body = b"Hello, World!"
    start_response("200 OK", [("Content-Type", "text/plain"),
                              ("Content-Length", str(len(body)))])
    return [body]
