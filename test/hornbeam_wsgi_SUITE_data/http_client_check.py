"""Talks to a running Hornbeam with Python's http.client; prints what it saw as JSON.

Usage: http_client_check.py PORT
"""
import http.client
import json
import sys

port = int(sys.argv[1])
conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
result = {}

conn.request("GET", "/")
response = conn.getresponse()
result["hello"] = response.read().decode()
first_socket = conn.sock

statuses = []
for path in ("/", "/status/201", "/missing"):
    conn.request("GET", path)
    response = conn.getresponse()
    response.read()
    statuses.append(response.status)
result["statuses"] = statuses
result["keepalive_same_socket"] = conn.sock is first_socket

payload = [b"part-%d;" % i * 100 for i in range(50)]
conn.request("POST", "/echo", body=iter(payload), encode_chunked=True,
             headers={"Content-Type": "application/octet-stream"})
response = conn.getresponse()
result["chunked_echo_ok"] = response.status == 200 and response.read() == b"".join(payload)
conn.close()

print(json.dumps(result))
