// Drives a capnweb server (the Python one, in the interop tests) the way a JavaScript
// application would, and prints what it saw as one JSON line per scenario.
// Usage: node client.mjs ws|batch URL SCENARIO...
import { newWebSocketRpcSession, newHttpBatchRpcSession, RpcTarget } from "capnweb";
import WebSocket from "ws";

// Node 20 has no global WebSocket; capnweb reads its constants from there.
globalThis.WebSocket ??= WebSocket;

const [transport, url, ...scenarios] = process.argv.slice(2);

function connect() {
  if (transport === "ws") return newWebSocketRpcSession(new WebSocket(url));
  return newHttpBatchRpcSession(url);
}

class Greeter extends RpcTarget {
  greet(name) { return `hi ${name} from node`; }
}

const hex = (bytes) => Buffer.from(bytes).toString("hex");

const SCENARIOS = {
  async hello(api) { return await api.hello("Node"); },
  async pipeline(api) {
    const user = api.authenticate("token-1");
    const profile = api.get_user_profile(user.id);
    const notes = api.get_notifications(user.id);
    return await Promise.all([user, profile, notes]);
  },
  async chain(api) {
    // Three dependent calls: each uses the previous result without awaiting it.
    return await api.make_counter(5).incremented(2).incremented(3).value;
  },
  async map(api) { return await api.numbers().map((x) => api.square(x)); },
  async map_objects(api) {
    return await api.users().map((u) => ({ name: u.name, profile: api.get_user_profile(u.id) }));
  },
  async callback(api) { return await api.call_back((x) => x * 10, 4); },
  async target_callback(api) { return await api.greet_with(new Greeter(), "py"); },
  async counter(api) {
    const counter = await api.make_counter(10);
    const a = await api.increment_counter(counter, 5);
    const b = await counter.increment(3);
    return [a, b, await counter.value];
  },
  async error(api) {
    try { await api.boom("secret-password"); return "no error"; }
    catch (e) { return { name: e.name, message: e.message, isError: e instanceof Error }; }
  },
  async types(api) {
    const sent = {
      big: 12345678901234567890n, date: new Date(1749342170815), bytes: new Uint8Array([0, 1, 2, 250, 255]),
      undef: undefined, inf: Infinity, ninf: -Infinity, nan: NaN, nested: [[1, [2, "x"]], []],
      obj: { a: [true, null, "s"] }, err: new TypeError("bad type"),
    };
    const back = await api.echo(sent);
    return {
      big: typeof back.big === "bigint" && back.big === sent.big,
      date: back.date instanceof Date && back.date.getTime() === 1749342170815,
      bytes: back.bytes instanceof Uint8Array && hex(back.bytes) === "000102faff",
      undef: "undef" in back && back.undef === null,
      inf: back.inf === Infinity, ninf: back.ninf === -Infinity, nan: Number.isNaN(back.nan),
      nested: JSON.stringify(back.nested) === JSON.stringify(sent.nested),
      obj: JSON.stringify(back.obj) === JSON.stringify(sent.obj),
      err: back.err instanceof TypeError && back.err.message === "bad type",
      described: await api.describe(sent),
    };
  },
  async python_types(api) {
    const v = await api.python_values();
    return {
      big: typeof v.big === "bigint" ? v.big.toString() : typeof v.big,
      small_big: typeof v.small_big,
      date: v.date instanceof Date ? v.date.toISOString() : typeof v.date,
      bytes: v.bytes instanceof Uint8Array ? hex(v.bytes) : typeof v.bytes,
      tuple: v.tuple, floats: [v.inf === Infinity, v.ninf === -Infinity, Number.isNaN(v.nan)], undef: v.undef === undefined,
    };
  },
  async private_names(api) {
    const out = [];
    for (const name of ["_secret", "instance_field", "class_data", "missing"]) {
      try { out.push([name, await api[name]()]); }
      catch (e) { out.push([name, e.name]); }
    }
    return out;
  },
  async auth(api) { return await api.whoami(); },
};

// A WebSocket session serves every scenario; a batch session is one request, so each
// scenario gets its own.
let api = connect();
for (const name of scenarios) {
  let result;
  try { result = { ok: await SCENARIOS[name](api) }; }
  catch (e) { result = { error: `${e.name}: ${e.message}` }; }
  console.log(JSON.stringify({ scenario: name, ...result }, (k, v) => typeof v === "bigint" ? `${v}n` : v));
  if (transport === "batch") api = connect();
}
process.exit(0);
