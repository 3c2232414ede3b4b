// The queue in front of each upstream pool (PoolEntry): at most maxConnections requests are in
// undici at once, the rest wait first come first served, one given up leaves at once, and a
// pool that a reload (or shutdown) closes still serves the requests waiting for it. A real
// upstream on 127.0.0.1 answers; the waiters dispatch through the entry's own undici pool.
import assert from "node:assert/strict";
import { once } from "node:events";
import http from "node:http";
import type { AddressInfo } from "node:net";
import { test } from "node:test";
import type { Dispatcher } from "undici";
import { type LocalAwareHandler, type PoolEntry, type PoolWaiter, type UpstreamLocal, UpstreamPools } from "../../src/proxy/pools.ts";
import { throwOnDispatchOf } from "../support/throw-on-dispatch.ts";
import { until } from "../support/until.ts";
import { GATEWAY_YAML, ask, backendYaml, catchAllRouteYaml, startGateway } from "./harness.ts";

/** One request through the entry's gate: it dispatches when granted a slot and releases it when undici lets go. */
class GatedRequest implements PoolWaiter, LocalAwareHandler, Dispatcher.DispatchHandler {
  upstreamLocal: UpstreamLocal | undefined = undefined;
  holdsSlot = false;
  nextWaiter: PoolWaiter | undefined = undefined;
  previousWaiter: PoolWaiter | undefined = undefined;
  queued = false;
  readonly entry: PoolEntry;
  readonly path: string;
  readonly status: Promise<number>;
  #resolve!: (status: number) => void;
  #code = 0;

