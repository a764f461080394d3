"""Two `websockets` clients of the chat example on two nodes.

Usage: chat_check.py PORT_A PORT_B. Prints "connected" once both are in the room,
waits for a line on stdin (the test checks that both subscriptions reached every
node), then each client sends a message and the other must receive it; prints JSON.
"""
import asyncio
import json
import sys

from websockets.asyncio.client import connect


async def main(port_a, port_b):
    async with connect(f"ws://127.0.0.1:{port_a}/ws/lobby") as a, \
               connect(f"ws://127.0.0.1:{port_b}/ws/lobby") as b:
        print("connected", flush=True)
        await asyncio.get_running_loop().run_in_executor(None, sys.stdin.readline)
        await a.send("hello from A")
        got_b = json.loads(await asyncio.wait_for(b.recv(), 10))
        got_a_own = json.loads(await asyncio.wait_for(a.recv(), 10))
        await b.send("hello from B")
        got_a = json.loads(await asyncio.wait_for(a.recv(), 10))
        print(json.dumps({"b_got": got_b, "a_echo": got_a_own, "a_got": got_a}), flush=True)


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1]), int(sys.argv[2])))
