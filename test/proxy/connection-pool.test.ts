// The per-endpoint upstream connection limit: a Backend's connectionPool.maxConnections, else
// DEFAULT_MAX_CONNECTIONS. A real upstream counts the TCP connections it accepts and holds
// every request until as many as the limit are waiting, so the test observes the bound
// itself: more concurrent clients than the limit never open more upstream connections, and
// the requests beyond it wait for a free connection and still succeed.
import assert from "node:assert/strict";
import { once } from "node:events";
import http from "node:http";
import type { AddressInfo } from "node:net";
import { test } from "node:test";
import { DEFAULT_MAX_CONNECTIONS, UpstreamPools } from "../../src/proxy/pools.ts";
import type { Exchange } from "../../src/proxy/exchange.ts";
import { noopTelemetry } from "../../src/telemetry/hooks.ts";
import { until } from "../support/until.ts";
import { GATEWAY_YAML, ask, catchAllRouteYaml, startGateway } from "./harness.ts";

interface HoldingUpstream {
  readonly port: number;
  /** TCP connections accepted so far. */
  connections(): number;
  /** Most requests the upstream held at once. */
  maxHeld(): number;
  close(): Promise<void>;
}

/** Holds requests and answers them all once `batch` are waiting, or once all `total` have arrived. */
async function holdingUpstream(batch: number, total: number): Promise<HoldingUpstream> {
  let connections = 0;
  let arrived = 0;
  let maxHeld = 0;
  let held: http.ServerResponse[] = [];
  const server = http.createServer((req, res) => {
    req.resume();
    arrived++;
    held.push(res);
    maxHeld = Math.max(maxHeld, held.length);
    if (held.length >= batch || arrived >= total) {
      const release = held;
      held = [];
      for (const r of release) r.end("ok");
    }
  });
  server.on("connection", () => connections++);
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  return {
    port: (server.address() as AddressInfo).port,
    connections: () => connections,
    maxHeld: () => maxHeld,
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

function config(port: number, connectionPool: string): string {
  return `${GATEWAY_YAML}---
apiVersion: gateway.tollgate.dev/v1alpha1
kind: Backend
metadata: {name: up, namespace: default}
spec:
  endpoints:
    - ip: {address: 127.0.0.1, port: ${port}}
${connectionPool}${catchAllRouteYaml("up")}`;
}

async function concurrentThroughGateway(limitYaml: string, limit: number, clients: number): Promise<{ connections: number; maxHeld: number; statuses: number[] }> {
  const up = await holdingUpstream(limit, clients);
  const gw = await startGateway(config(up.port, limitYaml));
  try {
    // Every client on its own connection to the gateway, all at once.
    const replies = await Promise.all(Array.from({ length: clients }, (_, i) => ask(gw.port, { path: `/r/${i}` })));
    return { connections: up.connections(), maxHeld: up.maxHeld(), statuses: replies.map((r) => r.status) };
  } finally {
    await gw.close();
    await up.close();
  }
}

test("a Backend's connectionPool.maxConnections bounds the upstream connections; the rest queue and succeed", async () => {
  const result = await concurrentThroughGateway("  connectionPool:\n    maxConnections: 3\n", 3, 20);
  assert.deepEqual(result.statuses, Array.from({ length: 20 }, () => 200));
  assert.equal(result.connections, 3, "exactly the limit: every slot used, none beyond it");
  assert.equal(result.maxHeld, 3);
});

test("without connectionPool the gateway default bounds each endpoint", async () => {
  const clients = DEFAULT_MAX_CONNECTIONS + 22;
  const result = await concurrentThroughGateway("", DEFAULT_MAX_CONNECTIONS, clients);
  assert.deepEqual(result.statuses, Array.from({ length: clients }, () => 200));
  assert.equal(result.connections, DEFAULT_MAX_CONNECTIONS);
  assert.equal(result.maxHeld, DEFAULT_MAX_CONNECTIONS);
});

test("one origin gets one pool per connection limit, and all of them count as its open connections", async () => {
  const pools = new UpstreamPools();
  try {
    const origin = "http://127.0.0.1:9";
    const byDefault = pools.entry(origin);
    assert.equal(byDefault.maxConnections, DEFAULT_MAX_CONNECTIONS);
    assert.equal(pools.entry(origin, DEFAULT_MAX_CONNECTIONS), byDefault);
    const four = pools.entry(origin, 4);
    assert.notEqual(four, byDefault);
    assert.equal(four.maxConnections, 4);
    assert.equal(pools.entry(origin, 4), four);
    assert.equal(pools.entry(origin), byDefault);
    assert.deepEqual([...pools.openConnections()], [[origin, 0]]);
    pools.retain(new Set());
    assert.deepEqual([...pools.openConnections()], []);
    assert.equal(four.pool.closed, true);
    assert.equal(byDefault.pool.closed, true);
  } finally {
    await pools.destroy();
  }
});

test("UpstreamPools' own default can be set per gateway", async () => {
  const pools = new UpstreamPools({ connections: 7 });
  try {
    assert.equal(pools.entry("http://127.0.0.1:9").maxConnections, 7);
  } finally {
    await pools.destroy();
  }
});

interface RecordingUpstream {
  readonly port: number;
  /** Request paths in arrival order. */
  readonly seen: string[];
  /** Responses held open, oldest first, for the test to end. */
  readonly held: http.ServerResponse[];
  /** TCP connections accepted so far. */
  connections(): number;
  close(): Promise<void>;
}

/** Records every request; holds those `hold` picks open and answers the rest at once. */
async function recordingUpstream(hold: (path: string) => boolean): Promise<RecordingUpstream> {
  const seen: string[] = [];
  const held: http.ServerResponse[] = [];
  const server = http.createServer((req, res) => {
    req.resume();
    seen.push(req.url ?? "");
    if (hold(req.url ?? "")) held.push(res);
    else res.end("ok");
  });
  let connections = 0;
  server.on("connection", () => connections++);
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  return {
    port: (server.address() as AddressInfo).port,
    seen,
    held,
    connections: () => connections,
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

test("a request whose client leaves while it waits for a pooled connection leaves the queue at once, and the connection stays open", async () => {
  const up = await recordingUpstream((path) => path === "/first");
  const gw = await startGateway(config(up.port, "  connectionPool:\n    maxConnections: 1\n"));
  try {
    const first = ask(gw.port, { path: "/first" });
    // Wait for /first to occupy the only connection, then for /abandoned to wait in the queue.
    await until(() => up.held.length > 0);
    // The second request can only queue behind /first; its client then goes away.
    const leaving = http.request({ host: "127.0.0.1", port: gw.port, path: "/abandoned", agent: false });
    leaving.on("error", () => {});
    leaving.end();
    const entry = gw.pools.entry(`http://127.0.0.1:${up.port}`, 1);
    await until(() => entry.waiting === 1);
    assert.equal(entry.pool.stats.queued, 0, "the waiter is the gateway's, not in undici");
    leaving.destroy();
    // Given up, it no longer waits or counts against maxPendingRequests, while /first still holds the connection.
    await until(() => entry.waiting === 0);
    assert.equal(entry.inFlight, 1);
    assert.equal(up.held.length, 1);
    (up.held[0] as http.ServerResponse).end("ok");
    assert.equal((await first).status, 200);
    assert.equal((await ask(gw.port, { path: "/after" })).status, 200);
    assert.deepEqual(up.seen, ["/first", "/after"]);
    // Aborting a request undici held would have closed the one healthy connection it got.
    assert.equal(up.connections(), 1, "the keep-alive connection carried /first and /after");
    assert.equal(entry.inFlight, 0);
  } finally {
    await gw.close();
    await up.close();
  }
});

test("a full pending queue answers 503 upstream_overflow at once; the queued requests still succeed", async () => {
  const up = await recordingUpstream(() => true);
  const ended = new Map<string, Exchange>();
  const telemetry = { ...noopTelemetry, onRequestEnd: (exchange: Exchange) => void ended.set(exchange.path, exchange) };
  const gw = await startGateway(config(up.port, "  connectionPool:\n    maxConnections: 1\n    maxPendingRequests: 1\n"), telemetry);
  const release = async (): Promise<void> => {
    await until(() => up.held.length > 0);
    (up.held.shift() as http.ServerResponse).end("ok");
  };
  try {
    const first = ask(gw.port, { path: "/first" });
    await until(() => up.held.length > 0);
    const entry = gw.pools.entry(`http://127.0.0.1:${up.port}`, 1);
    const second = ask(gw.port, { path: "/second" });
    await until(() => entry.waiting === 1);
    // One connection busy, one request waiting: the next has no room and is answered without waiting.
    const third = await ask(gw.port, { path: "/third" });
    assert.equal(third.status, 503);
    assert.equal(third.headers["content-type"], "application/json");
    assert.equal((JSON.parse(third.body.toString()) as { error: string }).error, "upstream_overflow");
    assert.deepEqual(up.seen, ["/first"]);
    await release();
    assert.equal((await first).status, 200);
    await release();
    assert.equal((await second).status, 200);
    // Settled attempts leave the count: the pool takes requests again.
    const after = ask(gw.port, { path: "/after" });
    await release();
    assert.equal((await after).status, 200);
    assert.deepEqual(up.seen, ["/first", "/second", "/after"]);
    // What the access log, the spans and the metrics read: Envoy's UO flag and its own error.type; no attempt was made.
    const overflowed = ended.get("/third");
    assert.equal(overflowed?.responseFlags, "UO");
    assert.equal(overflowed?.errorType, "upstream_overflow");
    assert.equal(overflowed?.status, 503);
    assert.equal(overflowed?.attempts.length, 0);
    assert.equal(ended.get("/second")?.responseFlags, "");
  } finally {
    await gw.close();
    await up.close();
  }
});
