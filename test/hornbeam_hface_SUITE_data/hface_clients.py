"""httpx against an hface server, for the hface worker class tests.

    hface_clients.py tls URL CAFILE     two GETs over TLS, ALPN offering h2 and http/1.1
    hface_clients.py reset URL          over h2c: /reset fails as a stream reset, and
                                        the same connection then serves /
    hface_clients.py h2c URL PATH...    GETs over one h2c connection, one after the
                                        other: the JSON bodies as a list
    hface_clients.py leave URL          over h2c: reads 100 kB of /long, leaves the
                                        stream, then GETs / on the same connection
Prints one JSON object.
"""

import json
import sys

import httpx


def tls(url, cafile):
    with httpx.Client(http2=True, verify=cafile) as client:
        responses = [client.get(url), client.get(url)]
    return {
        "versions": [r.http_version for r in responses],
        "bodies": [r.text for r in responses],
    }


def reset(url):
    with httpx.Client(http1=False, http2=True) as client:
        try:
            client.get(url + "/reset")
            outcome = "answered"
        except httpx.RemoteProtocolError as exc:
            outcome = "reset" if "StreamReset" in repr(exc) or "reset" in str(exc) else repr(exc)
        after = client.get(url + "/after")
    return {"reset": outcome, "after": after.json(), "version": after.http_version}


def h2c(url, paths):
    with httpx.Client(http1=False, http2=True) as client:
        return [client.get(url + path).json() for path in paths]


def leave(url):
    with httpx.Client(http1=False, http2=True) as client:
        got = 0
        with client.stream("GET", url + "/long") as response:
            for chunk in response.iter_bytes():
                got += len(chunk)
                if got >= 100_000:
                    break
        after = client.get(url + "/")
    return {"left_after": got >= 100_000, "after": after.status_code, "text": after.text}


if __name__ == "__main__":
    mode = sys.argv[1]
    if mode == "tls":
        result = tls(sys.argv[2], sys.argv[3])
    elif mode == "reset":
        result = reset(sys.argv[2])
    elif mode == "leave":
        result = leave(sys.argv[2])
    else:
        result = h2c(sys.argv[2], sys.argv[3:])
    print(json.dumps(result))
