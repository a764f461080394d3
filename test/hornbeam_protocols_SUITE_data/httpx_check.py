"""httpx with http2=True against Hornbeam: prior knowledge on cleartext, ALPN over TLS.

Usage: httpx_check.py URL [CAFILE]. Prints JSON: the HTTP versions httpx used for 20
concurrent requests on one client, the http_version the app saw in its scope, and
whether a 3 MB body made the round trip (it needs HTTP/2 flow control both ways).
"""
import asyncio
import json
import os
import sys

import httpx


async def main(url, cafile):
    kwargs = {"http2": True}
    if url.startswith("http://"):
        kwargs["http1"] = False  # prior knowledge
    else:
        kwargs["verify"] = cafile
    async with httpx.AsyncClient(**kwargs, timeout=30) as client:
        responses = await asyncio.gather(*(client.get(f"{url}/scope") for _ in range(20)))
        big = os.urandom(3_000_000)
        echo = await client.post(f"{url}/echo", content=big)
    scope = responses[0].json()
    print(json.dumps({
        "versions": sorted({r.http_version for r in responses}),
        "statuses": sorted({r.status_code for r in responses}),
        "scope_http_version": scope["http_version"],
        "scope_scheme": scope["scheme"],
        "echo_ok": echo.status_code == 200 and echo.content == big,
    }))


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], sys.argv[2] if len(sys.argv) > 2 else None))
