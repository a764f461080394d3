"""The pykrozen app of bench/pykrozen.sh: the original README's benchmark shapes, a
JSON GET, a JSON POST echoed back, and the default WebSocket echo."""
from pykrozen import app, get, post  # noqa: F401 - `app` is what Hornbeam serves


@get("/")
def index(req):
    return {"body": {"message": "Hello, World!"}}


@post("/users")
def create(req):
    return {"status": 201, "body": req.body}
