// chooseEndpoint, unit by unit: random and unkeyed hashing draws follow Math.random (pinned
// here), hashing attempts walk on and wrap, least request reads each endpoint's load at the
// backend's own connection limit and compares distinct draws, the Maglev table is the one
// every release builds for the same addresses, and the pool keys and in-flight counts the
// balancers rest on tell their pools apart.
import { test } from "node:test";
import assert from "node:assert/strict";
import type { BackendModel, LoadBalancerModel, UpstreamConnectionModel } from "../../src/config/model.ts";
import { compileBackend, upstreamPoolKey } from "../../src/plan/backends.ts";
import type { CompiledBackend, CompiledEndpoint } from "../../src/plan/types.ts";
import { hashString, nthOwnerFrom } from "../../src/proxy/hash-ring.ts";
import { MaglevTable } from "../../src/proxy/maglev.ts";
import { chooseEndpoint, endpointForHash } from "../../src/proxy/load-balancer.ts";
import { UpstreamPools } from "../../src/proxy/pools.ts";

function backend(loadBalancer: LoadBalancerModel | undefined, hosts: readonly string[], extra: Partial<BackendModel> = {}): CompiledBackend {
  return compileBackend({ key: "default/b", kind: "Backend", name: "b", namespace: "default", endpoints: hosts.map((host) => ({ host, port: 8080, kind: "ip" as const })), ...(loadBalancer === undefined ? {} : { loadBalancer }), ...extra });
}

const KEYS = Array.from({ length: 2000 }, (_, i) => hashString(`user-${i}`));
const IDLE = { inFlight: (): number => 0 };
const THREE = ["10.0.1.1", "10.0.1.2", "10.0.1.3"];

test("random, and a hashing balancer without a key, draw with Math.random", (t) => {
  t.mock.method(Math, "random", () => 0.99);
  for (const lb of [{ kind: "Random" }, { kind: "Maglev" }, { kind: "RingHash", minimumRingSize: 1024, maximumRingSize: 8_388_608 }] as const) {
    const b = backend(lb, THREE);
    for (let i = 0; i < 3; i++) assert.equal(chooseEndpoint(b, undefined, 0, IDLE)!.host, "10.0.1.3", lb.kind);
  }
});

test("hashing attempts walk on from the key and wrap after every distinct endpoint", () => {
  const maglev = backend({ kind: "Maglev" }, THREE);
  for (const hash of KEYS.slice(0, 50)) {
    for (const attempt of [0, 1, 2]) assert.equal(chooseEndpoint(maglev, hash, attempt, IDLE), endpointForHash(maglev, hash, attempt));
    assert.notEqual(chooseEndpoint(maglev, hash, 1, IDLE), chooseEndpoint(maglev, hash, 0, IDLE));
  }
  const ring = backend(undefined, THREE);
  for (const hash of KEYS.slice(0, 50)) assert.equal(endpointForHash(ring, hash, 4), endpointForHash(ring, hash, 1));
  assert.equal(nthOwnerFrom(new Uint32Array([0, 1, 2]), 0, 1), 1);
  assert.equal(nthOwnerFrom(new Uint32Array([0, 0, 2, 1]), 3, 1), 0);
});

test("a key's Maglev slot is its hash modulo the table size; the table is the same in every release", () => {
  const maglev = backend({ kind: "Maglev" }, THREE);
  const table = new MaglevTable(maglev.endpoints);
  for (const hash of KEYS) {
    assert.equal(table.ownerOf(hash, 0), table.owners[hash % table.owners.length]);
    assert.equal(endpointForHash(maglev, hash), maglev.endpoints[table.ownerOf(hash, 0)]);
  }
  // Replicas of two releases side by side (a rolling upgrade) must place keys alike: a change
  // to the table's construction shows here first.
  assert.equal(hashString(Array.from(table.owners).join("")), 3160048636);
});

