import { test } from "node:test";
import assert from "node:assert/strict";
import type { BackendModel } from "../../src/config/model.ts";
import { compileBackend, endpointOrigin, WeightedBackendSet } from "../../src/plan/backends.ts";
import type { WeightedBackend } from "../../src/plan/types.ts";
import { gateway, plan, route, serviceBackend } from "./config-builder.ts";

const NOT_TERMINAL = { terminal: false };

function weighted(weights: number[]): WeightedBackend[] {
  return weights.map((weight, i) => ({ backend: compileBackend(serviceBackend(`b${i}`, 80)), weight, filters: NOT_TERMINAL }));
}

/** Runs `fn` with Math.random returning the given values in turn. */
function withRandom<T>(values: number[], fn: () => T): T {
  const original = Math.random;
  let i = 0;
  Math.random = () => values[i++]!;
  try {
    return fn();
  } finally {
    Math.random = original;
  }
}

test("weighted pick follows the weights within binomial tolerance", () => {
  const weights = [1, 3, 0, 6];
  const set = new WeightedBackendSet(weighted(weights));
  assert.equal(set.totalWeight, 10);
  const n = 200_000;
  const counts = new Map<WeightedBackend, number>();
  for (let i = 0; i < n; i++) {
    const e = set.pick()!;
    counts.set(e, (counts.get(e) ?? 0) + 1);
  }
  set.entries.forEach((e, i) => {
    const p = weights[i]! / 10;
    const observed = counts.get(e) ?? 0;
    if (p === 0) {
      assert.equal(observed, 0, "weight 0 is never picked");
      return;
    }
    // Five standard deviations of a binomial(n, p): a false alarm is below one in a million.
    const sd = Math.sqrt(n * p * (1 - p));
    assert.ok(Math.abs(observed - n * p) < 5 * sd, `entry ${i}: ${observed} picks, expected ${n * p} ± ${5 * sd}`);
  });
});

test("each entry owns exactly its share of [0, 1)", () => {
  const set = new WeightedBackendSet(weighted([0, 2, 0, 1, 1, 0]));
  const picks = withRandom([0, 0.499, 0.5, 0.749, 0.75, 0.999999], () =>
    Array.from({ length: 6 }, () => set.entries.indexOf(set.pick()!)),
  );
  assert.deepEqual(picks, [1, 1, 3, 3, 4, 4]);
});

test("a set with total weight 0, or no entries, picks nothing", () => {
  assert.equal(new WeightedBackendSet(weighted([0, 0])).pick(), undefined);
  assert.equal(new WeightedBackendSet(weighted([0, 0])).totalWeight, 0);
  assert.equal(new WeightedBackendSet([]).pick(), undefined);
});

test("a single backend is always picked", () => {
  const set = new WeightedBackendSet(weighted([5]));
  assert.equal(withRandom([0, 0.9999999], () => [set.pick(), set.pick()]).every((e) => e === set.entries[0]), true);
});

test("display names: Backend is namespace/name, Service adds the port", () => {
  const backend: BackendModel = {
    key: "apps/api",
    kind: "Backend",
    name: "api",
    namespace: "apps",
    endpoints: [{ host: "10.0.0.1", port: 8080, kind: "ip" }],
  };
  assert.equal(compileBackend(backend).displayName, "apps/api");
  assert.equal(compileBackend(serviceBackend("web", 8443, "shop")).displayName, "shop/web:8443");
});

test("endpoint origins bracket IPv6 literals", () => {
  assert.equal(endpointOrigin("127.0.0.1", 8080), "http://127.0.0.1:8080");
  assert.equal(endpointOrigin("api.example.com", 80), "http://api.example.com:80");
  assert.equal(endpointOrigin("::1", 9000), "http://[::1]:9000");
  assert.equal(endpointOrigin("[fe80::1]", 9000), "http://[fe80::1]:9000");
  const compiled = compileBackend({
    key: "default/v6",
    kind: "Backend",
    name: "v6",
    namespace: "default",
    endpoints: [{ host: "[::1]", port: 9000, kind: "ip" }],
  });
  assert.deepEqual(compiled.endpoints[0], { host: "::1", port: 9000, origin: "http://[::1]:9000", tls: undefined, connection: undefined, poolKey: "http://[::1]:9000", dnsName: "[::1]" });
});

test("rules get backend sets with their backendRef weights", () => {
  const p = plan({
    gateways: [gateway("gw", [{}])],
    routes: [
      route("r", {
        rules: [
          {
            backends: [
              { weight: 90, backendKey: "default/v1:80", filters: [] },
              { weight: 10, backendKey: "default/v2:80", filters: [] },
            ],
          },
        ],
      }),
    ],
    backends: [serviceBackend("v1", 80), serviceBackend("v2", 80)],
  });
  const set = p.rules[0]!.backends;
  assert.equal(set.totalWeight, 100);
  assert.deepEqual(set.entries.map((e) => [e.backend.displayName, e.weight]), [["default/v1:80", 90], ["default/v2:80", 10]]);
  assert.equal(set.entries[0]!.backend, p.backends.get("default/v1:80"), "one compiled backend per key");
});
