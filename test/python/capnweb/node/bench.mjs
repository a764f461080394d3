// capnweb calls/s from a Node client (bench/capnweb.sh runs it): sequential awaited calls,
// then batches of 100 pipelined calls, each for SECONDS. Prints one JSON line.
// Usage: node bench.mjs URL SECONDS
import WebSocket from "ws";
import { newWebSocketRpcSession } from "capnweb";

globalThis.WebSocket ??= WebSocket;
const [url, seconds] = [process.argv[2], Number(process.argv[3] ?? 5)];
const api = newWebSocketRpcSession(new WebSocket(url));
await api.square(1);

async function measure(step) {
  const end = performance.now() + seconds * 1000;
  let calls = 0;
  while (performance.now() < end) calls += await step();
  return Math.round(calls / seconds);
}

const sequential = await measure(async () => { await api.square(3); return 1; });
const pipelined = await measure(async () => {
  await Promise.all(Array.from({ length: 100 }, (_, i) => api.square(i)));
  return 100;
});
console.log(JSON.stringify({ sequential, pipelined }));
process.exit(0);
