// ResponseHeaderModifier (the rule's, then the backendRef's) applies to what the upstream
// answers an upgrade with, the 101 as well as a refusal, as it does to any proxied response;
// the 101's own Upgrade and Connection stay the upstream's. Telemetry sees the headers the
// client got.
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { type RawUpgradeUpstream, headLines, startRawUpgradeUpstream, upgradeHead } from "../support/raw-upgrade.ts";
import { endedExchanges } from "../support/ended-exchanges.ts";
import { GATEWAY_YAML, type GatewayUnderTest, backendYaml, routeYaml, startGateway } from "./harness.ts";

let upstream: RawUpgradeUpstream;
let gw: GatewayUnderTest;
const ended = endedExchanges();

before(async () => {
  upstream = await startRawUpgradeUpstream();
  gw = await startGateway(
    `${GATEWAY_YAML}${backendYaml("raw", upstream.port)}${routeYaml(`    - filters:
        - type: ResponseHeaderModifier
          responseHeaderModifier:
            set: [{name: X-Rule, value: rule}]
            add: [{name: X-Name, value: added}]
            remove: [Upgrade, Connection]
      backendRefs:
        - group: gateway.tollgate.dev
          kind: Backend
          name: raw
          filters:
            - type: ResponseHeaderModifier
              responseHeaderModifier: {set: [{name: X-Backend, value: backend}]}
`)}`,
    ended.telemetry,
  );
});

after(async () => {
  await gw?.close();
  await upstream?.close();
});

test("a relayed 101 carries the rule's and the backendRef's response headers and keeps its own Upgrade and Connection", async () => {
  const lines = headLines(await upgradeHead(gw.port, "/switch"));
  assert.ok(lines.includes("x-rule: rule"), lines.join(" | "));
  assert.ok(lines.includes("x-backend: backend"), lines.join(" | "));
  assert.ok(lines.includes("x-name: caf\xe9,added"), lines.join(" | "));
  assert.ok(lines.includes("upgrade: websocket"), `the modifier's remove cannot drop the switch: ${lines.join(" | ")}`);
  assert.ok(lines.includes("connection: upgrade"), lines.join(" | "));
  const exchange = await ended.endOf("/switch");
  assert.equal(exchange.status, 101);
  assert.equal(exchange.responseHeaders?.["x-rule"], "rule");
  assert.equal(exchange.responseHeaders?.["x-backend"], "backend");
});

test("a relayed refusal of an upgrade carries the same response headers and closes", async () => {
  const lines = headLines(await upgradeHead(gw.port, "/refuse"));
  assert.ok(lines.includes("x-rule: rule"), lines.join(" | "));
  assert.ok(lines.includes("x-backend: backend"), lines.join(" | "));
  assert.ok(lines.includes("x-name: caf\xe9,added"), lines.join(" | "));
  assert.deepEqual(lines.filter((l) => l.startsWith("connection:")), ["connection: close"]);
  assert.ok(!lines.some((l) => l.startsWith("upgrade:")), lines.join(" | "));
  const exchange = await ended.endOf("/refuse");
  assert.equal(exchange.status, 403);
  assert.equal(exchange.responseHeaders?.["x-backend"], "backend");
});
