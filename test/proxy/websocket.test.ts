// WebSocket upgrades pass through: Node's global WebSocket client ↔ proxy ↔ a `ws` server.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import http from "node:http";
import { type TestUpstream, startUpstream } from "../support/upstreams.ts";
import { GATEWAY_YAML, type GatewayUnderTest, backendYaml, ref, routeYaml, startGateway } from "./harness.ts";

let up: TestUpstream;
let gw: GatewayUnderTest;

before(async () => {
  up = await startUpstream("ws-up");
  gw = await startGateway(`${GATEWAY_YAML}${backendYaml("up", up.port)}${routeYaml(`    - matches: [{path: {type: PathPrefix, value: /ws}}]
      filters:
        - type: URLRewrite
          urlRewrite: {path: {type: ReplacePrefixMatch, replacePrefixMatch: /socket}}
      backendRefs: [${ref("up")}]
`)}`);
});

after(async () => {
  await gw?.close();
  await up?.close();
});

/** Collects messages in arrival order and hands them out one at a time. */
function inbox(ws: WebSocket): () => Promise<string> {
  const queued: string[] = [];
  const waiting: ((m: string) => void)[] = [];
  ws.addEventListener("message", (event) => {
    const text = typeof event.data === "string" ? event.data : Buffer.from(event.data as ArrayBuffer).toString("utf8");
    const next = waiting.shift();
    if (next) next(text);
    else queued.push(text);
  });
  return () => new Promise((resolve) => (queued.length > 0 ? resolve(queued.shift()!) : waiting.push(resolve)));
}

test("a WebSocket session runs through the proxy in both directions", async () => {
  const ws = new WebSocket(`ws://127.0.0.1:${gw.port}/ws/chat`);
  const next = inbox(ws);
  await new Promise<void>((resolve, reject) => {
    ws.addEventListener("open", () => resolve());
    ws.addEventListener("error", () => reject(new Error("WebSocket failed to open")));
  });
  assert.equal(await next(), "hello /socket/chat 127.0.0.1");
  ws.send("ping 1");
  assert.equal(await next(), "echo: ping 1");
  ws.send("ping 2");
  assert.equal(await next(), "echo: ping 2");
  const closed = new Promise<number>((resolve) => ws.addEventListener("close", (e) => resolve(e.code)));
  ws.close(1000);
  assert.equal(await closed, 1000);
  const seen = up.requests.length;
  assert.equal(seen, 0, "the upgrade goes to the ws server, not the plain request handler");
});

test("an upgrade to an unrouted path gets a JSON 404", async () => {
  const reply = await new Promise<{ status: number; body: string }>((resolve, reject) => {
    const req = http.request({
      host: "127.0.0.1",
      port: gw.port,
      path: "/elsewhere",
      headers: { connection: "Upgrade", upgrade: "websocket", "sec-websocket-version": "13", "sec-websocket-key": "dGhlIHNhbXBsZSBub25jZQ==" },
      agent: false,
    });
    req.on("response", (res) => {
      let body = "";
      res.setEncoding("utf8");
      res.on("data", (c: string) => (body += c));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on("upgrade", () => reject(new Error("unexpected upgrade")));
    req.on("error", reject);
    req.end();
  });
  assert.equal(reply.status, 404);
  assert.equal((JSON.parse(reply.body) as { error: string }).error, "no_route");
});
