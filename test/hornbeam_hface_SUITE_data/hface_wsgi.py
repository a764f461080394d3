"""A WSGI app the hface client tests reach on Hornbeam's own WSGI server."""


def app(environ, start_response):
    body = f"WSGI {environ['SERVER_PROTOCOL']} {environ['REQUEST_METHOD']} {environ['PATH_INFO']}\n"
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [body.encode()]
