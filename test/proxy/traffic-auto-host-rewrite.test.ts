// kgateway TrafficPolicy `autoHostRewrite` end to end, against real upstreams on 127.0.0.1:
// each attempt sends the chosen Backend endpoint's name as Host (its fqdn, or its IP, as
// kgateway names every static host); a URLRewrite hostname wins; a retry to the other
// endpoint sends that one's; an upgrade gets it too.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { type RawUpgradeUpstream, headLines, startRawUpgradeUpstream, upgradeHead } from "../support/raw-upgrade.ts";
import { type TestUpstream, startUpstream } from "../support/upstreams.ts";
import { type GatewayUnderTest, ask, catchAllOnYaml, hostGatewayYaml, startGateway, targetedTrafficPolicyYaml } from "./harness.ts";

let app: TestUpstream;
let raw: RawUpgradeUpstream;
let gw: GatewayUnderTest;

/** A Backend with a DNS-named endpoint (localhost) and an IP one, both the same upstream. */
const mixedBackend = (name: string, port: number): string => `---
apiVersion: gateway.tollgate.dev/v1alpha1
kind: Backend
metadata: {name: ${name}, namespace: default}
spec:
  endpoints: [{fqdn: {hostname: localhost, port: ${port}}}, {ip: {address: 127.0.0.1, port: ${port}}}]
`;
const rewrite = (name: string): string => targetedTrafficPolicyYaml(name, "HTTPRoute", name, "  autoHostRewrite: true\n");

before(async () => {
  app = await startUpstream("app");
  raw = await startRawUpgradeUpstream();
  gw = await startGateway(
    hostGatewayYaml("named", "named.example") +
      catchAllOnYaml("named", "named", "mixed") +
      rewrite("named") +
      hostGatewayYaml("plain", "plain.example") +
      catchAllOnYaml("plain", "plain", "mixed") +
      hostGatewayYaml("pinned", "pinned.example") +
      catchAllOnYaml("pinned", "pinned", "mixed", "filters: [{type: URLRewrite, urlRewrite: {hostname: api.internal}}]") +
      rewrite("pinned") +
      hostGatewayYaml("retried", "retried.example") +
      catchAllOnYaml("retried", "retried", "mixed", "retry: {codes: [503], attempts: 2}") +
      rewrite("retried") +
      hostGatewayYaml("ws", "ws.example") +
      catchAllOnYaml("ws", "ws", "rawnamed") +
      rewrite("ws") +
      mixedBackend("mixed", app.port) +
      `---\napiVersion: gateway.tollgate.dev/v1alpha1\nkind: Backend\nmetadata: {name: rawnamed, namespace: default}\nspec: {endpoints: [{fqdn: {hostname: localhost, port: ${raw.port}}}]}\n`,
  );
});

after(async () => {
  await gw.close();
  await app.close();
  await raw.close();
});

const hostSeen = (path: string): string | undefined => app.requests.find((r) => r.url === path)?.headers.host;

test("each request sends the chosen endpoint's name as Host: its DNS name, or its IP", async () => {
  const seen = new Set<string | undefined>();
  for (const n of [1, 2]) {
    assert.equal((await ask(gw.port, { path: `/n/${n}`, headers: { host: "named.example" } })).status, 200);
    seen.add(hostSeen(`/n/${n}`));
  }
  // Round robin takes each endpoint once in two requests.
  assert.deepEqual([...seen].sort(), ["127.0.0.1", "localhost"]);
});

test("without autoHostRewrite the received Host goes to every endpoint; a URLRewrite hostname wins over it", async () => {
  // One after the other on the shared Backend, so each pair meets both endpoints.
  for (const n of [1, 2]) await ask(gw.port, { path: `/p/${n}`, headers: { host: "plain.example" } });
  for (const n of [1, 2]) await ask(gw.port, { path: `/u/${n}`, headers: { host: "pinned.example" } });
  assert.deepEqual([hostSeen("/p/1"), hostSeen("/p/2")], ["plain.example", "plain.example"]);
  assert.deepEqual([hostSeen("/u/1"), hostSeen("/u/2")], ["api.internal", "api.internal"]);
});

test("a retry to the other endpoint sends that endpoint's Host", async () => {
  const reply = await ask(gw.port, { path: "/flaky/auto-host/1/503", headers: { host: "retried.example" } });
  assert.equal(reply.status, 200);
  const attempts = app.requests.filter((r) => r.url === "/flaky/auto-host/1/503").map((r) => r.headers.host);
  assert.equal(attempts.length, 2);
  assert.deepEqual([...attempts].sort(), ["127.0.0.1", "localhost"]);
});

test("an upgrade sends the endpoint's DNS name as Host", async () => {
  const lines = headLines(await upgradeHead(gw.port, "/switch", {}, "ws.example"));
  assert.ok(lines.includes("x-seen-host: localhost"), lines.join(" | "));
});
