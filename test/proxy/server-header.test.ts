// HTTPListenerPolicy serverHeaderTransformation (Envoy's server_header_transformation), end to
// end against a real upstream on 127.0.0.1 that names itself on some answers: for each mode,
// the Server header of proxied answers (with and without the upstream's, through a route's
// header modifier), of the gateway's own answers, of node-level refusals and of upgrades.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import http from "node:http";
import { once } from "node:events";
import net from "node:net";
import type { AddressInfo } from "node:net";
import type { Duplex } from "node:stream";
import { rawExchange } from "../support/raw-exchange.ts";
import { responseHeadersOf } from "../../src/telemetry/response-headers.ts";
import { RecordingTelemetry } from "./recording-telemetry.ts";
import { closedPort } from "../support/upstreams.ts";
import { GATEWAY_YAML, type GatewayUnderTest, ask, backendYaml, compileYaml, ref, routeYaml, startGateway, targetedTrafficPolicyYaml } from "./harness.ts";

let upstream: http.Server;
let upstreamPort: number;
let authz: http.Server;
let authzPort: number;
/** A port nobody listens on: the `down` backend's. */
let downPort: number;
let gw: GatewayUnderTest;

before(async () => {
  upstream = http.createServer((req, res) => {
    if (req.url!.startsWith("/app/wait")) {
      waits++;
      req.resume();
      req.on("end", () => res.end("ok"));
      return;
    }
    const named = req.url!.startsWith("/app/named");
    res.writeHead(200, named ? { server: "upstream/1.0", "content-length": "2" } : { "content-length": "2" });
    res.end("ok");
  });
  upstream.on("upgrade", (req: http.IncomingMessage, socket: Duplex) => {
    socket.end(`HTTP/1.1 101 Switching Protocols\r\nUpgrade: ${req.headers.upgrade}\r\nConnection: Upgrade\r\nServer: upstream/1.0\r\n\r\n`);
  });
  upstream.listen(0, "127.0.0.1");
  await once(upstream, "listening");
  upstreamPort = (upstream.address() as AddressInfo).port;
  // An authorization service that allows every request and names itself in its answer.
  authz = http.createServer((req, res) => {
    req.resume();
    req.on("end", () => res.writeHead(200, { server: "authsvc/2.0", "content-length": "0" }).end());
  });
  authz.listen(0, "127.0.0.1");
  await once(authz, "listening");
  authzPort = (authz.address() as AddressInfo).port;
  downPort = await closedPort();
  gw = await startGateway(configFor(undefined), recorder);
});

after(async () => {
  await gw?.close();
  upstream?.close();
  authz?.close();
});

const recorder = new RecordingTelemetry();
/** The answers whose telemetry the Overwrite test reads, by path. */
const STATUS_OF: Readonly<Record<string, number>> = {
  "/app/named-seen": 200,
  "/nowhere-seen": 404,
  "/nowhere-upgrade-seen": 404,
  "/authorized/upgrade-seen": 502,
  "/redirect/upgrade-seen": 302,
  "/app/named-upgrade-seen": 101,
};

/** Requests to /app/wait the upstream has seen (it answers them when their body ends). */
let waits = 0;

