"""niquests (HTTP/3 through qh3) as a browser would find HTTP/3: the first request goes
over TCP and reads Alt-Svc, the next ones go over QUIC.

    h3_niquests.py PORT CAFILE PATH
"""

import json
import sys

import niquests

port, cafile, path = sys.argv[1], sys.argv[2], sys.argv[3]
url = f"https://localhost:{port}{path}"
with niquests.Session() as session:
    first = session.get(url, verify=cafile)
    second = session.get(url, verify=cafile)
    head = session.head(url, verify=cafile)
print(
    json.dumps(
        {
            "first": {"version": first.http_version, "alt_svc": first.headers.get("alt-svc")},
            "second": {
                "version": second.http_version,
                "status": second.status_code,
                "body": second.text,
            },
            "head": {
                "version": head.http_version,
                "status": head.status_code,
                "length": head.headers.get("content-length"),
                "body": head.text,
            },
        }
    )
)
