// A request keeps the plan it started with; pools survive reloads until `retain` drops them.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { engine } from "../../src/server/engine.ts";
import { type TestUpstream, startUpstream } from "../support/upstreams.ts";
import { GATEWAY_YAML, type GatewayUnderTest, ask, backendYaml, compileYaml, ref, routeYaml, startGateway } from "./harness.ts";

let up: TestUpstream;
let gw: GatewayUnderTest;

const withRoute = (): string => `${GATEWAY_YAML}${backendYaml("up", up.port)}${routeYaml(`    - matches: [{path: {type: PathPrefix, value: /slow}}]
      backendRefs: [${ref("up")}]
`)}`;

before(async () => {
  up = await startUpstream("up");
  gw = await startGateway(withRoute());
});

after(async () => {
  await gw?.close();
  await up?.close();
});

test("a plan swap mid-request leaves the running request on its plan", async () => {
  const inFlight = ask(gw.port, { path: "/slow/200" });
  await up.waitFor("/slow/200");
  const original = gw.plan;
  gw.plan = compileYaml(GATEWAY_YAML, 2);
  try {
    assert.equal((await inFlight).status, 200);
    assert.equal((await ask(gw.port, { path: "/slow/1" })).status, 404);
  } finally {
    gw.plan = original;
  }
});

test("pools are kept per origin and closed by retain when no plan uses them", async () => {
  assert.equal((await ask(gw.port, { path: "/slow/1" })).status, 200);
  const origin = `http://127.0.0.1:${up.port}`;
  assert.deepEqual([...gw.pools.openConnections()].map(([o]) => o), [origin]);
  gw.pools.retain(new Set([origin]));
  assert.deepEqual([...gw.pools.openConnections()].map(([o]) => o), [origin]);
  gw.pools.retain(new Set());
  assert.deepEqual([...gw.pools.openConnections()], []);
  assert.equal((await ask(gw.port, { path: "/slow/1" })).status, 200, "a new pool is made on demand");
});

test("a reload that changes a Backend's maxConnections closes the old limit's pool; the one in use stays", async () => {
  const origin = `http://127.0.0.1:${up.port}`;
  const withLimit = (limit: number): string => `${GATEWAY_YAML}${backendYaml("up", up.port)}  connectionPool: {maxConnections: ${limit}}
${routeYaml(`    - matches: [{path: {type: PathPrefix, value: /slow}}]
      backendRefs: [${ref("up")}]
`)}`;
  const original = gw.plan;
  try {
    const one = compileYaml(withLimit(1), 3);
    gw.plan = one;
    engine.retainPools(gw.pools, one);
    assert.equal((await ask(gw.port, { path: "/slow/1" })).status, 200);
    const first = gw.pools.entry(origin, 1);
    const two = compileYaml(withLimit(2), 4);
    gw.plan = two;
    engine.retainPools(gw.pools, two);
    assert.equal(first.pool.closed, true, "no plan uses limit 1 any more");
    assert.equal((await ask(gw.port, { path: "/slow/2" })).status, 200);
    const second = gw.pools.entry(origin, 2);
    engine.retainPools(gw.pools, two);
    assert.equal(second.pool.closed, false);
    assert.equal((await ask(gw.port, { path: "/slow/3" })).status, 200);
    assert.equal(gw.pools.entry(origin, 2), second, "the pool in use is kept across reloads");
  } finally {
    gw.plan = original;
  }
});

test("a pool opened for an old plan's request after a reload dropped its origin closes once that request is done", async () => {
  const origin = `http://127.0.0.1:${up.port}`;
  // The plan serving requests still names the origin; the last retained one does not.
  gw.pools.retain(new Set());
  const inFlight = ask(gw.port, { path: "/slow/300" });
  await up.waitFor("/slow/300");
  const orphan = gw.pools.entry(origin);
  assert.equal(orphan.active, 1, "the old plan's request runs on a pool of its own");
  assert.deepEqual([...gw.pools.openConnections()].map(([o]) => o), [origin]);
  assert.equal((await inFlight).status, 200);
  assert.equal(orphan.pool.closed, true, "idle, it closes instead of waiting for the next reload");
  assert.deepEqual([...gw.pools.openConnections()], []);
  // A reload that uses the origin again keeps the pool it then makes, idle or not.
  engine.retainPools(gw.pools, gw.plan);
  assert.equal((await ask(gw.port, { path: "/slow/1" })).status, 200);
  const adopted = gw.pools.entry(origin);
  assert.equal(adopted.pool.closed, false);
  assert.notEqual(adopted, orphan);
  assert.equal((await ask(gw.port, { path: "/slow/2" })).status, 200);
  assert.equal(gw.pools.entry(origin), adopted);
});