  constructor(entry: PoolEntry, path: string) {
    this.entry = entry;
    this.path = path;
    this.status = new Promise((resolve) => (this.#resolve = resolve));
  }

  start(): void {
    if (this.entry.takeSlot(this)) this.slotGranted();
  }

  slotGranted(): void {
    this.holdsSlot = true;
    this.entry.pool.dispatch({ path: this.path, method: "GET" }, this);
  }

  /** undici let the request go: its slot passes on, once. */
  release(): void {
    if (!this.holdsSlot) return;
    this.holdsSlot = false;
    this.entry.releaseSlot();
  }

  slotFailed(): void {
    this.release();
    this.#resolve(-1);
  }

  onRequestStart(): void {}

  onResponseData(): void {}

  onResponseStart(_controller: Dispatcher.DispatchController, statusCode: number): void {
    this.#code = statusCode;
  }

  onResponseEnd(): void {
    this.release();
    this.#resolve(this.#code);
  }

  onResponseError(): void {
    this.release();
    this.#resolve(-1);
  }
}

interface HeldUpstream {
  readonly origin: string;
  readonly seen: string[];
  /** Ends the oldest held response. */
  release(): Promise<void>;
  close(): Promise<void>;
}

/** Records every path and holds each response until the test releases it. */
async function heldUpstream(): Promise<HeldUpstream> {
  const seen: string[] = [];
  const held: http.ServerResponse[] = [];
  const server = http.createServer((req, res) => {
    seen.push(req.url ?? "");
    held.push(res);
  });
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  return {
    origin: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    seen,
    async release() {
      await until(() => held.length > 0);
      held.shift()!.end("ok");
    },
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** Runs a test against a held upstream and a fresh set of pools, and closes both after it. */
async function withHeldPool(run: (up: HeldUpstream, pools: UpstreamPools) => Promise<void>): Promise<void> {
  const up = await heldUpstream();
  const pools = new UpstreamPools();
  try {
    await run(up, pools);
  } finally {
    await pools.destroy();
    await up.close();
  }
}

test("waiters get the slot in arrival order; one given up leaves the queue and is never sent", () =>
  withHeldPool(async (up, pools) => {
  const entry = pools.entry(up.origin, 1);
  const [a, b, c, d] = ["/a", "/b", "/c", "/d"].map((path) => new GatedRequest(entry, path));
  for (const r of [a!, b!, c!, d!]) r.start();
  assert.deepEqual([entry.active, entry.waiting, entry.inFlight], [1, 3, 4]);
  entry.leaveQueue(c!);
  assert.deepEqual([entry.active, entry.waiting], [1, 2]);
  entry.leaveQueue(c!);
  assert.equal(entry.waiting, 2, "leaving twice counts once");
  for (let i = 0; i < 3; i++) await up.release();
  assert.deepEqual(await Promise.all([a!.status, b!.status, d!.status]), [200, 200, 200]);
  assert.deepEqual(up.seen, ["/a", "/b", "/d"]);
  assert.deepEqual([entry.active, entry.waiting, entry.inFlight], [0, 0, 0]);
  assert.equal(entry.pool.stats.connected, 1, "one connection carried them all");
  }));

test("a pool dropped by a reload serves the requests still waiting for it, then closes", () =>
  withHeldPool(async (up, pools) => {
  const entry = pools.entry(up.origin, 1);
  const first = new GatedRequest(entry, "/first");
  const waiting = new GatedRequest(entry, "/waiting");
  first.start();
  waiting.start();
  assert.equal(entry.waiting, 1);
  pools.retain(new Set());
  assert.equal(entry.pool.closed, false, "not closed while a request waits for it");
  await up.release();
  assert.equal(await first.status, 200);
  await up.release();
  assert.equal(await waiting.status, 200);
  assert.deepEqual(up.seen, ["/first", "/waiting"]);
  await until(() => entry.pool.closed);
  assert.notEqual(pools.entry(up.origin, 1), entry, "the next request gets a new pool");
  }));

test("a request undici refuses to send (a target it cannot write) leaves the connection slot, and its Client, usable", () =>
  withHeldPool(async (up, pools) => {
  const entry = pools.entry(up.origin, 1);
  const refused = new GatedRequest(entry, "*");
  refused.start();
  assert.equal(await refused.status, -1);
  assert.deepEqual([entry.active, entry.waiting], [0, 0]);
  // undici's Pool took the refusal for a busy Client that would drain later, and it never
  // does: with one connection allowed, every later request waited in undici for good.
  for (const path of ["/after/1", "/after/2"]) {
    const after = new GatedRequest(entry, path);
    after.start();
    await up.release();
    assert.equal(await after.status, 200, path);
  }
  assert.deepEqual(up.seen, ["/after/1", "/after/2"]);
  }));

test("a waiter that throws when its turn comes gives its slot back, and does not strand the ones behind it", () =>
  withHeldPool(async (up, pools) => {
  const entry = pools.entry(up.origin, 1);
  const first = new GatedRequest(entry, "/first");
  first.start();
  const failedWith: Error[] = [];
  let holds = false;
  // Takes the slot and throws before its request reaches undici, as a handler bug would.
  const broken: PoolWaiter = {
    nextWaiter: undefined,
    previousWaiter: undefined,
    queued: false,
    slotGranted() {
      holds = true;
      throw new Error("a handler bug");
    },
    slotFailed(error) {
      failedWith.push(error);
      if (holds) entry.releaseSlot();
      holds = false;
    },
  };
  assert.equal(entry.takeSlot(broken), false);
  const behind = new GatedRequest(entry, "/behind");
  behind.start();
  assert.equal(entry.waiting, 2);
  // The end of /first grants both in turn; the broken one's error is reported, and the end of
  // /first that released the slot goes on.
  const warned = once(process, "warning") as Promise<[Error & { detail?: string }]>;
  first.release();
  const [warning] = await warned;
  assert.equal(warning.name, "TollgateWarning");
  assert.match(warning.message, /an upstream request failed to start: Error: a handler bug/);
  assert.match(warning.detail ?? "", /^Error: a handler bug\n\s+at /, "the stack goes with it");
  assert.deepEqual(
    failedWith.map((e) => e.message),
    ["a handler bug"],
  );
  assert.equal(entry.waiting, 0);
  await up.release();
  await up.release();
  assert.equal(await behind.status, 200);
  assert.deepEqual(up.seen, ["/first", "/behind"]);
  assert.deepEqual([entry.active, entry.waiting], [0, 0], "the broken waiter's slot came back");
  // With one connection, a leaked slot would queue this one for good.
  const later = new GatedRequest(entry, "/later");
  later.start();
  assert.equal(entry.waiting, 0);
  await up.release();
  assert.equal(await later.status, 200);
  }));

test("a waiter whose clean-up throws as well is reported twice and still does not strand the queue", () =>
  withHeldPool(async (up, pools) => {
  const entry = pools.entry(up.origin, 1);
  const first = new GatedRequest(entry, "/first");
  first.start();
  const broken: PoolWaiter = {
    nextWaiter: undefined,
    previousWaiter: undefined,
    queued: false,
    slotGranted() {
      entry.releaseSlot();
      throw new Error("a handler bug");
    },
    slotFailed() {
      throw new Error("a second bug");
    },
  };
  entry.takeSlot(broken);
  const behind = new GatedRequest(entry, "/behind");
  behind.start();
  const warnings: Error[] = [];
  const collect = (w: Error) => warnings.push(w);
  process.on("warning", collect);
  try {
    first.release();
    await until(() => warnings.length === 2);
  } finally {
    process.off("warning", collect);
  }
  assert.match(warnings[0]!.message, /failed to start: Error: a handler bug/);
  assert.match(warnings[1]!.message, /failed to give back its connection slot: Error: a second bug/);
  await up.release();
  await up.release();
  assert.equal(await behind.status, 200);
  assert.deepEqual([entry.active, entry.waiting], [0, 0]);
  }));

test("a proxied request whose hand-off throws, at once or from the queue, is answered 502 and gives its connection slot back", { timeout: 30_000 }, async () => {
  const up = await heldUpstream();
  const port = Number(new URL(up.origin).port);
  const gw = await startGateway(`${GATEWAY_YAML}${backendYaml("up", port)}  connectionPool: {maxConnections: 1}
${catchAllRouteYaml("up")}`);
  const entry = gw.pools.entry(up.origin, 1);
  const restore = throwOnDispatchOf(entry, "/broken", "/broken-at-once");
  const warnings: Error[] = [];
  const collect = (w: Error) => warnings.push(w);
  process.on("warning", collect);
  try {
    // With the connection free, the request is handed over at once: the same failure.
    const atOnce = await ask(gw.port, { path: "/broken-at-once" });
    assert.equal(atOnce.status, 502);
    assert.equal(atOnce.json().error, "upstream_error");
    assert.deepEqual([entry.active, entry.waiting], [0, 0], "the slot came back");
    const first = ask(gw.port, { path: "/first" });
    await until(() => up.seen.length === 1);
    const broken = ask(gw.port, { path: "/broken" });
    await until(() => entry.waiting === 1);
    const behind = ask(gw.port, { path: "/behind" });
    await until(() => entry.waiting === 2);
    await up.release();
    assert.equal((await first).status, 200);
    const failed = await broken;
    assert.equal(failed.status, 502);
    assert.equal(failed.json().error, "upstream_error");
    await until(() => warnings.length === 2);
    for (const w of warnings) assert.match(w.message, /an upstream request failed to start: Error: a handler bug/);
    await up.release();
    assert.equal((await behind).status, 200);
    // One connection allowed: a slot kept by the broken request would queue this one for good.
    const later = ask(gw.port, { path: "/later" });
    await up.release();
    assert.equal((await later).status, 200);
    assert.deepEqual(up.seen, ["/first", "/behind", "/later"]);
    assert.deepEqual([entry.active, entry.waiting], [0, 0]);
  } finally {
    process.off("warning", collect);
    restore();
    await gw.close();
    await up.close();
  }
});
