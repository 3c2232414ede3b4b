// BackendTLSPolicy end to end: the gateway reaches real TLS upstreams on 127.0.0.1 (an HTTP/2
// server that also speaks HTTP/1.1, a WebSocket server, a gRPC authorization service) and
// verifies them with a test CA. What the upstream learns (SNI, Host, the protocol), that
// keep-alive survives changing Host headers, each way verification can fail and what the
// client and the telemetry are told, and that gRPC ExternalAuth checks go over TLS too.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import http2 from "node:http2";
import https from "node:https";
import type { TLSSocket } from "node:tls";
import { once } from "node:events";
import net, { type AddressInfo } from "node:net";
import { WebSocket, WebSocketServer } from "ws";
import { type GrpcAuthzService, startGrpcAuthzService } from "../support/grpc-authz-service.ts";
import { type PemPair, type TestPki, createTestPki, issueServerCertificate } from "../support/test-certs.ts";
import { type TestUpstream, startUpstream } from "../support/upstreams.ts";
import { until } from "../support/until.ts";
import { engine } from "../../src/server/engine.ts";
import { GATEWAY_YAML, type GatewayUnderTest, ask, backendYaml, compileYaml, ref, routeYaml, startGateway } from "./harness.ts";
import { RecordingTelemetry } from "./recording-telemetry.ts";

const API_NAME = "api.internal.test";
const API_SPIFFE_ID = "spiffe://cluster.local/ns/default/sa/api";

interface Seen {
  readonly servername: string | false | null;
  readonly host: string | undefined;
  readonly httpVersion: string;
  readonly alpn: string | false | null;
  readonly path: string;
}

/** A TLS upstream that would take HTTP/2 if offered, and answers HTTP/1.1 with what it saw. */
class TlsUpstream {
  readonly seen: Seen[] = [];
  handshakes = 0;
  /** TCP connections accepted, whether or not their handshake completed. */
  connections = 0;
  readonly server: http2.Http2SecureServer;

  constructor(pair: PemPair) {
    this.server = http2.createSecureServer({ cert: pair.cert, key: pair.key, allowHTTP1: true }, (req, res) => {
      const socket = req.socket as TLSSocket;
      this.seen.push({ servername: socket.servername, host: req.headers.host ?? req.headers[":authority"], httpVersion: req.httpVersion, alpn: socket.alpnProtocol, path: req.url });
      res.writeHead(200, { "content-type": "text/plain" });
      res.end("over tls");
    });
    this.server.on("secureConnection", () => this.handshakes++);
    this.server.on("connection", () => this.connections++);
  }

  async listen(): Promise<number> {
    this.server.listen(0, "127.0.0.1");
    await once(this.server, "listening");
    return (this.server.address() as AddressInfo).port;
  }
}

let pki: TestPki;
let otherPki: TestPki;
let api: TlsUpstream;
let rogue: TlsUpstream;
let cnOnly: TlsUpstream;
let dropper: net.Server;
let droppedHandshakes = 0;
let plain: TestUpstream;
let wsServer: https.Server;
let authz: GrpcAuthzService;
let gw: GatewayUnderTest;
let gatewayYaml: (ca: Buffer) => string;
let apiPortNumber: number;
const telemetry = new RecordingTelemetry();

const caConfigMap = (name: string, ca: Buffer): string => `---
apiVersion: v1
kind: ConfigMap
metadata: {name: ${name}, namespace: default}
binaryData: {ca.crt: ${ca.toString("base64")}}
`;

