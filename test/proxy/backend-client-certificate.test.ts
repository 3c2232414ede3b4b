// A Gateway's client certificate for backends (`spec.tls.backend.clientCertificateRef`, and
// the experimental `spec.backendTLS`) end to end: real TLS upstreams on 127.0.0.1 that demand
// a client certificate signed by their own CA, reached through three Gateways sharing one
// port and one route. Each Gateway's requests present its own certificate (or none) on
// connections of their own; a plain backend is unaffected; a refused certificate is a 502
// with why; gRPC ExternalAuth checks present it too; a reload with a renewed certificate
// never reuses connections made with the old one.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import https from "node:https";
import { type TLSSocket, type SecureVersion } from "node:tls";
import { WebSocket, WebSocketServer } from "ws";
import { until } from "../support/until.ts";
import { once } from "node:events";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { type GrpcAuthzService, startGrpcAuthzService } from "../support/grpc-authz-service.ts";
import { type OpensslServer, startOpensslServer } from "../support/openssl-server.ts";
import { type PemPair, type TestPki, createTestPki, issueClientCertificate, issueServerCertificate, tlsSecretYaml } from "../support/test-certs.ts";
import { type TestUpstream, startUpstream } from "../support/upstreams.ts";
import { engine } from "../../src/server/engine.ts";
import { CONFIG_PORT, type GatewayUnderTest, ask, backendTlsPolicyYaml, backendYaml, caConfigMapYaml, compileYaml, ref, startGateway } from "./harness.ts";
import { RecordingTelemetry } from "./recording-telemetry.ts";

const API_NAME = "api.internal.test";

/** An HTTPS upstream that requires a client certificate from `clientCa` and answers with the subject CN it got. */
class MutualTlsUpstream {
  readonly seen: { cn: string; servername: string | false | null; path: string }[] = [];
  handshakes = 0;
  readonly server: https.Server;

  constructor(pair: PemPair, clientCa: Buffer, maxVersion: SecureVersion = "TLSv1.3") {
    this.server = https.createServer({ cert: pair.cert, key: pair.key, ca: clientCa, requestCert: true, rejectUnauthorized: true, maxVersion }, (req, res) => {
      const socket = req.socket as TLSSocket;
      const cn = String(socket.getPeerCertificate().subject?.CN ?? "");
      this.seen.push({ cn, servername: socket.servername, path: req.url ?? "" });
      res.writeHead(200, { "content-type": "text/plain" });
      res.end(`hello ${cn}`);
    });
    this.server.on("secureConnection", () => this.handshakes++);
    new WebSocketServer({ server: this.server }).on("connection", (socket, req) => socket.send(`hello ${String((req.socket as TLSSocket).getPeerCertificate().subject?.CN ?? "")}`));
  }

  async listen(): Promise<number> {
    this.server.listen(0, "127.0.0.1");
    await once(this.server, "listening");
    return (this.server.address() as AddressInfo).port;
  }
}

let serverPki: TestPki;
let clientPki: TestPki;
let strangerPki: TestPki;
let renewed: PemPair;
let api: MutualTlsUpstream;
let legacy: MutualTlsUpstream;
let strict: OpensslServer;
let strict12: OpensslServer;
let plain: TestUpstream;
let authz: GrpcAuthzService;
let gw: GatewayUnderTest;
let configYaml: (gatewayClient: PemPair) => string;
const telemetry = new RecordingTelemetry();

const gateway = (name: string, hostname: string, clientTls: string): string => `---
apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: {name: ${name}, namespace: default}
spec:
  gatewayClassName: tollgate
  listeners: [{name: web, protocol: HTTP, port: ${CONFIG_PORT}, hostname: ${hostname}}]
${clientTls}`;

const policy = (backend: string): string => backendTlsPolicyYaml(backend, "server-ca", API_NAME);

