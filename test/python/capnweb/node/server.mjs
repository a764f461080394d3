// A JavaScript capnweb server for the Python client: WebSocket and HTTP batch on one
// port. Prints "listening PORT" once it accepts.
// Usage: node server.mjs [PORT]
import http from "node:http";
import WebSocket, { WebSocketServer } from "ws";
import { RpcTarget, newWebSocketRpcSession, nodeHttpBatchRpcResponse } from "capnweb";

// Node 20 has no global WebSocket; capnweb reads its constants from there.
globalThis.WebSocket ??= WebSocket;

class Counter extends RpcTarget {
  #value;
  constructor(value) { super(); this.#value = value; }
  increment(amount = 1) { this.#value += amount; return this.#value; }
  incremented(amount) { this.#value += amount; return this; }
  get value() { return this.#value; }
}

class NodeApi extends RpcTarget {
  constructor(auth) { super(); this.auth = auth; }
  hello(name) { return `Hello, ${name}! (node)`; }
  square(x) { return x * x; }
  numbers() { return [1, 2, 3]; }
  make_counter(initial = 0) { return new Counter(initial); }
  async increment_counter(counter, amount) { return await counter.increment(amount); }
  async call_back(callback, x) { return await callback(x); }
  echo(value) { return value; }
  describe(value) {
    const kind = (v) => v === null ? "null" : v instanceof Uint8Array ? "Uint8Array"
      : v instanceof Date ? "Date" : Array.isArray(v) ? "Array" : v instanceof Error ? v.name : typeof v;
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, kind(v)]));
  }
  boom() { throw new RangeError("node says no"); }
  whoami() { return this.auth ?? null; }
}

const server = http.createServer((req, res) => {
  nodeHttpBatchRpcResponse(req, res, new NodeApi(req.headers.authorization));
});
const wss = new WebSocketServer({ server });
wss.on("connection", (ws, req) => {
  newWebSocketRpcSession(ws, new NodeApi(req.headers.authorization));
});
server.listen(Number(process.argv[2] ?? 0), "127.0.0.1", () => {
  console.log(`listening ${server.address().port}`);
});