const policy = (name: string, target: string, validation: string): string => `---
apiVersion: gateway.networking.k8s.io/v1
kind: BackendTLSPolicy
metadata: {name: ${name}, namespace: default}
spec:
  targetRefs: [${target}]
  validation: {caCertificateRefs: [{group: '', kind: ConfigMap, name: test-ca}], ${validation}}
`;
const backendTarget = (name: string): string => `{group: gateway.tollgate.dev, kind: Backend, name: ${name}}`;
const route = (prefix: string, backend: string, filters = ""): string => `    - matches: [{path: {type: PathPrefix, value: ${prefix}}}]
${filters}      backendRefs: [${backend}]
`;
const grpcAuth = (backend: string): string => `      filters:
      - type: ExternalAuth
        externalAuth: {protocol: GRPC, backendRef: ${ref(backend)}}
`;

before(async () => {
  pki = await createTestPki();
  otherPki = await createTestPki("tollgate-pki-other-");
  const apiPair = await issueServerCertificate(pki, "api", [API_NAME], { uris: [API_SPIFFE_ID] });
  const rogueInOtherPki = await issueServerCertificate(otherPki, "rogue", [API_NAME]);
  const authzPair = await issueServerCertificate(pki, "authz", ["authz.internal.test"]);
  api = new TlsUpstream(apiPair);
  rogue = new TlsUpstream(rogueInOtherPki);
  // Names the policy's hostname only in its subject CN, which a SAN check must not read.
  const cnOnlyPair = await issueServerCertificate(pki, "cn-only", [], { commonName: API_NAME, uris: [API_SPIFFE_ID] });
  cnOnly = new TlsUpstream(cnOnlyPair);
  const [apiPort, roguePort, cnOnlyPort] = await Promise.all([api.listen(), rogue.listen(), cnOnly.listen()]);
  // Takes the connection, reads the ClientHello and hangs up.
  dropper = net.createServer((socket) => socket.once("data", () => (droppedHandshakes++, socket.destroy())));
  dropper.listen(0, "127.0.0.1");
  await once(dropper, "listening");
  plain = await startUpstream("plain");
  wsServer = https.createServer({ cert: apiPair.cert, key: apiPair.key });
  const sockets = new WebSocketServer({ server: wsServer });
  sockets.on("connection", (socket, req) => socket.send(`hello over ${(req.socket as TLSSocket).servername}`));
  wsServer.listen(0, "127.0.0.1");
  await once(wsServer, "listening");
  authz = await startGrpcAuthzService(authzPair);

  apiPortNumber = apiPort;
  gatewayYaml = (ca: Buffer): string =>
    GATEWAY_YAML +
      backendYaml("api", apiPort) +
      backendYaml("mismatch", apiPort) +
      backendYaml("spiffe", apiPort) +
      backendYaml("wrong-uri", apiPort) +
      backendYaml("rogue", roguePort) +
      backendYaml("cn-only", cnOnlyPort) +
      backendYaml("cn-only-san", cnOnlyPort) +
      backendYaml("dropper", (dropper.address() as AddressInfo).port) +
      backendYaml("no-ca", apiPort) +
      backendYaml("plain", plain.port) +
      backendYaml("sockets", (wsServer.address() as AddressInfo).port) +
      backendYaml("authz", authz.port) +
      backendYaml("authz-misnamed", authz.port) +
      backendYaml("authz-wrong-uri", authz.port) +
      caConfigMap("test-ca", ca) +
      // The Service name resolves to the Backend of that name, and so does the policy's target.
      policy("api", "{group: '', kind: Service, name: api}", `hostname: ${API_NAME}`) +
      policy("mismatch", backendTarget("mismatch"), "hostname: other.internal.test") +
      policy("spiffe", backendTarget("spiffe"), `hostname: ${API_NAME}, subjectAltNames: [{type: URI, uri: '${API_SPIFFE_ID}'}]`) +
      policy("wrong-uri", backendTarget("wrong-uri"), `hostname: ${API_NAME}, subjectAltNames: [{type: URI, uri: 'spiffe://cluster.local/ns/default/sa/other'}]`) +
      policy("rogue", backendTarget("rogue"), `hostname: ${API_NAME}`) +
      policy("cn-only", backendTarget("cn-only"), `hostname: ${API_NAME}`) +
      policy("cn-only-san", backendTarget("cn-only-san"), `hostname: ${API_NAME}, subjectAltNames: [{type: Hostname, hostname: ${API_NAME}}]`) +
      policy("dropper", backendTarget("dropper"), `hostname: ${API_NAME}`) +
      policy("no-ca", backendTarget("no-ca"), `hostname: ${API_NAME}`).replace("name: test-ca}", "name: absent-ca}") +
      policy("plain", backendTarget("plain"), `hostname: ${API_NAME}`) +
      policy("sockets", backendTarget("sockets"), `hostname: ${API_NAME}`) +
      policy("authz", backendTarget("authz"), "hostname: authz.internal.test") +
      policy("authz-misnamed", backendTarget("authz-misnamed"), "hostname: other.internal.test") +
      policy("authz-wrong-uri", backendTarget("authz-wrong-uri"), "hostname: authz.internal.test, subjectAltNames: [{type: URI, uri: 'spiffe://cluster.local/ns/default/sa/other'}]") +
      routeYaml(
        route("/api", `{name: api, port: ${apiPort}}`) +
          route("/mismatch", ref("mismatch")) +
          route("/spiffe", ref("spiffe")) +
          route("/wrong-uri", ref("wrong-uri")) +
          route("/rogue", ref("rogue")) +
          route("/cn-only-san", ref("cn-only-san")) +
          route("/cn-only", ref("cn-only")) +
          route("/no-ca", ref("no-ca")) +
          `    - matches: [{path: {type: PathPrefix, value: /dropper}}]\n      retry: {attempts: 2, backoff: 1ms}\n      backendRefs: [${ref("dropper")}]\n` +
          route("/plain", ref("plain")) +
          route("/socket", ref("sockets")) +
          route("/authed", `{name: api, port: ${apiPort}}`, grpcAuth("authz")) +
          route("/misauthed", `{name: api, port: ${apiPort}}`, grpcAuth("authz-misnamed")) +
          route("/unproven", `{name: api, port: ${apiPort}}`, grpcAuth("authz-wrong-uri")) +
          route("/http-authed", `{name: api, port: ${apiPort}}`, `      filters:\n      - type: ExternalAuth\n        externalAuth: {protocol: HTTP, backendRef: {name: api, port: ${apiPort}}, http: {path: /check}}\n`) +
          route("/mirrored", ref("plain"), `      filters:\n      - type: RequestMirror\n        requestMirror: {backendRef: {name: api, port: ${apiPort}}}\n`),
      );
  gw = await startGateway(gatewayYaml(pki.ca), telemetry);
});