before(async () => {
  [serverPki, clientPki, strangerPki] = await Promise.all([createTestPki("tollgate-pki-server-"), createTestPki("tollgate-pki-client-"), createTestPki("tollgate-pki-stranger-")]);
  const apiPair = await issueServerCertificate(serverPki, "api", [API_NAME]);
  const authzPair = await issueServerCertificate(serverPki, "authz", ["authz.internal.test"]);
  renewed = await issueClientCertificate(clientPki, "renewed", "tollgate-gateway-renewed.test");
  api = new MutualTlsUpstream(apiPair, clientPki.ca);
  // Before TLS 1.3 the server refuses a client certificate inside the handshake, not after it.
  legacy = new MutualTlsUpstream(apiPair, clientPki.ca, "TLSv1.2");
  const [apiPort, legacyPort] = await Promise.all([api.listen(), legacy.listen()]);
  const strictFiles = { cert: join(serverPki.dir, "api.crt"), key: join(serverPki.dir, "api.key"), clientCa: clientPki.files.ca };
  [strict, strict12] = await Promise.all([startOpensslServer(strictFiles), startOpensslServer(strictFiles, { tls12: true })]);
  plain = await startUpstream("plain");
  authz = await startGrpcAuthzService({ ...authzPair, clientCa: clientPki.ca });

  configYaml = (gatewayClient: PemPair): string =>
    gateway("trusted", "trusted.example", "  tls:\n    backend:\n      clientCertificateRef: {kind: Secret, name: gateway-client}\n") +
    // The experimental channel's spelling before Gateway API v1.4.
    gateway("stranger", "stranger.example", "  backendTLS:\n    clientCertificateRef: {name: stranger-client}\n") +
    gateway("anonymous", "anonymous.example", "") +
    tlsSecretYaml("gateway-client", gatewayClient) +
    tlsSecretYaml("stranger-client", strangerPki.client) +
    caConfigMapYaml("server-ca", serverPki.ca) +
    backendYaml("api", apiPort) +
    backendYaml("legacy", legacyPort) +
    backendYaml("strict", strict.port) +
    backendYaml("strict12", strict12.port) +
    backendYaml("plain", plain.port) +
    backendYaml("authz", authz.port) +
    policy("api") +
    policy("legacy") +
    policy("strict") +
    policy("strict12") +
    backendTlsPolicyYaml("authz", "server-ca", "authz.internal.test") +
    `---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: shared, namespace: default}
spec:
  parentRefs: [{name: trusted}, {name: stranger}, {name: anonymous}]
  rules:
    - matches: [{path: {type: PathPrefix, value: /api}}]
      backendRefs: [${ref("api")}]
    - matches: [{path: {type: PathPrefix, value: /legacy}}]
      backendRefs: [${ref("legacy")}]
    - matches: [{path: {type: PathPrefix, value: /strict13}}]
      filters: [{type: URLRewrite, urlRewrite: {path: {type: ReplaceFullPath, replaceFullPath: /}}}]
      backendRefs: [${ref("strict")}]
    - matches: [{path: {type: PathPrefix, value: /strict12}}]
      filters: [{type: URLRewrite, urlRewrite: {path: {type: ReplaceFullPath, replaceFullPath: /}}}]
      backendRefs: [${ref("strict12")}]
    - matches: [{path: {type: PathPrefix, value: /plain}}]
      backendRefs: [${ref("plain")}]
    - matches: [{path: {type: PathPrefix, value: /mirrored}}]
      filters: [{type: RequestMirror, requestMirror: {backendRef: ${ref("api")}}}]
      backendRefs: [${ref("plain")}]
    - matches: [{path: {type: PathPrefix, value: /http-authed}}]
      filters:
      - type: ExternalAuth
        externalAuth: {protocol: HTTP, backendRef: ${ref("api")}, http: {path: /check}}
      backendRefs: [${ref("plain")}]
    - matches: [{path: {type: PathPrefix, value: /socket}}]
      backendRefs: [${ref("api")}]
    - matches: [{path: {type: PathPrefix, value: /authed}}]
      filters:
      - type: ExternalAuth
        externalAuth: {protocol: GRPC, backendRef: ${ref("authz")}}
      backendRefs: [${ref("plain")}]
`;
  gw = await startGateway(configYaml(clientPki.client), telemetry);
});

