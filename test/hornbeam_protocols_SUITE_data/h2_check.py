"""HTTP/2 seen frame by frame with the h2 library over a plain socket.

Usage: h2_check.py PORT MARK_FILE. Prints JSON: the server's MAX_CONCURRENT_STREAMS,
whether three /barrier?n=3 streams were answered (they are only if served at once), and
whether a stream reset by the client reached the application as http.disconnect (the
app writes MARK_FILE; the connection stays open meanwhile).
"""
import json
import os
import socket
import sys
import time

import h2.config
import h2.connection
import h2.events
import h2.settings


def main(port, mark):
    sock = socket.create_connection(("127.0.0.1", port), timeout=10)
    conn = h2.connection.H2Connection(h2.config.H2Configuration(client_side=True))
    conn.initiate_connection()

    def headers(path):
        return [(":method", "GET"), (":path", path), (":scheme", "http"), (":authority", f"127.0.0.1:{port}")]

    for stream in (1, 3, 5):
        conn.send_headers(stream, headers("/barrier?n=3"), end_stream=True)
    sock.sendall(conn.data_to_send())

    result = {"max_concurrent_streams": None, "barrier": {}, "reset_seen": False}
    ended = set()
    deadline = time.monotonic() + 10
    while len(ended) < 3 and time.monotonic() < deadline:
        data = sock.recv(65536)
        if not data:
            break
        for event in conn.receive_data(data):
            if isinstance(event, h2.events.RemoteSettingsChanged):
                setting = event.changed_settings.get(h2.settings.SettingCodes.MAX_CONCURRENT_STREAMS)
                if setting is not None:
                    result["max_concurrent_streams"] = setting.new_value
            elif isinstance(event, h2.events.DataReceived):
                result["barrier"].setdefault(event.stream_id, b"")
                result["barrier"][event.stream_id] += event.data
                conn.acknowledge_received_data(len(event.data), event.stream_id)
            elif isinstance(event, h2.events.StreamEnded):
                ended.add(event.stream_id)
        sock.sendall(conn.data_to_send())
    result["barrier"] = {str(k): v.decode() for k, v in result["barrier"].items()}

    # A request the application waits on until the client leaves; the client resets
    # the stream but keeps the connection.
    conn.send_headers(7, headers(f"/wait-disconnect?mark={mark}"), end_stream=True)
    sock.sendall(conn.data_to_send())
    conn.reset_stream(7)
    sock.sendall(conn.data_to_send())
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        if os.path.exists(mark) and open(mark).read() == "http.disconnect":
            result["reset_seen"] = True
            break
        time.sleep(0.02)
    # The connection still serves after the reset.
    conn.send_headers(9, headers("/"), end_stream=True)
    sock.sendall(conn.data_to_send())
    body = b""
    done = False
    while not done:
        data = sock.recv(65536)
        if not data:
            break
        for event in conn.receive_data(data):
            if isinstance(event, h2.events.DataReceived) and event.stream_id == 9:
                body += event.data
            elif isinstance(event, h2.events.StreamEnded) and event.stream_id == 9:
                done = True
        sock.sendall(conn.data_to_send())
    result["after_reset"] = body.decode()
    print(json.dumps(result))


if __name__ == "__main__":
    main(int(sys.argv[1]), sys.argv[2])
