// Client certificate validation on HTTPS listeners (the Gateway's `spec.tls.frontend`) end to
// end: real TLS clients with certificates from a trusted CA, from a stranger CA, or none,
// against gateways whose port requires one (AllowValidOnly), lets clients without one through
// (AllowInsecureFallback), turns it off per port, or cannot have its CA (fails closed); and
// reloads that turn validation on and off for the connections after them.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import https from "node:https";
import tls from "node:tls";
import { once } from "node:events";
import { applyListenerSettings } from "../../src/proxy/listener.ts";
import { type PemPair, type TestPki, createTestPki, tlsSecretYaml } from "../support/test-certs.ts";
import { type TestUpstream, startUpstream } from "../support/upstreams.ts";
import { until } from "../support/until.ts";
import { CONFIG_PORT, type GatewayUnderTest, backendYaml, catchAllRouteYaml, compileYaml, startGateway } from "./harness.ts";

let serverPki: TestPki;
let clientPki: TestPki;
let strangerPki: TestPki;
let app: TestUpstream;
let strict: GatewayUnderTest;
let lenient: GatewayUnderTest;
let portOff: GatewayUnderTest;
let broken: GatewayUnderTest;
let late: GatewayUnderTest;
let rotating: GatewayUnderTest;
let portOffAgain: GatewayUnderTest;
let swapping: GatewayUnderTest;

/** A Gateway with one HTTPS listener on CONFIG_PORT (for `hostname`, or any) whose `spec.tls` is `tls` (YAML under `tls:`); `clientCa` is the CA ConfigMap's. */
function config(tls: string, hostname?: string, clientCa: Buffer = clientPki.ca): string {
  return `apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: {name: edge, namespace: default}
spec:
  gatewayClassName: tollgate
  listeners:
  - {name: https, protocol: HTTPS, port: ${CONFIG_PORT},${hostname === undefined ? "" : ` hostname: ${hostname},`} tls: {certificateRefs: [{name: local-tls}]}}
${tls === "" ? "" : `  tls:\n${tls}`}${catchAllRouteYaml("app")}${backendYaml("app", app.port)}${tlsSecretYaml("local-tls", serverPki.server)}---
apiVersion: v1
kind: ConfigMap
metadata: {name: client-ca, namespace: default}
data: {ca.crt: ${JSON.stringify(clientCa.toString())}}
`;
}

const validation = (mode: string, configMap = "client-ca"): string => `    frontend:\n      default:\n        validation: {caCertificateRefs: [{group: '', kind: ConfigMap, name: ${configMap}}], mode: ${mode}}\n`;

type Outcome = { status: number; body: Record<string, unknown> } | { error: string };

/** One request over a fresh TLS connection, presenting `client` (or no certificate). */
function askWith(port: number, client: PemPair | undefined, path = "/who", maxVersion: "TLSv1.2" | "TLSv1.3" = "TLSv1.3"): Promise<Outcome> {
  return new Promise((resolve) => {
    const req = https.request(
      { host: "127.0.0.1", port, path, ca: serverPki.ca, agent: false, servername: "localhost", maxVersion, ...(client === undefined ? {} : { cert: client.cert, key: client.key }) },
      (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (c: Buffer) => chunks.push(c));
        res.on("end", () => resolve({ status: res.statusCode ?? 0, body: JSON.parse(Buffer.concat(chunks).toString() || "{}") as Record<string, unknown> }));
      },
    );
    req.on("error", (error: Error & { code?: string }) => resolve({ error: error.code ?? error.message }));
    req.end();
  });
}

function refusedCount(gateway: GatewayUnderTest): number {
  return [...(gateway.stats.tlsHandshakeErrors?.entries() ?? [])].filter(([port, reason]) => port === CONFIG_PORT && reason === "client_certificate").reduce((sum, [, , n]) => sum + n, 0);
}