after(async () => {
  await gw?.close();
  api?.server.close();
  legacy?.server.close();
  await Promise.all([plain?.close(), authz?.close(), strict?.close(), strict12?.close(), serverPki?.remove(), clientPki?.remove(), strangerPki?.remove()]);
});

test("each Gateway presents its own client certificate to a TLS backend, on connections of its own", async () => {
  const handshakesBefore = api.handshakes;
  for (let i = 0; i < 3; i++) {
    const reply = await ask(gw.port, { path: `/api/${i}`, headers: { host: "trusted.example" } });
    assert.equal(reply.status, 200);
    assert.equal(reply.body.toString(), `hello ${clientPki.names.client}`);
  }
  assert.deepEqual(
    api.seen.map((s) => [s.cn, s.servername, s.path]),
    [0, 1, 2].map((i) => [clientPki.names.client, API_NAME, `/api/${i}`]),
  );
  assert.equal(api.handshakes - handshakesBefore, 1, "the three requests shared one connection");

  const keys = gw.plan.upstreams.filter((b) => b.key === "default/api").map((b) => b.endpoints[0]!.poolKey);
  assert.equal(new Set(keys).size, 3, "one pool key per client certificate and one without");
  const plainBackends = gw.plan.upstreams.filter((b) => b.key === "default/plain");
  assert.equal(plainBackends.length, 1, "a backend without TLS is compiled once, whatever the Gateway");
  assert.deepEqual(
    [...engine.openConnections(gw.pools, gw.plan)].filter(([name]) => name === "default/api"),
    [["default/api", 1]],
    "connections of every variant count under the backend's one name",
  );
});

test("a Gateway whose certificate the upstream refuses, or that has none, gets 502 upstream_tls_failed and the upstream serves nothing", async () => {
  const servedBefore = api.seen.length + legacy.seen.length;
  const cases = [
    { host: "stranger.example", path: "/strict13/stranger", why: "TLS 1.3: the alert for an untrusted certificate comes after the request was written" },
    { host: "anonymous.example", path: "/api/anonymous", why: "TLS 1.3: no certificate at all" },
    { host: "stranger.example", path: "/strict12/stranger", why: "TLS 1.2: refused inside the handshake" },
    { host: "anonymous.example", path: "/legacy/anonymous", why: "TLS 1.2: no certificate at all" },
  ];
  for (const c of cases) {
    const reply = await ask(gw.port, { path: c.path, headers: { host: c.host } });
    assert.equal(reply.status, 502, c.why);
    assert.equal(reply.json()["error"], "upstream_tls_failed", c.why);
    const exchange = await telemetry.endOf(c.path);
    assert.equal(exchange.errorType, "tls_handshake_failed", c.why);
    assert.equal(exchange.responseFlags, "UF", c.why);
  }
  assert.equal(api.seen.length + legacy.seen.length, servedBefore);
  const reply = await ask(gw.port, { path: "/legacy/trusted", headers: { host: "trusted.example" } });
  assert.equal(reply.status, 200, "the TLS 1.2 upstream takes the trusted Gateway's certificate");
  assert.equal(legacy.seen.at(-1)?.cn, clientPki.names.client);
  for (const path of ["/strict13/trusted", "/strict12/trusted"]) {
    const status = await ask(gw.port, { path, headers: { host: "trusted.example" } });
    assert.equal(status.status, 200, `${path}: OpenSSL's own check accepts the trusted Gateway's certificate`);
    assert.match(status.body.toString(), /s_server/, path);
  }
});

test("a backend without a BackendTLSPolicy is reached in plain HTTP from every Gateway", async () => {
  for (const host of ["trusted.example", "stranger.example", "anonymous.example"]) {
    const reply = await ask(gw.port, { path: "/plain/x", headers: { host } });
    assert.equal(reply.status, 200, host);
  }
});