/** The test Gateway, its route (`/app`, and `/app/modified` with a modifier setting Server; redirects with and without one), and a policy with the health check and `mode` when given. */
function configFor(mode: string | undefined, serverName?: string): string {
  // Every plan has the health check; the mode is set only when given.
  const policy = `---
apiVersion: gateway.kgateway.dev/v1alpha1
kind: HTTPListenerPolicy
metadata: {name: server, namespace: default}
spec:
  targetRefs: [{group: gateway.networking.k8s.io, kind: Gateway, name: edge}]
  healthCheck: {path: /healthz}
${mode === undefined ? "" : `  serverHeaderTransformation: ${mode}\n`}${serverName === undefined ? "" : `  serverName: ${serverName}\n`}`;
  return (
    GATEWAY_YAML +
    backendYaml("app", upstreamPort) +
    routeYaml(`    - matches: [{path: {type: PathPrefix, value: /app/modified}}]
      filters: [{type: ResponseHeaderModifier, responseHeaderModifier: {set: [{name: server, value: route-set}]}}]
      backendRefs: [${ref("app")}]
    - matches: [{path: {type: PathPrefix, value: /redirect-modified}}]
      filters:
      - {type: RequestRedirect, requestRedirect: {hostname: elsewhere.example, statusCode: 302}}
      - {type: ResponseHeaderModifier, responseHeaderModifier: {set: [{name: server, value: route-set}]}}
    - matches: [{path: {type: PathPrefix, value: /redirect}}]
      filters: [{type: RequestRedirect, requestRedirect: {hostname: elsewhere.example, statusCode: 302}}]
    - name: authorized
      matches: [{path: {type: PathPrefix, value: /authorized}}]
      backendRefs: [${ref("down")}]
    - matches: [{path: {type: PathPrefix, value: /app}}]
      backendRefs: [${ref("app")}]
`) +
    backendYaml("authz", authzPort) +
    backendYaml("down", downPort) +
    `---
apiVersion: gateway.kgateway.dev/v1alpha1
kind: GatewayExtension
metadata: {name: authz, namespace: default}
spec:
  type: ExtAuth
  extAuth:
    httpService:
      backendRef: ${ref("authz")}
      authorizationResponse: {headersToClientOnSuccess: [server]}
` +
    targetedTrafficPolicyYaml("authorized", "HTTPRoute", "r", "  extAuth: {extensionRef: {name: authz}}\n").replace("name: r}]", "name: r, sectionName: authorized}]") +
    policy
  );
}

/** The Server value of each kind of answer under the current plan; undefined: none. */
async function serverHeaders(): Promise<Record<string, string | undefined>> {
  const serverOf = (head: string): string | undefined => /\r\nserver: ([^\r]*)\r\n/i.exec(head)?.[1];
  const refused = (answer: string, status: number): string => {
    assert.match(answer, new RegExp(`^HTTP/1\\.1 ${status} `));
    return answer;
  };
  const header = async (path: string): Promise<string | undefined> => {
    const reply = await ask(gw.port, { path });
    const value = reply.headers["server"];
    return Array.isArray(value) ? value.join("|") : value;
  };
  const upgrade = (path: string): string => `GET ${path} HTTP/1.1\r\nHost: gw.example\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n`;
  return {
    upstreamNamed: await header("/app/named"),
    upstreamSilent: await header("/app/silent"),
    routeModifier: await header("/app/modified"),
    gatewayError: await header("/nowhere"),
    redirect: await header("/redirect"),
    redirectModified: await header("/redirect-modified"),
    parserRefusal: serverOf(await rawExchange(gw.port, "NOT-HTTP\r\n\r\n")),
    headersTooLarge: serverOf(refused(await rawExchange(gw.port, `GET /app/x HTTP/1.1\r\nHost: gw.example\r\nx-big: ${"a".repeat(70 * 1024)}\r\n\r\n`), 431)),
    http2Preface: serverOf(refused(await rawExchange(gw.port, "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"), 505)),
    healthCheck: await header("/healthz"),
    upgraded: serverOf(await rawExchange(gw.port, upgrade("/app/named"))),
    upgradeRefused: serverOf(await rawExchange(gw.port, upgrade("/nowhere"))),
    // The service allowed the request and asked for its Server on the answer; the backend is down (502).
    authorizedError: await header("/authorized"),
    authorizedUpgradeError: serverOf(await rawExchange(gw.port, upgrade("/authorized"))),
  };
}

test("unset and PassThrough: the upstream's Server as sent, none on the gateway's own answers", async (t) => {
  const plan = gw.plan;
  t.after(() => (gw.plan = plan));
  const passThrough = {
    upstreamNamed: "upstream/1.0",
    upstreamSilent: undefined,
    routeModifier: "route-set",
    gatewayError: undefined,
    redirect: undefined,
    redirectModified: "route-set",
    parserRefusal: undefined,
    headersTooLarge: undefined,
    http2Preface: undefined,
    healthCheck: undefined,
    upgraded: "upstream/1.0",
    upgradeRefused: undefined,
    authorizedError: "authsvc/2.0",
    authorizedUpgradeError: "authsvc/2.0",
  };
  assert.deepEqual(await serverHeaders(), passThrough);
  gw.plan = compileYaml(configFor("PassThrough"), 2);
  assert.deepEqual(await serverHeaders(), passThrough);
});

