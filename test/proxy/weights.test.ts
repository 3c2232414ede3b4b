// Weighted backend choice (statistical) and round-robin over a backend's endpoints.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { type TestUpstream, startUpstream } from "../support/upstreams.ts";
import { GATEWAY_YAML, type GatewayUnderTest, ask, backendYaml, ref, routeYaml, startGateway } from "./harness.ts";

let a: TestUpstream;
let b: TestUpstream;
let gw: GatewayUnderTest;

before(async () => {
  a = await startUpstream("a");
  b = await startUpstream("b");
  gw = await startGateway(`${GATEWAY_YAML}${backendYaml("a", a.port)}${backendYaml("b", b.port)}${backendYaml("both", a.port, b.port)}${routeYaml(`    - matches: [{path: {type: PathPrefix, value: /weighted}}]
      backendRefs: [${ref("a", 3)}, ${ref("b", 1)}]
    - matches: [{path: {type: PathPrefix, value: /rr}}]
      backendRefs: [${ref("both")}]
`)}`);
});

after(async () => {
  await gw?.close();
  await a?.close();
  await b?.close();
});

test("backends are chosen in proportion to their weights", async () => {
  const n = 400;
  let toA = 0;
  for (let i = 0; i < n; i++) {
    const r = await ask(gw.port, { path: `/weighted/${i}` });
    if ((r.json() as { upstream: string }).upstream === "a") toA++;
  }
  // Binomial(400, 0.75): mean 300, sd 8.7; ±5 sd keeps a false failure below one in a million.
  assert.ok(toA > 256 && toA < 344, `weight 3:1 sent ${toA} of ${n} to a`);
});

test("endpoints of one backend take turns", async () => {
  const order: string[] = [];
  for (let i = 0; i < 6; i++) order.push((await ask(gw.port, { path: "/rr" })).json().upstream as string);
  assert.ok(order[0] === "a" || order[0] === "b");
  for (let i = 1; i < order.length; i++) assert.notEqual(order[i], order[i - 1], order.join(","));
});