test("least request reads each endpoint's load at the backend's connection limit, and compares distinct draws", (t) => {
  const random = t.mock.method(Math, "random", () => 0);
  const limited = backend({ kind: "LeastRequest", choiceCount: 2 }, ["10.0.1.1", "10.0.1.2"], { maxConnections: 5 });
  const busyAtFive = { inFlight: (e: CompiledEndpoint, limit: number | undefined): number => (e.host === "10.0.1.1" && limit === 5 ? 3 : 0) };
  assert.equal(chooseEndpoint(limited, undefined, 0, busyAtFive)!.host, "10.0.1.2");
  // Three endpoints, two draws, both at 0: distinct draws take the first, then the first of
  // the two left (a draw with replacement would take the busy first endpoint twice).
  const draws = [0, 0];
  random.mock.mockImplementation(() => draws.shift() ?? 0);
  const onlySecondIdle = { inFlight: (e: CompiledEndpoint): number => (e.host === "10.0.1.2" ? 0 : 5) };
  // A fresh backend: its draw order starts as listed.
  assert.equal(chooseEndpoint(backend({ kind: "LeastRequest", choiceCount: 2 }, THREE), undefined, 0, onlySecondIdle)!.host, "10.0.1.2");
});

test("pool keys tell every connection setting apart; in-flight counts are per connection limit", async () => {
  const origin = "http://10.0.0.1:80";
  const settings: (UpstreamConnectionModel | undefined)[] = [undefined, { connectTimeoutMs: 1 }, { idleTimeoutMs: 1 }, { maxRequestsPerConnection: 1 }, { keepAliveTimeMs: 1000 }, { keepAliveIntervalMs: 1000 }, { keepAliveProbes: 1 }];
  assert.equal(new Set(settings.map((c) => upstreamPoolKey(origin, undefined, c))).size, settings.length);
  assert.notEqual(backend(undefined, ["10.0.0.1"], { connection: { idleTimeoutMs: 1 } }).endpoints[0]!.poolKey, backend(undefined, ["10.0.0.1"]).endpoints[0]!.poolKey);
  const pools = new UpstreamPools();
  const target = { origin: "http://127.0.0.1:9", poolKey: "http://127.0.0.1:9", tls: undefined };
  const low = pools.entry(target, 3);
  pools.entry(target, 7);
  assert.ok(low.tryTakeSlot());
  assert.equal(pools.inFlight(target, 3), 1);
  assert.equal(pools.inFlight(target, 7), 0);
  // Tunnels count by origin, whatever pool they left.
  pools.tunnelOpened(target.origin);
  assert.equal(pools.inFlight(target, 3), 2);
  assert.equal(pools.inFlight(target, 7), 1);
  pools.tunnelClosed(target.origin);
  assert.equal(pools.inFlight(target, 7), 0);
  low.releaseSlot();
  await pools.close();
});

test("a retry under random or least request takes each untried address as likely, and never a tried address listed twice", () => {
  const four = ["10.0.1.1", "10.0.1.2", "10.0.1.3", "10.0.1.4"];
  for (const lb of [{ kind: "Random" }, { kind: "LeastRequest", choiceCount: 2 }] as const) {
    const b = backend(lb, four);
    const tried = [{ endpoint: b.endpoints[0]! }];
    const counts = new Map<string, number>();
    const rounds = 6000;
    for (let i = 0; i < rounds; i++) {
      const host = chooseEndpoint(b, undefined, 1, IDLE, tried)!.host;
      counts.set(host, (counts.get(host) ?? 0) + 1);
    }
    assert.equal(counts.get("10.0.1.1"), undefined, lb.kind);
    // A third each, give or take 5 points (about 8 standard deviations).
    for (const host of four.slice(1)) assert.ok(Math.abs(counts.get(host)! / rounds - 1 / 3) < 0.05, `${lb.kind}: ${JSON.stringify([...counts])}`);
    // The first attempt is not filtered, even with attempts listed.
    assert.ok(Array.from({ length: 200 }, () => chooseEndpoint(b, undefined, 0, IDLE, tried)!.host).includes("10.0.1.1"), lb.kind);
  }
  const listedTwice = backend({ kind: "Random" }, ["10.0.1.1", "10.0.1.1", "10.0.1.2"]);
  for (let i = 0; i < 200; i++) assert.equal(chooseEndpoint(listedTwice, undefined, 1, IDLE, [{ endpoint: listedTwice.endpoints[0]! }])!.host, "10.0.1.2");
  // Every address tried: any may be taken again.
  const both = backend({ kind: "Random" }, ["10.0.1.1", "10.0.1.2"]);
  const again = new Set(Array.from({ length: 200 }, () => chooseEndpoint(both, undefined, 2, IDLE, both.endpoints.map((endpoint) => ({ endpoint })))!.host));
  assert.deepEqual([...again].sort(), ["10.0.1.1", "10.0.1.2"]);
});