test("AppendIfAbsent: the gateway's name wherever the answer has none", async (t) => {
  const plan = gw.plan;
  t.after(() => (gw.plan = plan));
  gw.plan = compileYaml(configFor("AppendIfAbsent"), 2);
  assert.deepEqual(await serverHeaders(), {
    upstreamNamed: "upstream/1.0",
    upstreamSilent: "tollgate",
    routeModifier: "route-set",
    gatewayError: "tollgate",
    redirect: "tollgate",
    redirectModified: "route-set",
    parserRefusal: "tollgate",
    headersTooLarge: "tollgate",
    http2Preface: "tollgate",
    healthCheck: "tollgate",
    upgraded: "upstream/1.0",
    upgradeRefused: "tollgate",
    authorizedError: "authsvc/2.0",
    authorizedUpgradeError: "authsvc/2.0",
  });
});

test("Overwrite: the gateway's name on every answer, over the upstream's and a route's modifier", async (t) => {
  const plan = gw.plan;
  t.after(() => (gw.plan = plan));
  gw.plan = compileYaml(configFor("Overwrite"), 2);
  const all = await serverHeaders();
  assert.deepEqual(all, Object.fromEntries(Object.keys(all).map((k) => [k, "tollgate"])));
  // What telemetry reads (%RESP(SERVER)%, header capture, CEL) is what the client got.
  const upgrade = (path: string): string => `GET ${path} HTTP/1.1\r\nHost: gw.example\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n`;
  await ask(gw.port, { path: "/app/named-seen" });
  await ask(gw.port, { path: "/nowhere-seen" });
  for (const path of ["/nowhere-upgrade-seen", "/authorized/upgrade-seen", "/redirect/upgrade-seen", "/app/named-upgrade-seen"]) await rawExchange(gw.port, upgrade(path));
  for (const path of ["/app/named-seen", "/nowhere-seen", "/nowhere-upgrade-seen", "/authorized/upgrade-seen", "/redirect/upgrade-seen", "/app/named-upgrade-seen"]) {
    const exchange = await recorder.endOf(path);
    assert.equal(exchange.status, STATUS_OF[path], path);
    assert.equal(responseHeadersOf(exchange)["server"], "tollgate", path);
  }
});

test("serverName alone: kgateway's default Overwrite, with that name on every answer", async (t) => {
  const plan = gw.plan;
  t.after(() => (gw.plan = plan));
  gw.plan = compileYaml(configFor(undefined, "edge-gw/2"), 2);
  const all = await serverHeaders();
  assert.deepEqual(all, Object.fromEntries(Object.keys(all).map((k) => [k, "edge-gw/2"])));
});

test("serverName with AppendIfAbsent: that name wherever the answer has none", async (t) => {
  const plan = gw.plan;
  t.after(() => (gw.plan = plan));
  gw.plan = compileYaml(configFor("AppendIfAbsent", "edge-gw/2"), 2);
  const all = await serverHeaders();
  assert.equal(all["upstreamNamed"], "upstream/1.0");
  assert.equal(all["upstreamSilent"], "edge-gw/2");
  assert.equal(all["gatewayError"], "edge-gw/2");
  assert.equal(all["parserRefusal"], "edge-gw/2");
  assert.equal(all["upgradeRefused"], "edge-gw/2");
  assert.equal(all["healthCheck"], "edge-gw/2");
});

test("a request in flight across a reload is refused under its own plan's mode when its body turns out malformed", async (t) => {
  const plan = gw.plan;
  t.after(() => (gw.plan = plan));
  gw.plan = compileYaml(configFor("Overwrite"), 2);
  const socket = net.connect(gw.port, "127.0.0.1");
  await once(socket, "connect");
  let answer = "";
  socket.on("data", (chunk: Buffer) => (answer += chunk.toString("latin1")));
  const closed = once(socket, "close");
  socket.write("POST /app/wait HTTP/1.1\r\nHost: gw.example\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nok\r\n");
  // The request is in flight (its upstream waits for the body) when the plan changes.
  while (waits === 0) await new Promise((resolve) => setTimeout(resolve, 5));
  gw.plan = compileYaml(configFor("PassThrough"), 3);
  socket.write("zz\r\n");
  await closed;
  assert.match(answer, /^HTTP\/1\.1 400 /);
  assert.match(answer, /\r\nserver: tollgate\r\n/i, "the request began under Overwrite");
});