after(async () => {
  await gw?.close();
  api?.server.close();
  rogue?.server.close();
  cnOnly?.server.close();
  dropper?.close();
  wsServer?.close();
  await Promise.all([plain?.close(), authz?.close(), pki?.remove(), otherPki?.remove()]);
});

test("requests reach the upstream over TLS with the policy's SNI name and the client's Host, on HTTP/1.1, on one connection", async () => {
  const handshakesBefore = api.handshakes;
  for (const host of ["shop.example", "admin.example", "shop.example"]) {
    const reply = await ask(gw.port, { path: "/api/items", headers: { host } });
    assert.equal(reply.status, 200);
    assert.equal(reply.body.toString(), "over tls");
  }
  const seen = api.seen.filter((s) => s.path === "/api/items");
  assert.deepEqual(
    seen.map((s) => [s.servername, s.host, s.httpVersion, s.alpn]),
    [
      [API_NAME, "shop.example", "1.1", "http/1.1"],
      [API_NAME, "admin.example", "1.1", "http/1.1"],
      [API_NAME, "shop.example", "1.1", "http/1.1"],
    ],
    "SNI is the policy's hostname whatever the Host, and the gateway never offers h2",
  );
  assert.equal(api.handshakes - handshakesBefore, 1, "one kept-alive TLS connection served all three, though their Host headers differ");
  const exchange = await telemetry.endOf("/api/items");
  const attempt = exchange.attempts[0]!;
  assert.equal(attempt.url, `https://127.0.0.1:${(api.server.address() as AddressInfo).port}/api/items`);
  assert.equal(attempt.errorType, undefined);
});

