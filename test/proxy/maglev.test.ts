// The hashing balancers a BackendConfigPolicy picks: Maglev's table gives each address the same
// share of slots to within one, agrees whatever order the endpoints are listed in, moves few keys
// beyond a removed address's own, and walks retries over distinct endpoints; ringHash sizes the
// ring as Envoy divides minimum and maximum ring sizes among the addresses.
import { test } from "node:test";
import assert from "node:assert/strict";
import type { BackendModel, LoadBalancerModel } from "../../src/config/model.ts";
import { compileBackend } from "../../src/plan/backends.ts";
import type { CompiledBackend } from "../../src/plan/types.ts";
import { HashRing, hashString, pointsPerAddress } from "../../src/proxy/hash-ring.ts";
import { MAGLEV_TABLE_SIZE, MaglevTable } from "../../src/proxy/maglev.ts";
import { endpointForHash } from "../../src/proxy/load-balancer.ts";

function backend(loadBalancer: LoadBalancerModel | undefined, ...hosts: string[]): CompiledBackend {
  const model: BackendModel = { key: "default/b", kind: "Backend", name: "b", namespace: "default", endpoints: hosts.map((host) => ({ host, port: 8080, kind: "ip" as const })), ...(loadBalancer === undefined ? {} : { loadBalancer }) };
  return compileBackend(model);
}

const MAGLEV: LoadBalancerModel = { kind: "Maglev" };
const KEYS = Array.from({ length: 20_000 }, (_, i) => hashString(`user-${i}`));

test("Maglev: every address owns floor or ceil of table/addresses slots; a listed-twice address counts once", () => {
  for (const count of [2, 3, 7, 10]) {
    const hosts = Array.from({ length: count }, (_, i) => `10.0.1.${i + 1}`);
    const table = new MaglevTable(backend(MAGLEV, ...hosts).endpoints);
    const slots = new Map<number, number>();
    for (const owner of table.owners) slots.set(owner, (slots.get(owner) ?? 0) + 1);
    assert.equal(slots.size, count);
    for (const n of slots.values()) assert.ok(n === Math.floor(MAGLEV_TABLE_SIZE / count) || n === Math.ceil(MAGLEV_TABLE_SIZE / count), `${count} addresses: ${n} slots`);
  }
  const doubled = new MaglevTable(backend(MAGLEV, "10.0.1.1", "10.0.1.2", "10.0.1.1").endpoints);
  assert.equal(doubled.distinct, 2);
  assert.deepEqual(new Set(doubled.owners), new Set([0, 1]));
});

test("Maglev: the same key reaches the same endpoint in any endpoint order, and removing one moves few other keys", () => {
  const listed = backend(MAGLEV, "10.0.1.1", "10.0.1.2", "10.0.1.3", "10.0.1.4");
  const reversed = backend(MAGLEV, "10.0.1.4", "10.0.1.3", "10.0.1.2", "10.0.1.1");
  const fewer = backend(MAGLEV, "10.0.1.1", "10.0.1.2", "10.0.1.4");
  let movedOthers = 0;
  for (const hash of KEYS) {
    const owner = endpointForHash(listed, hash)!.host;
    assert.equal(endpointForHash(reversed, hash)!.host, owner);
    const after = endpointForHash(fewer, hash)!.host;
    if (owner === "10.0.1.3") assert.notEqual(after, "10.0.1.3");
    else if (after !== owner) movedOthers++;
  }
  // The paper bounds this loosely; with a 65537-slot table well under 1 % of the others move.
  assert.ok(movedOthers < KEYS.length * 0.01, `${movedOthers} keys of other endpoints moved`);
});

test("Maglev: retries walk to distinct endpoints, each once before any repeats", () => {
  const three = backend(MAGLEV, "10.0.1.1", "10.0.1.2", "10.0.1.3");
  for (const hash of KEYS.slice(0, 500)) {
    const order = [0, 1, 2].map((attempt) => endpointForHash(three, hash, attempt)!.host);
    assert.equal(new Set(order).size, 3);
    assert.equal(endpointForHash(three, hash, 3)!.host, order[0]);
  }
});

test("ringHash: points per address split the minimum ring size, rounded up, within the maximum", () => {
  assert.equal(pointsPerAddress(3, 1024, 8_388_608), 342);
  assert.equal(pointsPerAddress(4, 1024, 8_388_608), 256);
  assert.equal(pointsPerAddress(3, 1024, 900), 300);
  assert.equal(pointsPerAddress(2000, 1024, 1500), 1);
  const ring = new HashRing(backend({ kind: "RingHash", minimumRingSize: 64, maximumRingSize: 4096 }, "10.0.1.1", "10.0.1.2").endpoints, (n) => pointsPerAddress(n, 64, 4096));
  assert.equal(ring.points.length, 64);
  // The ringHash balancer builds the same ring for its backend: a key's owner agrees with it.
  const sized = backend({ kind: "RingHash", minimumRingSize: 64, maximumRingSize: 4096 }, "10.0.1.1", "10.0.1.2");
  for (const hash of KEYS.slice(0, 2000)) assert.equal(endpointForHash(sized, hash)!, sized.endpoints[ring.ownerOf(hash, 0)]);
  // Without a policy the ring keeps its 256 points per address.
  const plain = new HashRing(backend(undefined, "10.0.1.1", "10.0.1.2").endpoints);
  assert.equal(plain.points.length, 512);
});

test("every endpoint gets keys under each hashing balancer", () => {
  for (const lb of [MAGLEV, { kind: "RingHash", minimumRingSize: 1024, maximumRingSize: 8_388_608 } as const]) {
    const b = backend(lb, "10.0.1.1", "10.0.1.2", "10.0.1.3");
    const counts = new Map<string, number>();
    for (const hash of KEYS) counts.set(endpointForHash(b, hash)!.host, (counts.get(endpointForHash(b, hash)!.host) ?? 0) + 1);
    assert.equal(counts.size, 3, lb.kind);
    for (const [host, n] of counts) assert.ok(n > KEYS.length / 6, `${lb.kind}: ${host} got ${n} of ${KEYS.length}`);
  }
});

test("each balancer builds its own table: Maglev's for maglev, a sized ring for ringHash, 256 points otherwise", () => {
  const hosts = ["10.0.1.1", "10.0.1.2", "10.0.1.3"];
  const maglev = backend(MAGLEV, ...hosts);
  const table = new MaglevTable(maglev.endpoints);
  const ring = new HashRing(backend(undefined, ...hosts).endpoints);
  let differsFromRing = 0;
  for (const hash of KEYS) {
    const owner = endpointForHash(maglev, hash)!;
    assert.equal(owner, maglev.endpoints[table.ownerOf(hash, 0)]);
    if (owner.host !== hosts[ring.ownerOf(hash, 0)]) differsFromRing++;
  }
  // The two place keys independently: about two thirds of the keys land elsewhere.
  assert.ok(differsFromRing > KEYS.length / 3, `${differsFromRing} keys differ`);
  const plain = backend(undefined, ...hosts);
  for (const hash of KEYS.slice(0, 2000)) assert.equal(endpointForHash(plain, hash)!, plain.endpoints[ring.ownerOf(hash, 0)]);
});