before(async () => {
  [serverPki, clientPki, strangerPki] = await Promise.all([createTestPki("tollgate-pki-server-"), createTestPki("tollgate-pki-client-"), createTestPki("tollgate-pki-stranger-")]);
  app = await startUpstream("app");
  strict = await startGateway(config(validation("AllowValidOnly")));
  lenient = await startGateway(config(validation("AllowInsecureFallback")));
  portOff = await startGateway(config(validation("AllowValidOnly") + `      perPort:\n      - {port: ${CONFIG_PORT}, tls: {}}\n`));
  broken = await startGateway(config(validation("AllowInsecureFallback", "absent-ca")));
  late = await startGateway(config(""));
  // Every listener has a hostname: no default certificate changes with the validation.
  rotating = await startGateway(config(validation("AllowValidOnly"), "localhost"));
  portOffAgain = await startGateway(config(""));
  swapping = await startGateway(config(validation("AllowValidOnly"), "localhost"));
});

after(async () => {
  await Promise.all([strict?.close(), lenient?.close(), portOff?.close(), broken?.close(), late?.close(), rotating?.close(), portOffAgain?.close(), swapping?.close()]);
  await Promise.all([app?.close(), serverPki?.remove(), clientPki?.remove(), strangerPki?.remove()]);
});

test("AllowValidOnly: a client with a certificate from the trusted CA is served", async () => {
  const reply = await askWith(strict.port, clientPki.client);
  assert.deepEqual("status" in reply ? reply.status : reply, 200);
  assert.equal(refusedCount(strict), 0);
});

test("AllowValidOnly: no certificate, or one from another CA, under TLS 1.3 or 1.2, gets no answer; each is counted and the upstream sees nothing", async () => {
  const upstreamBefore = app.requests.length;
  const cases: [PemPair | undefined, "TLSv1.2" | "TLSv1.3", string][] = [
    [undefined, "TLSv1.3", "no certificate, TLS 1.3"],
    [strangerPki.client, "TLSv1.3", "a stranger's certificate, TLS 1.3"],
    [undefined, "TLSv1.2", "no certificate, TLS 1.2"],
    [strangerPki.client, "TLSv1.2", "a stranger's certificate, TLS 1.2"],
  ];
  for (const [client, version, why] of cases) {
    const outcome = await askWith(strict.port, client, `/refused`, version);
    assert.ok("error" in outcome, `${why}: ${JSON.stringify(outcome)}`);
  }
  await until(() => refusedCount(strict) === 4);
  assert.equal(app.requests.length, upstreamBefore);
});

test("AllowInsecureFallback: clients without a valid certificate are served too", async () => {
  for (const client of [undefined, strangerPki.client, clientPki.client]) {
    const reply = await askWith(lenient.port, client);
    assert.deepEqual("status" in reply ? reply.status : reply, 200);
  }
  assert.equal(refusedCount(lenient), 0);
});

test("a perPort entry without validation turns the default off for its port", async () => {
  assert.equal(portOff.plan.listenerByPort.get(CONFIG_PORT)!.tls!.clientValidation, undefined);
  const reply = await askWith(portOff.port, undefined);
  assert.deepEqual("status" in reply ? reply.status : reply, 200);
});

test("a validation whose CA cannot be had fails closed, even under AllowInsecureFallback: every client is refused", async () => {
  for (const client of [clientPki.client, undefined]) {
    const outcome = await askWith(broken.port, client);
    assert.ok("error" in outcome, JSON.stringify(outcome));
  }
  await until(() => refusedCount(broken) === 2);
});

/** Swaps `gateway`'s plan for `yaml`'s and applies its listener, as a reload does. */
function reload(gateway: GatewayUnderTest, yaml: string, generation: number): void {
  gateway.plan = compileYaml(yaml, generation);
  const listener = gateway.plan.listenerByPort.get(CONFIG_PORT)!;
  applyListenerSettings(gateway.server, listener.settings, listener.tls);
}

test("a reload turns validation on and off again for the connections after it", async () => {
  const open = await askWith(late.port, undefined);
  assert.deepEqual("status" in open ? open.status : open, 200, "no validation yet: a client without a certificate is served");

  reload(late, config(validation("AllowValidOnly")), 2);
  const closed = await askWith(late.port, undefined);
  assert.ok("error" in closed, JSON.stringify(closed));
  await until(() => refusedCount(late) === 1);
  const trusted = await askWith(late.port, clientPki.client);
  assert.deepEqual("status" in trusted ? trusted.status : trusted, 200, "the port now asks for the certificate the trusted client holds");

  reload(late, config(""), 3);
  const openAgain = await askWith(late.port, undefined);
  assert.deepEqual("status" in openAgain ? openAgain.status : openAgain, 200);
  assert.equal(refusedCount(late), 1);
});

