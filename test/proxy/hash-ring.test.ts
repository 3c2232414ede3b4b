// The hash ring TrafficPolicy consistentHash picks endpoints on: the same key always reaches
// the same endpoint, whatever order the endpoints are listed in (so gateway replicas agree);
// removing an endpoint moves only the keys it owned; keys spread over every endpoint; and the
// key parts combine as Envoy combines them (order matters, equal parts do not cancel).
import { test } from "node:test";
import assert from "node:assert/strict";
import type { BackendModel } from "../../src/config/model.ts";
import { compileBackend } from "../../src/plan/backends.ts";
import type { CompiledBackend } from "../../src/plan/types.ts";
import { combineHashes, hashString, ringPoint } from "../../src/proxy/hash-ring.ts";
import { endpointForHash } from "../../src/proxy/load-balancer.ts";

function backend(...hosts: string[]): CompiledBackend {
  const model: BackendModel = { key: "default/ring", kind: "Backend", name: "ring", namespace: "default", endpoints: hosts.map((host) => ({ host, port: 8080, kind: "ip" as const })) };
  return compileBackend(model);
}

const KEYS = Array.from({ length: 20_000 }, (_, i) => hashString(`user-${i}`));
const ownerOf = (b: CompiledBackend, hash: number, attempt = 0): string => endpointForHash(b, hash, attempt)!.host;

test("a key reaches the same endpoint every time, and in any endpoint order", () => {
  const listed = backend("10.0.0.1", "10.0.0.2", "10.0.0.3");
  const reversed = backend("10.0.0.3", "10.0.0.2", "10.0.0.1");
  for (const hash of KEYS) {
    const owner = ownerOf(listed, hash);
    assert.equal(ownerOf(listed, hash), owner);
    assert.equal(ownerOf(reversed, hash), owner);
  }
});

test("removing an endpoint moves only the keys it owned; adding one takes keys only to itself", () => {
  const four = backend("10.0.0.1", "10.0.0.2", "10.0.0.3", "10.0.0.4");
  const three = backend("10.0.0.1", "10.0.0.2", "10.0.0.3");
  let moved = 0;
  for (const hash of KEYS) {
    const before = ownerOf(four, hash);
    const after = ownerOf(three, hash);
    if (before === "10.0.0.4") moved++;
    else assert.equal(after, before, `key ${hash} moved from ${before} to ${after}`);
  }
  // The removed endpoint did own a share of the keys, so the check above covered a real change.
  assert.ok(moved > KEYS.length / 8, `the fourth endpoint owned ${moved} keys`);
});

test("keys spread over every endpoint", () => {
  const three = backend("10.0.0.1", "10.0.0.2", "10.0.0.3");
  const counts = new Map<string, number>();
  for (const hash of KEYS) counts.set(ownerOf(three, hash), (counts.get(ownerOf(three, hash)) ?? 0) + 1);
  assert.deepEqual([...counts.keys()].sort(), ["10.0.0.1", "10.0.0.2", "10.0.0.3"]);
  for (const [host, count] of counts) assert.ok(count > KEYS.length * 0.3 && count < KEYS.length * 0.37, `${host} owns ${count} of ${KEYS.length} keys`);
});

test("one endpoint, or none: no ring", () => {
  assert.equal(endpointForHash(backend("10.0.0.9"), 12345)!.host, "10.0.0.9");
  assert.equal(endpointForHash(backend(), 12345), undefined);
});

test("parts combine in order, and two equal parts do not cancel", () => {
  const a = hashString("alice");
  const b = hashString("bob");
  assert.notEqual(combineHashes(a, b), combineHashes(b, a));
  assert.notEqual(combineHashes(a, a), 0);
  // Rotated, not shifted: the top bit comes round to the bottom.
  assert.equal(combineHashes(0x80000000, 0), 1);
  assert.equal(combineHashes(0x80000001, 0), 3);
  assert.equal(combineHashes(0x00000001, 0x00000002), 0);
  assert.equal(combineHashes(0xffffffff, 0), 0xffffffff);
  // Close inputs land far apart: the finaliser spreads them.
  assert.notEqual(hashString("user-1") >>> 24, hashString("user-2") >>> 24);
});

test("attempt n goes to the nth next endpoint on the ring: every endpoint once, then round again", () => {
  const three = backend("10.0.0.1", "10.0.0.2", "10.0.0.3");
  const orders = new Set<string>();
  for (const hash of KEYS.slice(0, 200)) {
    const order = [0, 1, 2].map((attempt) => endpointForHash(three, hash, attempt)!.host);
    assert.equal(new Set(order).size, 3, order.join(", "));
    assert.equal(order[0], ownerOf(three, hash));
    assert.equal(endpointForHash(three, hash, 3)!.host, order[0]);
    orders.add(order.join(" "));
  }
  // The order depends on the key, not only on its first endpoint.
  assert.ok(orders.size > 3, `${orders.size} orders`);
});

test("a key goes to the owner of the first point at or after it, wrapping past the last", () => {
  // Hosts whose lowest and highest points have different owners, so the wrap is seen.
  const hosts = ["10.1.0.1", "10.1.0.2", "10.1.0.3", "10.1.0.4"];
  const points = hosts.flatMap((host) => Array.from({ length: 256 }, (_, i) => ({ point: ringPoint(hashString(`${host}:8080`), i), host }))).sort((x, y) => x.point - y.point || (x.host < y.host ? -1 : 1));
  assert.notEqual(points[0]!.host, points[points.length - 1]!.host);
  const ring = backend(...hosts);
  const reference = (probe: number): string => (points.find((p) => p.point >= probe) ?? points[0]!).host;
  const probes = [0, 0xffffffff, ...points.flatMap((p) => [p.point, Math.min(p.point + 1, 0xffffffff)])];
  for (const probe of probes) assert.equal(ownerOf(ring, probe), reference(probe), `probe ${probe}`);
});

test("an address listed twice, or spelt two ways, has one place: a retry never goes back to it", () => {
  const doubled = backend("10.0.0.1", "10.0.0.1", "10.0.0.2");
  const spelt = backend("2001:db8::1", "2001:DB8:0:0::1", "2001:db8::2");
  for (const hash of KEYS.slice(0, 500)) {
    const order = [0, 1].map((attempt) => ownerOf(doubled, hash, attempt));
    assert.notEqual(order[1], order[0], `key ${hash}: ${order.join(", ")}`);
    // Two distinct addresses: the third attempt is the first's again.
    assert.equal(ownerOf(doubled, hash, 2), order[0]);
    // The second spelling is the first's address: never picked apart from it.
    const v6 = [0, 1].map((attempt) => ownerOf(spelt, hash, attempt));
    assert.deepEqual([...v6].sort(), ["2001:db8::1", "2001:db8::2"]);
  }
  // The same keys land as on the list without the repeat.
  const single = backend("10.0.0.1", "10.0.0.2");
  for (const hash of KEYS.slice(0, 500)) assert.equal(ownerOf(doubled, hash), ownerOf(single, hash));
});