test("a URI subjectAltName the certificate carries is accepted in place of the hostname", async () => {
  const reply = await ask(gw.port, { path: "/spiffe" });
  assert.equal(reply.status, 200);
  assert.equal(api.seen.at(-1)?.servername, API_NAME);
});

test("an upstream that fails verification is never sent the request: 502 upstream_tls_failed, UF, and why in error.type", async () => {
  const cases = [
    { path: "/rogue", errorType: "tls_certificate_invalid", why: "signed by a CA the policy does not trust" },
    { path: "/mismatch", errorType: "tls_certificate_invalid", why: "the certificate does not name the policy's hostname" },
    { path: "/wrong-uri", errorType: "tls_certificate_invalid", why: "the certificate lacks the policy's URI subjectAltName" },
    { path: "/plain", errorType: "tls_handshake_failed", why: "the upstream speaks plain HTTP" },
    { path: "/cn-only", errorType: "tls_certificate_invalid", why: "the certificate names the hostname in its CN only, not a subjectAltName" },
    { path: "/cn-only-san", errorType: "tls_certificate_invalid", why: "a Hostname subjectAltName is not matched against the CN" },
    { path: "/no-ca", errorType: "tls_certificate_invalid", why: "the policy's CA ConfigMap is not in the file: it fails closed" },
  ];
  const apiRequestsBefore = api.seen.length;
  const apiConnectionsBefore = api.connections;
  for (const c of cases) {
    const reply = await ask(gw.port, { path: c.path });
    assert.equal(reply.status, 502, c.why);
    assert.equal(reply.json()["error"], "upstream_tls_failed", c.why);
    const exchange = await telemetry.endOf(c.path);
    assert.equal(exchange.errorType, c.errorType, c.why);
    assert.equal(exchange.responseFlags, "UF", c.why);
    assert.ok(exchange.attempts.length >= 1, c.why);
    for (const attempt of exchange.attempts) assert.equal(attempt.errorType, c.errorType, c.why);
  }
  assert.equal(rogue.seen.length, 0, "the untrusted upstream got no request");
  assert.equal(cnOnly.seen.length, 0, "nor the one naming the host in its CN only");
  assert.equal(api.seen.length, apiRequestsBefore, "nor did the one with the wrong names");
  assert.equal(api.connections - apiConnectionsBefore, 2, "the two wrong-name cases connected; the policy without its CA never dialled");
  assert.deepEqual(plain.requests, [], "nor the plain-HTTP one");
});

test("an upstream that hangs up during the handshake is a TLS handshake failure, retried like a refused connection, even with a body", async () => {
  const before = droppedHandshakes;
  const reply = await ask(gw.port, { method: "PUT", path: "/dropper", body: "payload" });
  assert.equal(reply.status, 502);
  assert.equal(reply.json()["error"], "upstream_tls_failed");
  const exchange = await telemetry.endOf("/dropper");
  assert.equal(exchange.errorType, "tls_handshake_failed");
  assert.equal(exchange.responseFlags, "UF,URX");
  assert.deepEqual(exchange.attempts.map((a) => a.errorType), ["tls_handshake_failed", "tls_handshake_failed", "tls_handshake_failed"]);
  assert.equal(droppedHandshakes - before, 3);
});

test("a WebSocket upgrade goes over TLS to the upstream", async () => {
  const ws = new WebSocket(`ws://127.0.0.1:${gw.port}/socket`);
  try {
    const [message] = (await once(ws, "message")) as [Buffer];
    assert.equal(message.toString(), `hello over ${API_NAME}`);
  } finally {
    ws.terminate();
  }
});

