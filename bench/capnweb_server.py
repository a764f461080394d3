"""The standalone Python capnweb server of bench/capnweb.sh: the interop tests' API on
PORT. Prints "listening PORT"."""
import asyncio
import sys

sys.path[:0] = ["priv/python", "test/python/capnweb/apps"]
import capnweb  # noqa: E402
import interop_api  # noqa: E402


async def main(port):
    server = await capnweb.new_websocket_rpc_server("127.0.0.1", port, interop_api.make_api)
    print(f"listening {server.port}", flush=True)
    await server.serve_forever()


asyncio.run(main(int(sys.argv[1])))
