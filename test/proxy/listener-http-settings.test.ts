// kgateway HTTPListenerPolicy settings of v2.1 to v2.4 end to end, against a real upstream on
// 127.0.0.1 that echoes what it received: stripHostPortMode (the Host's port, the listener's
// or any), skipXFFAppend (trusted and untrusted), acceptHttp10, defaultHostForHttp10 and
// generateRequestId, earlyRequestHeaderModifier.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import net from "node:net";
import { once } from "node:events";
import { type TestUpstream, startUpstream } from "../support/upstreams.ts";
import { GATEWAY_YAML, type GatewayUnderTest, ask, backendYaml, catchAllRouteYaml, startGateway } from "./harness.ts";
import { RecordingTelemetry, responseDetailsOf } from "./recording-telemetry.ts";
import { rawExchange } from "../support/raw-exchange.ts";

let up: TestUpstream;
let matching: GatewayUnderTest;
let anyPort: GatewayUnderTest;
let trustedSkip: GatewayUnderTest;
let untrustedSkip: GatewayUnderTest;
let http10: GatewayUnderTest;
let noHttp10: GatewayUnderTest;
let noRequestIds: GatewayUnderTest;
let early: GatewayUnderTest;
const recorder = new RecordingTelemetry();

const withPolicy = (fields: string): string => `${GATEWAY_YAML}${backendYaml("up", up.port)}${catchAllRouteYaml("up")}---
apiVersion: gateway.kgateway.dev/v1alpha1
kind: HTTPListenerPolicy
metadata: {name: settings, namespace: default}
spec:
  targetRefs: [{group: gateway.networking.k8s.io, kind: Gateway, name: edge}]
${fields}`;

before(async () => {
  up = await startUpstream("up");
  matching = await startGateway(withPolicy("  stripHostPortMode: MatchingPort\n"), recorder);
  anyPort = await startGateway(withPolicy("  stripHostPortMode: AnyPort\n"));
  trustedSkip = await startGateway(withPolicy("  xffNumTrustedHops: 1\n  skipXFFAppend: true\n"));
  untrustedSkip = await startGateway(withPolicy("  skipXFFAppend: true\n"));
  http10 = await startGateway(withPolicy("  defaultHostForHttp10: legacy.example\n"), recorder);
  noHttp10 = await startGateway(withPolicy("  acceptHttp10: false\n"), recorder);
  noRequestIds = await startGateway(withPolicy("  generateRequestId: false\n  preserveExternalRequestId: true\n"));
  // Only requests with x-env: prod are routed: the early modifier is what gives them one.
  const headerRoute = `---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: r, namespace: default}
spec:
  parentRefs: [{name: edge}]
  rules:
  - matches: [{headers: [{name: x-env, value: prod}]}]
    backendRefs: [{group: gateway.tollgate.dev, kind: Backend, name: up}]
`;
  early = await startGateway(
    `${GATEWAY_YAML}${backendYaml("up", up.port)}${headerRoute}---
apiVersion: gateway.kgateway.dev/v1alpha1
kind: HTTPListenerPolicy
metadata: {name: early, namespace: default}
spec:
  targetRefs: [{group: gateway.networking.k8s.io, kind: Gateway, name: edge}]
  earlyRequestHeaderModifier:
    set: [{name: x-env, value: prod}]
    add: [{name: x-tag, value: edge}]
    remove: [x-user]
`,
    recorder,
  );
});

after(async () => {
  for (const gw of [matching, anyPort, trustedSkip, untrustedSkip, http10, noHttp10, noRequestIds, early]) await gw?.close();
  await up?.close();
});

/** The headers the upstream received for one request. */
async function seenHeaders(gw: GatewayUnderTest, path: string, headers: Record<string, string>): Promise<Record<string, string>> {
  const reply = await ask(gw.port, { path, headers });
  assert.equal(reply.status, 200, reply.body.toString());
  return reply.json()["headers"] as Record<string, string>;
}

/** The first bytes the gateway answers a raw request with, the connection left open (an upgrade's 101). */
async function firstBytes(port: number, text: string): Promise<string> {
  const socket = net.connect(port, "127.0.0.1");
  socket.setEncoding("latin1");
  socket.write(text);
  const [chunk] = (await once(socket, "data")) as [string];
  socket.destroy();
  return chunk;
}

test("stripHostPortMode MatchingPort: the listener's own port leaves the Host, another stays; telemetry sees what the upstream got", async () => {
  assert.equal((await seenHeaders(matching, "/own-port", { host: `shop.example:${matching.port}` }))["host"], "shop.example");
  assert.equal((await seenHeaders(matching, "/other-port", { host: "shop.example:9443" }))["host"], "shop.example:9443");
  assert.equal((await seenHeaders(matching, "/ipv6", { host: `[::1]:${matching.port}` }))["host"], "[::1]");
  assert.equal((await recorder.endOf("/own-port")).req.headers.host, "shop.example");
});

test("stripHostPortMode AnyPort: every port leaves the Host, an absolute-form target's too", async () => {
  assert.equal((await seenHeaders(anyPort, "/any", { host: "shop.example:9443" }))["host"], "shop.example");
  const answer = await rawExchange(anyPort.port, "GET http://shop.example:7000/absolute HTTP/1.1\r\nHost: ignored.example\r\nConnection: close\r\n\r\n");
  assert.match(answer, /^HTTP\/1\.1 200 /);
  assert.match(answer, /"host":"shop\.example"/);
  // The target's authority never stands in for a Host an HTTP/1.1 client did not send.
  assert.match(await rawExchange(anyPort.port, "GET http://shop.example:7000/no-host HTTP/1.1\r\nConnection: close\r\n\r\n"), /^HTTP\/1\.1 400 [^]*"error":"missing_host"/);
  // An empty port is no port: the Host stays as sent (and routes as the name).
  assert.equal((await seenHeaders(anyPort, "/empty-port", { host: "shop.example:" }))["host"], "shop.example:");
  // An unclosed or empty IPv6 literal is refused, not forwarded.
  for (const host of ["[::1", "[]:80", "[::1]x"]) assert.match(await rawExchange(anyPort.port, `GET /bad HTTP/1.1\r\nHost: ${host}\r\nConnection: close\r\n\r\n`), /^HTTP\/1\.1 400 [^]*"error":"invalid_host"/, host);
});

