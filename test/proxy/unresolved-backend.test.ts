// A backendRef that does not resolve (a Backend the file lacks, an unsupported kind, another
// namespace without a ReferenceGrant) keeps its route: Gateway API wants the share of
// requests that ref would take answered 500, the other refs served as usual.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { type TestUpstream, startUpstream } from "../support/upstreams.ts";
import { endedExchanges } from "../support/ended-exchanges.ts";
import { GATEWAY_YAML, type GatewayUnderTest, ask, backendYaml, ref, routeYaml, startGateway } from "./harness.ts";

let up: TestUpstream;
let gw: GatewayUnderTest;
const ended = endedExchanges();

before(async () => {
  up = await startUpstream("good");
  gw = await startGateway(
    `${GATEWAY_YAML}${backendYaml("good", up.port)}${routeYaml(`    - matches: [{path: {type: PathPrefix, value: /only-missing}}]
      backendRefs: [${ref("missing")}]
    - matches: [{path: {type: PathPrefix, value: /missing-weight-0}}]
      backendRefs: [${ref("missing", 0)}, ${ref("good", 1)}]
    - matches: [{path: {type: PathPrefix, value: /half}}]
      backendRefs: [${ref("missing", 1)}, ${ref("good", 1)}]
    - matches: [{path: {type: PathPrefix, value: /foreign}}]
      backendRefs: [{name: api, namespace: elsewhere, port: 80}]
    - matches: [{path: {type: PathPrefix, value: /bucket}}]
      backendRefs: [{group: example.com, kind: Bucket, name: b}]
`)}`,
    ended.telemetry,
  );
});

after(async () => {
  await gw?.close();
  await up?.close();
});

for (const [path, name] of [
  ["/only-missing", "default/missing"],
  ["/foreign", "elsewhere/api:80"],
  ["/bucket", "default/b"],
] as const) {
  test(`${path}: a rule whose only backendRef is unresolved answers 500 unresolved_backend, flag NC, backend ${name}`, async () => {
    const reply = await ask(gw.port, { path });
    assert.equal(reply.status, 500);
    assert.equal(reply.json()["error"], "unresolved_backend");
    const exchange = await ended.endOf(path);
    assert.equal(exchange.responseFlags, "NC");
    assert.equal(exchange.backend?.displayName, name);
    assert.equal(up.requests.filter((r) => r.url === path).length, 0);
  });
}

test("an unresolved backendRef of weight 0 takes no request", async () => {
  for (let i = 0; i < 20; i++) assert.equal((await ask(gw.port, { path: `/missing-weight-0/${i}` })).status, 200);
});

test("half the weight on an unresolved backendRef: those requests get 500, the rest reach the good backend", async () => {
  const statuses = new Map<number, number>();
  for (let i = 0; i < 200; i++) {
    const { status } = await ask(gw.port, { path: `/half/${i}` });
    statuses.set(status, (statuses.get(status) ?? 0) + 1);
  }
  assert.deepEqual([...statuses.keys()].sort(), [200, 500], "both shares are served (a one-sided run of 200 has odds 2^-199)");
  assert.equal(up.requests.filter((r) => r.url.startsWith("/half/")).length, statuses.get(200));
});