test("mirror copies, HTTP ExternalAuth checks and WebSocket upgrades present the Gateway's client certificate too", async () => {
  const mirrored = await ask(gw.port, { path: "/mirrored/m1", headers: { host: "trusted.example" } });
  assert.equal(mirrored.status, 200);
  await until(() => api.seen.some((s) => s.path === "/mirrored/m1"));
  assert.equal(api.seen.find((s) => s.path === "/mirrored/m1")!.cn, clientPki.names.client);

  const checked = await ask(gw.port, { path: "/http-authed/h1", headers: { host: "trusted.example" } });
  assert.equal(checked.status, 200, "the check reached the upstream, which allowed it");
  const check = api.seen.find((s) => s.path.startsWith("/check"));
  assert.equal(check?.cn, clientPki.names.client);
  const refused = await ask(gw.port, { path: "/http-authed/h2", headers: { host: "anonymous.example" } });
  assert.equal(refused.status, 403, "a check that cannot be made denies");

  const ws = new WebSocket(`ws://127.0.0.1:${gw.port}/socket`, { headers: { host: "trusted.example" } });
  try {
    const [message] = (await once(ws, "message")) as [Buffer];
    assert.equal(message.toString(), `hello ${clientPki.names.client}`);
  } finally {
    ws.close();
  }
});

test("a gRPC ExternalAuth check over TLS presents the Gateway's client certificate", async () => {
  const allowed = await ask(gw.port, { path: "/authed/a", headers: { host: "trusted.example" } });
  assert.equal(allowed.status, 200);
  assert.equal(authz.seen.at(-1)?.peerCommonName, clientPki.names.client);
  const checksBefore = authz.seen.length;
  const refused = await ask(gw.port, { path: "/authed/b", headers: { host: "anonymous.example" } });
  assert.equal(refused.status, 403, "a check that cannot be made denies (failureModeAllow is off)");
  assert.equal(authz.seen.length, checksBefore, "the service answered no check without a certificate");
});

// Last: it reloads the shared gateway.
test("a reload with a renewed client certificate never reuses a connection made with the old one", async () => {
  const trustedBackend = (plan: typeof gw.plan) => plan.upstreams.find((b) => b.key === "default/api" && b.model.tls?.clientCertificate?.secret === "default/gateway-client")!;
  const before = trustedBackend(gw.plan);
  assert.equal((await ask(gw.port, { path: "/api/warm", headers: { host: "trusted.example" } })).status, 200);
  const oldPool = gw.pools.entry(before.endpoints[0]!, before.model.maxConnections).pool;

  const reloaded = compileYaml(configYaml(renewed), 2);
  gw.plan = reloaded;
  engine.retainPools(gw.pools, reloaded);
  assert.notEqual(trustedBackend(reloaded).endpoints[0]!.poolKey, before.endpoints[0]!.poolKey);
  assert.equal(oldPool.closed, true, "the pool of the old certificate is closed");
  const reply = await ask(gw.port, { path: "/api/renewed", headers: { host: "trusted.example" } });
  assert.equal(reply.status, 200);
  assert.equal(api.seen.at(-1)?.cn, "tollgate-gateway-renewed.test");
  const inUse = gw.pools.entry(trustedBackend(reloaded).endpoints[0]!, undefined);
  const unchanged = compileYaml(configYaml(renewed), 3);
  gw.plan = unchanged;
  engine.retainPools(gw.pools, unchanged);
  assert.equal(trustedBackend(unchanged).endpoints[0]!.poolKey, trustedBackend(reloaded).endpoints[0]!.poolKey, "the same certificate gives the same pool key");
  assert.equal(inUse.pool.closed, false, "a reload that changed nothing keeps the pools of every Gateway's variant");
  assert.equal(gw.pools.entry(trustedBackend(unchanged).endpoints[0]!, undefined), inUse);
});