test("skipXFFAppend: a trusted chain goes on as it came; an untrusted one is dropped and none is written", async () => {
  const trusted = await seenHeaders(trustedSkip, "/trusted", { "x-forwarded-for": "203.0.113.7, 10.0.0.2" });
  assert.equal(trusted["x-forwarded-for"], "203.0.113.7, 10.0.0.2");
  assert.equal((await seenHeaders(trustedSkip, "/trusted-none", {}))["x-forwarded-for"], undefined);
  const untrusted = await seenHeaders(untrustedSkip, "/untrusted", { "x-forwarded-for": "203.0.113.7" });
  assert.equal(untrusted["x-forwarded-for"], undefined);
  // Without it, the gateway's peer is written (the default, for comparison).
  assert.equal((await seenHeaders(matching, "/appended", { "x-forwarded-for": "203.0.113.7" }))["x-forwarded-for"], "127.0.0.1");
});

test("defaultHostForHttp10: an HTTP/1.0 request without Host is routed and forwarded with it; one with a Host keeps its own", async () => {
  const answer = await rawExchange(http10.port, "GET /old HTTP/1.0\r\n\r\n");
  assert.match(answer, /^HTTP\/1\.1 200 /);
  assert.match(answer, /"host":"legacy\.example"/);
  assert.match(await rawExchange(http10.port, "GET /old-named HTTP/1.0\r\nHost: named.example\r\n\r\n"), /"host":"named\.example"/);
  // HTTP/1.1 still needs its own.
  assert.match(await rawExchange(http10.port, "GET /new HTTP/1.1\r\nConnection: close\r\n\r\n"), /^HTTP\/1\.1 400 /);
});

test("acceptHttp10: false refuses HTTP/1.0 with 426 upgrade_required (Envoy's low_version); HTTP/1.1 passes", async () => {
  const answer = await rawExchange(noHttp10.port, "GET /refused HTTP/1.0\r\nHost: x\r\n\r\n");
  assert.match(answer, /^HTTP\/1\.1 426 /);
  assert.match(answer, /\r\nupgrade: HTTP\/1\.1\r\n/i);
  assert.match(answer, /"error":"upgrade_required"/);
  const exchange = await recorder.endOf("/refused");
  assert.equal(exchange.status, 426);
  assert.equal(responseDetailsOf(exchange), "low_version");
  assert.equal((await ask(noHttp10.port, { path: "/fine" })).status, 200);
  // Before the checks on what the request says, as Envoy's codec refuses the version first.
  assert.match(await rawExchange(noHttp10.port, "GET /frag#x HTTP/1.0\r\nHost: x\r\n\r\n"), /^HTTP\/1\.1 426 /);
  // An HTTP/1.0 upgrade offer is refused the same way.
  const upgrade = await rawExchange(noHttp10.port, "GET /refused-ws HTTP/1.0\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n");
  assert.match(upgrade, /^HTTP\/1\.1 426 /);
  assert.match(upgrade, /\r\nupgrade: HTTP\/1\.1\r\n/i);
  assert.equal(responseDetailsOf(await recorder.endOf("/refused-ws")), "low_version");
});

test("generateRequestId: false sends no X-Request-Id of the gateway's own; a client's is kept, unless it named it hop-by-hop", async () => {
  assert.equal((await seenHeaders(noRequestIds, "/no-id", {}))["x-request-id"], undefined);
  assert.equal((await seenHeaders(noRequestIds, "/client-id", { "x-request-id": "abc-123" }))["x-request-id"], "abc-123");
  assert.equal((await seenHeaders(noRequestIds, "/hop-id", { "x-request-id": "abc-123", connection: "x-request-id" }))["x-request-id"], undefined);
  // The default generates one.
  assert.match((await seenHeaders(matching, "/generated", {}))["x-request-id"] ?? "", /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
});

test("earlyRequestHeaderModifier: changed before routing, so a header match sees it; the upstream and telemetry get the changed request, upgrades too", async () => {
  const seen = await seenHeaders(early, "/early", { "x-env": "staging", "x-user": "mallory", "x-tag": "client" });
  assert.equal(seen["x-env"], "prod");
  assert.equal(seen["x-user"], undefined);
  assert.equal(seen["x-tag"], "client,edge");
  const exchange = await recorder.endOf("/early");
  assert.equal(exchange.req.headers["x-user"], undefined);
  assert.equal(exchange.req.headers["x-env"], "prod");
  const upgraded = await firstBytes(early.port, "GET /early-ws HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n");
  assert.match(upgraded, /^HTTP\/1\.1 101 /);
});

test("earlyRequestHeaderModifier: a header it sets is the gateway's, so a client naming it in Connection cannot keep it from the upstream", async () => {
  const seen = await seenHeaders(early, "/early-conn", { connection: "x-env, x-secret", "x-secret": "s" });
  assert.equal(seen["x-env"], "prod");
  assert.equal(seen["x-secret"], undefined, "what the client named in Connection is still hop-by-hop");
});
