"""WebSocket over HTTP/2 (RFC 8441) against Hornbeam, with the h2 and wsproto packages:
three WebSockets as streams of one HTTP/2 connection. Prints what it saw as JSON.
Usage: ws_h2_check.py PORT [QUIET]: QUIET seconds with the echo socket open and unused
(longer than the server's keepalive: an open WebSocket is not an idle connection)."""
import json
import socket
import sys
import time

import h2.config
import h2.connection
import h2.events
import h2.settings
from wsproto.connection import Connection, ConnectionState, ConnectionType
from wsproto.events import BytesMessage, CloseConnection, TextMessage

port = int(sys.argv[1])
quiet = float(sys.argv[2]) if len(sys.argv) > 2 else 0
sock = socket.create_connection(("127.0.0.1", port), timeout=10)
http = h2.connection.H2Connection(h2.config.H2Configuration(client_side=True))
http.initiate_connection()
sock.sendall(http.data_to_send())


pending = []  # events read but not yet taken


def pump():
    """Reads one packet into `pending`; answers what h2 must answer (PINGs, SETTINGS)."""
    data = sock.recv(65536)
    if not data:
        raise ConnectionError("server closed the connection")
    pending.extend(http.receive_data(data))
    sock.sendall(http.data_to_send())


def take(match):
    """The first pending event `match` accepts (reading more until one comes)."""
    while True:
        for i, event in enumerate(pending):
            if match(event):
                return pending.pop(i)
        pump()


# The server must offer extended CONNECT before a client may use it.
take(lambda e: isinstance(e, h2.events.RemoteSettingsChanged))
result = {"enable_connect_protocol": http.remote_settings.enable_connect_protocol}


def open_websocket(path):
    stream = http.get_next_available_stream_id()
    http.send_headers(stream, [(":method", "CONNECT"), (":protocol", "websocket"), (":scheme", "http"),
                               (":path", path), (":authority", "t"), ("sec-websocket-version", "13")])
    sock.sendall(http.data_to_send())
    return stream


def status_of(stream):
    event = take(lambda e: isinstance(e, h2.events.ResponseReceived) and e.stream_id == stream)
    return int(dict(event.headers)[b":status"])


def websocket_events(stream, ws, until):
    """wsproto events on `stream` until `until(events)` holds."""
    seen = []
    while not until(seen):
        event = take(lambda e: isinstance(e, h2.events.DataReceived) and e.stream_id == stream)
        http.acknowledge_received_data(event.flow_controlled_length, stream)
        sock.sendall(http.data_to_send())
        if ws.state is not ConnectionState.CLOSED:  # the stream's end may follow the close
            ws.receive_data(event.data)
            seen += list(ws.events())
    return seen


def stay_quiet(seconds):
    """Sends nothing on the WebSockets for `seconds`, still answering the server's PINGs
    as a live client does."""
    deadline = time.monotonic() + seconds
    while (left := deadline - time.monotonic()) > 0:
        sock.settimeout(left)
        try:
            pump()
        except TimeoutError:
            break
    sock.settimeout(10)


def send(stream, data):
    http.send_data(stream, data)
    sock.sendall(http.data_to_send())


echo_stream = open_websocket("/ws")
result["echo_status"] = status_of(echo_stream)
scope_stream = open_websocket("/ws/scope")
result["scope_status"] = status_of(scope_stream)
echo, scope = Connection(ConnectionType.CLIENT), Connection(ConnectionType.CLIENT)
# Both sockets at once: the scope arrives while the echo socket is open.
got = websocket_events(scope_stream, scope, lambda seen: any(isinstance(e, TextMessage) for e in seen))
result["scope"] = {k: v for k, v in json.loads(got[0].data).items() if k in ("type", "http_version", "scheme", "path")}
stay_quiet(quiet)
send(echo_stream, echo.send(TextMessage(data="h\u00e9llo")) + echo.send(BytesMessage(data=b"\x00\x01\xff")))
got = websocket_events(echo_stream, echo, lambda seen: len(seen) >= 2)
result["echo"] = [e.data if isinstance(e, TextMessage) else list(e.data) for e in got]
send(echo_stream, echo.send(CloseConnection(code=1000)))
got = websocket_events(echo_stream, echo, lambda seen: any(isinstance(e, CloseConnection) for e in seen))
result["close"] = [e.code for e in got if isinstance(e, CloseConnection)]
result["reject_status"] = status_of(open_websocket("/ws/reject"))
print(json.dumps(result))