test("gRPC ExternalAuth checks go over TLS, verified the same way", async () => {
  const allowed = await ask(gw.port, { path: "/authed", headers: { authorization: "Bearer good" } });
  assert.equal(allowed.status, 200);
  assert.equal(authz.seen.length, 1, "the service checked the request");
  assert.equal(authz.seen[0]!.request.attributes.request.http.path, "/authed");

  const misnamed = await ask(gw.port, { path: "/misauthed", headers: { authorization: "Bearer good" } });
  assert.equal(misnamed.status, 403);
  assert.equal(misnamed.json()["error"], "ext_authz_error");
  assert.equal(authz.seen.length, 1, "a service whose certificate does not name the policy's hostname is not asked");

  const unproven = await ask(gw.port, { path: "/unproven", headers: { authorization: "Bearer good" } });
  assert.equal(unproven.status, 403);
  assert.equal(unproven.json()["error"], "ext_authz_error");
  assert.equal(authz.seen.length, 1, "nor one whose certificate lacks the policy's subjectAltName");
});

test("HTTP ExternalAuth checks and RequestMirror copies reach a TLS backend over TLS", async () => {
  // The TLS upstream is the authorization service (it allows with 200) and the mirror.
  const authed = await ask(gw.port, { path: "/http-authed/x" });
  assert.equal(authed.status, 200);
  const check = api.seen.find((s) => s.path === "/check/http-authed/x");
  assert.ok(check, "the check reached the TLS authorization service");
  assert.equal(check.servername, API_NAME);

  await ask(gw.port, { path: "/mirrored/y" });
  await until(() => api.seen.some((s) => s.path === "/mirrored/y"));
  assert.equal(api.seen.find((s) => s.path === "/mirrored/y")?.servername, API_NAME);
});

// Last: it reloads the shared gateway.
test("a reload that changes the trusted CA never reuses a connection verified under the old one; the old pool closes", async () => {
  const apiBackend = gw.plan.backends.get("default/api")!;
  const trustedKey = apiBackend.endpoints[0]!.poolKey;
  assert.match(trustedKey, new RegExp(`^https://127\\.0\\.0\\.1:${apiPortNumber}#[0-9a-f]{16}$`));
  assert.equal((await ask(gw.port, { path: "/api/warm" })).status, 200);
  const trustedPool = gw.pools.entry(apiBackend.endpoints[0]!, apiBackend.model.maxConnections).pool;
  const connected = trustedPool.stats.connected;
  assert.ok(connected >= 1);
  assert.deepEqual(
    [...engine.openConnections(gw.pools, gw.plan)].filter(([name]) => name === "default/api"),
    [["default/api", connected]],
    "open connections are counted by pool key",
  );

  const distrusting = compileYaml(gatewayYaml(otherPki.ca), 2);
  gw.plan = distrusting;
  engine.retainPools(gw.pools, distrusting);
  assert.equal(trustedPool.closed, true, "the pool of the old CA is closed");
  assert.notEqual(distrusting.backends.get("default/api")!.endpoints[0]!.poolKey, trustedKey);
  const refused = await ask(gw.port, { path: "/api/after-reload" });
  assert.equal(refused.status, 502, "the warm connection from before is not reused");
  assert.equal((await telemetry.endOf("/api/after-reload")).errorType, "tls_certificate_invalid");

  const trusting = compileYaml(gatewayYaml(pki.ca), 3);
  gw.plan = trusting;
  engine.retainPools(gw.pools, trusting);
  assert.equal((await ask(gw.port, { path: "/api/trusted-again" })).status, 200);
  const endpoint = trusting.backends.get("default/api")!.endpoints[0]!;
  const inUse = gw.pools.entry(endpoint, undefined);
  engine.retainPools(gw.pools, trusting);
  assert.equal(inUse.pool.closed, false, "a reload keeps the pool its plan still uses");
  assert.equal(gw.pools.entry(endpoint, undefined), inUse);
});
