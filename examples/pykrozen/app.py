"""A pykrozen app (the original README's full example) that runs three ways:

    PYTHONPATH=priv/python python3 examples/pykrozen/app.py          # standalone

    %% in `make run`'s shell: ASGI in Hornbeam
    hornbeam:start("app:app", #{worker_class => asgi, pythonpath => ["examples/pykrozen"], bind => "127.0.0.1:8001"}).

    %% or on a reactor
    {ok, _} = py_reactor_context:start_link(web, subinterp, #{pythonpath => ["examples/pykrozen"],
        setup_code => <<"import pykrozen.reactor, app; pykrozen.reactor.serve(app.app)">>}),
    {ok, _} = py_reactor_listener:start_link(#{context => web, port => 8002}).

Then: curl -d '{"name": "ann"}' localhost:8001/api/users, and a WebSocket client on
/ws sees the user_created event.
"""
from time import time

from pykrozen import Request, Response, Server, WSContext, WSMessage, app, get, on, post, settings, use

settings.port = 8000
settings.ws_path = "/ws"

app.state.users = {}
app.state.ws_clients = []


@use
def logger(req: Request, res: Response) -> None:
    print(f"[{time():.0f}] {req.method} {req.path}")


@get("/")
def index(req: Request) -> dict:
    return {"body": {"message": "Welcome to the API"}}


@get("/api/users")
def list_users(req: Request) -> dict:
    return {"body": {"users": list(app.state.users.values())}}


@post("/api/users")
def create_user(req: Request) -> dict:
    user_id = str(len(app.state.users) + 1)
    user = {"id": user_id, **req.body}
    app.state.users[user_id] = user
    for ws in app.state.ws_clients:
        ws.send({"event": "user_created", "user": user})
    return {"status": 201, "body": user}


@on("ws:connect")
def ws_connect(ctx: WSContext) -> None:
    app.state.ws_clients.append(ctx.ws)


@on("ws:disconnect")
def ws_disconnect(ctx: WSContext) -> None:
    app.state.ws_clients.remove(ctx.ws)


@on("ws:message")
def ws_message(ctx: WSMessage) -> None:
    if ctx.data.get("type") == "ping":
        ctx.reply = {"type": "pong", "time": time()}
        ctx.stop = True


if __name__ == "__main__":
    Server.run()
