"""A WebSocket chat whose rooms span nodes: every message a client sends is published
on the room's topic, and every client of the room, on any node of the cluster,
receives it.

In a rebar3 shell on each node (`rebar3 shell --sname a`, then connect the nodes with
`net_kernel:connect_node(b@host)`; give each its own port):

    hornbeam:start("chat:app", #{worker_class => asgi, pythonpath => ["examples/chat"],
                                 bind => "127.0.0.1:8000"}).

Open http://127.0.0.1:8000/ in two browsers, or connect a WebSocket client to
ws://127.0.0.1:8000/ws/lobby and send text: each message comes back to every client
of the room as JSON: {"room", "text", "node"}.
"""
import asyncio
import json

from hornbeam_erlang import node, publish, subscribe

PAGE = b"""<!doctype html><meta charset="utf-8"><title>Hornbeam chat</title>
<input id="t" placeholder="say something" autofocus><pre id="log"></pre>
<script>
const ws = new WebSocket(`ws://${location.host}/ws/lobby`);
ws.onmessage = e => { const m = JSON.parse(e.data); log.textContent += `[${m.node}] ${m.text}\\n`; };
t.onkeydown = e => { if (e.key === "Enter" && t.value) { ws.send(t.value); t.value = ""; } };
</script>"""


def topic(room):
    return f"chat:{room}"


async def forward(subscription, send):
    async for message in subscription:
        await send({"type": "websocket.send", "text": json.dumps(message)})


async def chat(scope, receive, send):
    room = scope["path"].removeprefix("/ws/") or "lobby"
    await receive()  # websocket.connect
    with subscribe(topic(room)) as subscription:
        await send({"type": "websocket.accept"})
        forwarding = asyncio.create_task(forward(subscription, send))
        here = node()
        try:
            while True:
                event = await receive()
                if event["type"] == "websocket.disconnect":
                    return
                text = event.get("text")
                if text is None:
                    text = (event.get("bytes") or b"").decode("utf-8", "replace")
                publish(topic(room), {"room": room, "text": text, "node": here})
        finally:
            forwarding.cancel()
            await asyncio.gather(forwarding, return_exceptions=True)


async def app(scope, receive, send):
    if scope["type"] == "websocket" and scope["path"].startswith("/ws/"):
        return await chat(scope, receive, send)
    if scope["type"] == "http":
        found = scope["path"] == "/"
        await send({"type": "http.response.start", "status": 200 if found else 404,
                    "headers": [(b"content-type", b"text/html; charset=utf-8" if found else b"text/plain")]})
        await send({"type": "http.response.body", "body": PAGE if found else b"Not Found"})
