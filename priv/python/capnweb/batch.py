"""HTTP batch sessions: one POST carries every message of a batch, newline-separated, and
the response carries the replies. A batch session ends with its request."""

from .errors import RpcError, RpcSessionClosed
from .options import RpcSessionOptions
from .session import RpcSession
from .transports import BatchClientTransport, BatchServerTransport


async def new_http_batch_rpc_session(url, local_main=None, options=None):
    """A stub for the server's main object. Calls made before the next `await`, and the
    awaits on them, go in one request; once it is answered the session is over."""
    try:
        import aiohttp
    except ImportError:
        raise ImportError("new_http_batch_rpc_session needs aiohttp: pip install aiohttp") from None
    options = options or RpcSessionOptions()

    async def post(lines):
        headers = {"Content-Type": "text/plain", **await options.auth_headers()}
        timeout = aiohttp.ClientTimeout(total=None, connect=options.connect_timeout)
        async with (
            aiohttp.ClientSession(timeout=timeout) as http,
            http.post(url, data="\n".join(lines).encode("utf-8"), headers=headers) as response,
        ):
            if response.status != 200:
                raise RpcSessionClosed(f"RPC request failed: {response.status} {response.reason}")
            body = await response.text()
        return body.split("\n") if body else []

    session = RpcSession(BatchClientTransport(post), local_main, options)
    return session.get_remote_main()


async def new_http_batch_rpc_response(body, target, options=None):
    """The response body for one batch request `body` (str or bytes) served by `target`."""
    if isinstance(body, (bytes, bytearray, memoryview)):
        body = bytes(body).decode("utf-8")
    transport = BatchServerTransport(body.split("\n") if body else [])
    session = RpcSession(transport, target, options or RpcSessionOptions())
    await transport.all_received
    session.end_of_input(
        RpcError(
            "The client cannot answer within an HTTP batch (use a WebSocket session for callbacks)."
        )
    )
    await session.drain()
    response = "\n".join(transport.outbox)
    session.abort(RpcSessionClosed("Batch RPC request ended."), False)
    return response
