// The heads the gateway writes itself on the upgrade path (a relayed 101, a relayed non-101
// answer, its own DirectResponse) carry header bytes above 0x7f as the one byte each that
// other paths send: undici reads an upstream's header bytes as latin1, and a config value
// such as `é` is one byte through node. A raw upstream and raw client see the bytes.
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { type RawUpgradeUpstream, startRawUpgradeUpstream, upgradeHead as upgradeHeadAt } from "../support/raw-upgrade.ts";
import { GATEWAY_YAML, type GatewayUnderTest, backendYaml, ref, routeYaml, startGateway } from "./harness.ts";

let upstream: RawUpgradeUpstream;
let gw: GatewayUnderTest;

before(async () => {
  upstream = await startRawUpgradeUpstream();
  gw = await startGateway(`${GATEWAY_YAML}${backendYaml("raw", upstream.port)}${routeYaml(`    - matches: [{path: {type: PathPrefix, value: /direct}}]
      filters:
        - type: ExtensionRef
          extensionRef: {group: gateway.kgateway.dev, kind: DirectResponse, name: closed}
        - type: ResponseHeaderModifier
          responseHeaderModifier: {set: [{name: X-Name, value: "café"}]}
    - backendRefs: [${ref("raw")}]
`)}---
apiVersion: gateway.kgateway.dev/v1alpha1
kind: DirectResponse
metadata: {name: closed, namespace: default}
spec:
  status: 403
  body: "closed"
`);
});

after(async () => {
  await gw?.close();
  await upstream?.close();
});

const upgradeHead = (path: string): Promise<Buffer> => upgradeHeadAt(gw.port, path);

const ONE_BYTE = Buffer.from("x-name: caf\xe9\r\n", "latin1");

for (const [path, status] of [
  ["/switch", 101],
  ["/refuse", 403],
  ["/direct", 403],
] as const) {
  test(`an upgrade answered ${status} (${path}) carries a header byte above 0x7f as that one byte`, async () => {
    const head = await upgradeHead(path);
    assert.equal(head.toString("latin1").slice(9, 12), String(status));
    assert.ok(Buffer.from(head.toString("latin1").toLowerCase(), "latin1").includes(ONE_BYTE), `the head holds 0xE9 once: ${head.toString("hex")}`);
    assert.ok(!head.includes(Buffer.from("caf\u00e9", "utf8")), "not the UTF-8 pair C3 A9");
  });
}

test("an upstream reason phrase that is not plain ASCII is replaced by the standard one, so it cannot add a header", async () => {
  const head = (await upgradeHead("/reason")).toString("latin1");
  assert.ok(head.startsWith("HTTP/1.1 404 Not Found\r\n"), head);
  assert.ok(!/x-evil/i.test(head), `no injected header: ${JSON.stringify(head)}`);
});