/** One request on a raw TLS connection; the session to resume it with, whether it resumed one, and the status (0: closed unanswered). */
async function rawRequest(port: number, options: tls.ConnectionOptions): Promise<{ status: number; reused: boolean; session: Buffer | undefined }> {
  const socket = tls.connect({ host: "127.0.0.1", port, servername: "localhost", ca: serverPki.ca, ...options });
  let session: Buffer | undefined;
  socket.on("session", (s: Buffer) => (session = s));
  socket.on("error", () => undefined);
  await Promise.race([once(socket, "secureConnect"), once(socket, "close")]);
  const reused = socket.isSessionReused();
  // The server closes after answering (Connection: close); a TLS end from here would cut the answer.
  if (!socket.destroyed) socket.write("GET /who HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n");
  const chunks: Buffer[] = [];
  socket.on("data", (c: Buffer) => chunks.push(c));
  if (!socket.destroyed) await once(socket, "close");
  const head = /^HTTP\/1\.1 (\d{3})/.exec(Buffer.concat(chunks).toString("latin1"));
  return { status: head === null ? 0 : Number(head[1]), reused, session };
}

test("a reload that changes the CAs makes every client prove itself again: a session ticket from before resumes nothing", async () => {
  const first = await rawRequest(rotating.port, { cert: clientPki.client.cert, key: clientPki.client.key });
  assert.equal(first.status, 200);
  assert.ok(first.session, "the gateway issued a session ticket");
  const resumed = await rawRequest(rotating.port, { session: first.session });
  assert.deepEqual([resumed.status, resumed.reused], [200, true], "before the reload the ticket resumes the verified session, no certificate sent");

  reload(rotating, config(validation("AllowValidOnly"), "localhost", strangerPki.ca), 2);
  const after = await rawRequest(rotating.port, { session: resumed.session ?? first.session });
  assert.deepEqual([after.status, after.reused], [0, false], "the old ticket no longer resumes, and without a certificate the client is refused");
  const stranger = await rawRequest(rotating.port, { cert: strangerPki.client.cert, key: strangerPki.client.key });
  assert.equal(stranger.status, 200, "the new CA's clients are served");
});

/**
 * Opens a kept-alive connection to `gateway` as `client` (no certificate when undefined) and
 * has it served, then reloads `gateway` with `yaml`: the connection must close, and the same
 * request sent at once (on that connection, were it still open) must not be served.
 */
async function assertReloadShutsOut(gateway: GatewayUnderTest, client: PemPair | undefined, yaml: string, why: string): Promise<void> {
  const agent = new https.Agent({ keepAlive: true, maxSockets: 1 });
  try {
    const ask = (): Promise<{ status: number; socket: tls.TLSSocket }> =>
      new Promise((resolve, reject) => {
        const identity = client === undefined ? {} : { cert: client.cert, key: client.key };
        const req = https.request({ host: "127.0.0.1", port: gateway.port, path: "/who", ca: serverPki.ca, agent, servername: "localhost", headers: { host: "localhost" }, ...identity }, (res) => {
          const socket = res.socket as tls.TLSSocket;
          res.resume();
          res.on("end", () => resolve({ status: res.statusCode ?? 0, socket }));
        });
        req.on("error", reject);
        req.end();
      });
    const { status, socket } = await ask();
    assert.equal(status, 200, `${why}: served before the reload`);
    assert.equal(socket.destroyed, false, `${why}: kept alive`);
    const closed = once(socket, "close");
    reload(gateway, yaml, 2);
    const next = await ask().then(
      (reply) => reply.status,
      (error: Error & { code?: string }) => error.code ?? error.message,
    );
    assert.notEqual(next, 200, `${why}: not served after the reload, on its kept-alive connection nor on a new one`);
    await closed;
  } finally {
    agent.destroy();
  }
}

test("a reload that starts requiring certificates closes the connections already open without one", async () => {
  await assertReloadShutsOut(portOffAgain, undefined, config(validation("AllowValidOnly")), "a client without a certificate");
});

test("a reload that replaces the CAs closes the connections the old ones verified", async () => {
  await assertReloadShutsOut(swapping, clientPki.client, config(validation("AllowValidOnly"), "localhost", strangerPki.ca), "the old CA's client");
});
