"""capnweb calls/s from the Python client: sequential awaited calls, then batches of
100 pipelined calls, each for SECONDS. Prints one JSON line.
Usage: python bench/capnweb_client.py URL SECONDS"""
import asyncio
import json
import sys
import time

sys.path.insert(0, "priv/python")
import capnweb  # noqa: E402


async def main(url, seconds):
    api = await capnweb.new_websocket_rpc_session(url)
    await api.square(1)

    async def measure(step):
        end = time.perf_counter() + seconds
        calls = 0
        while time.perf_counter() < end:
            calls += await step()
        return round(calls / seconds)

    async def one():
        await api.square(3)
        return 1

    async def hundred():
        await asyncio.gather(*(api.square(i) for i in range(100)))
        return 100

    print(json.dumps({"sequential": await measure(one), "pipelined": await measure(hundred)}))
    api.dispose()


asyncio.run(main(sys.argv[1], float(sys.argv[2])))
