// WebSocket upgrades pass through: Node's global WebSocket client ↔ proxy ↔ a `ws` server.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { once } from "node:events";
import type { PoolEntry } from "../../src/proxy/pools.ts";
import { throwOnDispatchOf } from "../support/throw-on-dispatch.ts";
import { refusedUpgrade as refusedUpgradeAt } from "../support/upgrade-offer.ts";
import { type TestUpstream, startUpstream } from "../support/upstreams.ts";
import { until } from "../support/until.ts";
import { GATEWAY_YAML, type GatewayUnderTest, ask, backendYaml, ref, routeYaml, startGateway } from "./harness.ts";

let up: TestUpstream;
let gw: GatewayUnderTest;

before(async () => {
  up = await startUpstream("ws-up");
  gw = await startGateway(`${GATEWAY_YAML}${backendYaml("up", up.port)}${backendYaml("narrow", up.port)}  connectionPool: {maxConnections: 1}
${backendYaml("full", up.port)}  connectionPool: {maxConnections: 1, maxPendingRequests: 0}
${routeYaml(`    - matches: [{path: {type: PathPrefix, value: /ws}}]
      filters:
        - type: URLRewrite
          urlRewrite: {path: {type: ReplacePrefixMatch, replacePrefixMatch: /socket}}
      backendRefs: [${ref("up")}]
    - matches: [{path: {type: PathPrefix, value: /narrow}}]
      filters:
        - type: URLRewrite
          urlRewrite: {path: {type: ReplacePrefixMatch, replacePrefixMatch: /}}
      backendRefs: [${ref("narrow")}]
    - matches: [{path: {type: PathPrefix, value: /full}}]
      filters:
        - type: URLRewrite
          urlRewrite: {path: {type: ReplacePrefixMatch, replacePrefixMatch: /}}
      backendRefs: [${ref("full")}]
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

function refusedUpgrade(path: string): Promise<{ status: number; body: string }> {
  return refusedUpgradeAt(gw.port, path);
}

test("an upgrade to an unrouted path gets a JSON 404", async () => {
  const reply = await refusedUpgrade("/elsewhere");
  assert.equal(reply.status, 404);
  assert.equal((JSON.parse(reply.body) as { error: string }).error, "no_route");
});

test("an upgrade waits its turn for a pooled connection, and frees it once the upstream answers 101", async () => {
  const entry = gw.pools.entry(up.origin, 1);
  // The backend's one connection is held by a stream the upstream ends on release.
  const seenBefore = up.requests.filter((r) => r.url === "/sse").length;
  const held = ask(gw.port, { path: "/narrow/sse" });
  await up.waitFor("/sse", seenBefore + 1);
  const ws = new WebSocket(`ws://127.0.0.1:${gw.port}/narrow/socket/queued`);
  const next = inbox(ws);
  const opened = new Promise<void>((resolve, reject) => {
    ws.addEventListener("open", () => resolve());
    ws.addEventListener("error", () => reject(new Error("WebSocket failed to open")));
  });
  await until(() => entry.waiting === 1);
  assert.equal(entry.active, 1, "the upgrade did not open a second connection past maxConnections");
  up.releaseSse();
  assert.equal((await held).status, 200);
  await opened;
  assert.equal(await next(), "hello /socket/queued 127.0.0.1");
  // The upgraded socket left the pool: a plain request gets the connection slot while the tunnel is open.
  assert.equal(entry.active, 0);
  assert.equal((await ask(gw.port, { path: "/narrow/status/200" })).status, 200);
  ws.send("still here");
  assert.equal(await next(), "echo: still here");
  const closed = new Promise<number>((resolve) => ws.addEventListener("close", (e) => resolve(e.code)));
  ws.close(1000);
  assert.equal(await closed, 1000);
  assert.equal(entry.inFlight, 0);
});

/** A hand-off that threw: the client got 502, the warning went out, and the one connection slot is usable again. */
async function assertFailedAndSlotBack(reply: { status: number; body: string }, warned: Promise<[Error]>, entry: PoolEntry): Promise<void> {
  assert.equal(reply.status, 502);
  assert.equal((JSON.parse(reply.body) as { error: string }).error, "upstream_error");
  assert.match((await warned)[0].message, /an upstream request failed to start: Error: a handler bug/);
  assert.deepEqual([entry.active, entry.waiting], [0, 0], "the slot came back");
  // One connection allowed: a slot kept by the broken upgrade would queue this one for good.
  assert.equal((await ask(gw.port, { path: "/narrow/status/200" })).status, 200);
}

test("a queued upgrade whose turn throws gets 502 and gives its connection slot back", { timeout: 30_000 }, async () => {
  const entry = gw.pools.entry(up.origin, 1);
  const restore = throwOnDispatchOf(entry, "/socket/broken");
  try {
    const seenBefore = up.requests.filter((r) => r.url === "/sse").length;
    const held = ask(gw.port, { path: "/narrow/sse" });
    await up.waitFor("/sse", seenBefore + 1);
    const warned = once(process, "warning") as Promise<[Error]>;
    const refused = refusedUpgrade("/narrow/socket/broken");
    await until(() => entry.waiting === 1);
    up.releaseSse();
    assert.equal((await held).status, 200);
    await assertFailedAndSlotBack(await refused, warned, entry);
  } finally {
    restore();
  }
});

test("an upgrade whose hand-off to a free connection throws gets 502 and gives the slot back", { timeout: 30_000 }, async () => {
  const entry = gw.pools.entry(up.origin, 1);
  const restore = throwOnDispatchOf(entry, "/socket/broken-at-once");
  try {
    const warned = once(process, "warning") as Promise<[Error]>;
    await assertFailedAndSlotBack(await refusedUpgrade("/narrow/socket/broken-at-once"), warned, entry);
  } finally {
    restore();
  }
});

test("an upgrade that finds every connection busy and the queue full gets 503 upstream_overflow, as a request does", async () => {
  const seenBefore = up.requests.filter((r) => r.url === "/sse").length;
  const held = ask(gw.port, { path: "/full/sse" });
  await up.waitFor("/sse", seenBefore + 1);
  const reply = await refusedUpgrade("/full/socket/overflow");
  assert.equal(reply.status, 503);
  assert.equal((JSON.parse(reply.body) as { error: string }).error, "upstream_overflow");
  up.releaseSse();
  assert.equal((await held).status, 200);
});
