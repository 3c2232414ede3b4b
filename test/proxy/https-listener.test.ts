// HTTPS listeners end to end: real TLS clients (node:https, ws) with a test CA against the
// gateway's listener and real upstreams on 127.0.0.1. Which certificate each handshake gets
// by SNI, what the upstream and the telemetry learn of the scheme, upgrades over TLS, a
// reload that swaps certificates (last: it changes the shared gateway), and what becomes of
// handshakes no listener admits.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import https from "node:https";
import net from "node:net";
import tls from "node:tls";
import { once } from "node:events";
import { type ClientOptions, WebSocket } from "ws";
import { applyListenerSettings } from "../../src/proxy/listener.ts";
import { type PemPair, type TestPki, createTestPki, issueServerCertificate } from "../support/test-certs.ts";
import { type TestUpstream, startUpstream } from "../support/upstreams.ts";
import { readAfterLateUpload } from "../support/late-upload.ts";
import { until } from "../support/until.ts";
import { CONFIG_PORT, type GatewayUnderTest, backendYaml, catchAllRouteYaml, compileYaml, startGateway } from "./harness.ts";
import { RecordingTelemetry } from "./recording-telemetry.ts";

let pki: TestPki;
let shop: PemPair;
let shopRenewed: PemPair;
let net_: PemPair;
let apiNet: PemPair;
let other: PemPair;
let third: PemPair;
let app: TestUpstream;
let gw: GatewayUnderTest;
let strict: GatewayUnderTest;
let shared: GatewayUnderTest;
const telemetry = new RecordingTelemetry();

const b64 = (pem: Buffer): string => pem.toString("base64");
const secret = (name: string, pair: PemPair): string => `---
apiVersion: v1
kind: Secret
metadata: {name: ${name}, namespace: default}
type: kubernetes.io/tls
data: {tls.crt: ${b64(pair.cert)}, tls.key: ${b64(pair.key)}}
`;

/** HTTPS listeners on CONFIG_PORT: `shop.example`, `*.example.net`, `shop-alias.example` (shop's certificate) and, with `fallback`, one for any other name. */
function config(shopPair: PemPair, fallback: boolean): string {
  return `apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: {name: edge, namespace: default}
spec:
  gatewayClassName: tollgate
  listeners:
  - {name: shop, protocol: HTTPS, port: ${CONFIG_PORT}, hostname: shop.example, tls: {certificateRefs: [{name: shop-tls}]}}
  - {name: net, protocol: HTTPS, port: ${CONFIG_PORT}, hostname: '*.example.net', tls: {certificateRefs: [{name: net-tls}]}}
  - {name: alias, protocol: HTTPS, port: ${CONFIG_PORT}, hostname: shop-alias.example, tls: {certificateRefs: [{name: shop-tls}]}}
${fallback ? `  - {name: any, protocol: HTTPS, port: ${CONFIG_PORT}, tls: {certificateRefs: [{name: local-tls}]}}\n` : ""}${catchAllRouteYaml("app")}${backendYaml("app", app.port)}${secret("shop-tls", shopPair)}${secret("net-tls", net_)}${secret("local-tls", pki.server)}`;
}

/**
 * Two Gateways on CONFIG_PORT. `b-edge`, older by its creationTimestamp: a listener with no
 * hostname holding two certificates (shop.example, then third.example), `*.example.net`,
 * `*.api.example.net` and `other.example`. `a-edge`: a listener with no hostname,
 * `*.api.example.net` and `other.example`, all with the local certificate.
 */
function sharedPortConfig(): string {
  const gateway = (name: string, created: string, listeners: string): string => `---
apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: {name: ${name}, namespace: default, creationTimestamp: "${created}"}
spec:
  gatewayClassName: tollgate
  listeners:
${listeners}`;
  const listener = (name: string, hostname: string | undefined, secrets: string[]): string =>
    `  - {name: ${name}, protocol: HTTPS, port: ${CONFIG_PORT}, ${hostname === undefined ? "" : `hostname: '${hostname}', `}tls: {certificateRefs: [${secrets.map((n) => `{name: ${n}}`).join(", ")}]}}\n`;
  return (
    gateway(
      "a-edge",
      "2025-02-01T00:00:00Z",
      listener("any", undefined, ["local-tls"]) + listener("api", "*.api.example.net", ["local-tls"]) + listener("other", "other.example", ["local-tls"]),
    ) +
    gateway(
      "b-edge",
      "2025-01-01T00:00:00Z",
      listener("any", undefined, ["shop-tls", "third-tls"]) +
        listener("net", "*.example.net", ["net-tls"]) +
        listener("api", "*.api.example.net", ["api-tls"]) +
        listener("other", "other.example", ["other-tls"]),
    ) +
    secret("local-tls", pki.server) +
    secret("net-tls", net_) +
    secret("api-tls", apiNet) +
    secret("shop-tls", shop) +
    secret("other-tls", other) +
    secret("third-tls", third)
  ).slice(4);
}

before(async () => {
  pki = await createTestPki();
  shop = await issueServerCertificate(pki, "shop", ["shop.example"]);
  shopRenewed = await issueServerCertificate(pki, "shop-renewed", ["shop.example", "www.shop.example"]);
  net_ = await issueServerCertificate(pki, "net", ["*.example.net"]);
  apiNet = await issueServerCertificate(pki, "api-net", ["*.api.example.net"]);
  other = await issueServerCertificate(pki, "other", ["other.example"]);
  third = await issueServerCertificate(pki, "third", ["third.example"]);
  app = await startUpstream("app");
  gw = await startGateway(config(shop, true), telemetry);
  strict = await startGateway(config(shop, false));
  shared = await startGateway(sharedPortConfig());
});

after(async () => {
  await gw.close();
  await strict.close();
  await shared.close();
  await app.close();
  await pki.remove();
});

/** The handshake failures a gateway counted, but for clients (these tests among them) that close right after their side finished. */
function handshakeErrors(gateway: GatewayUnderTest): [number, string, number][] {
  return [...(gateway.stats.tlsHandshakeErrors?.entries() ?? [])].filter(([, reason]) => reason !== "client_closed").sort((a, b) => a[1].localeCompare(b[1]));
}

interface TlsReply {
  readonly status: number;
  readonly body: Record<string, unknown>;
  /** The subjectAltName of the certificate the gateway presented. */
  readonly presented: string;
}

/** A request over TLS, trusting only the test CA; `servername` undefined sends no SNI (node would take it from Host). */
function askTls(port: number, path: string, servername: string | undefined, host = servername ?? "127.0.0.1"): Promise<TlsReply> {
  return new Promise((resolve, reject) => {
    const req = https.request(
      { host: "127.0.0.1", port, path, ca: pki.ca, agent: false, headers: { host }, ...(servername === undefined ? { servername: "", checkServerIdentity: () => undefined } : { servername }) },
      (res) => {
        const presented = (res.socket as tls.TLSSocket).getPeerCertificate().subjectaltname ?? "";
        const chunks: Buffer[] = [];
        res.on("data", (c: Buffer) => chunks.push(c));
        res.on("end", () => resolve({ status: res.statusCode ?? 0, body: JSON.parse(Buffer.concat(chunks).toString() || "{}") as Record<string, unknown>, presented }));
      },
    );
    req.on("error", reject);
    req.end();
  });
}

/** The handshake alone, with SNI `servername`: the certificate presented, or the error that ended it. */
function handshake(port: number, servername: string, options: tls.ConnectionOptions = {}): Promise<{ presented: string; alpn?: string | false } | { error: string }> {
  return new Promise((resolve) => {
    const socket = tls.connect({ host: "127.0.0.1", port, servername, ca: pki.ca, checkServerIdentity: () => undefined, ...options });
    socket.once("secureConnect", () => {
      const presented = { presented: socket.getPeerCertificate().subjectaltname ?? "" };
      if (options.ALPNProtocols !== undefined) Object.assign(presented, { alpn: socket.alpnProtocol });
      resolve(presented);
      socket.destroy();
    });
    socket.once("error", (error) => resolve({ error: error.message }));
  });
}

test("a request over TLS reaches the upstream as https: X-Forwarded-Proto, and the exchange's scheme and port", async () => {
  const reply = await askTls(gw.port, "/orders?id=1", "shop.example");
  assert.equal(reply.status, 200);
  assert.equal(reply.presented, "DNS:shop.example", "the certificate of the listener for shop.example");
  const headers = reply.body["headers"] as Record<string, string>;
  assert.equal(headers["x-forwarded-proto"], "https");
  assert.equal(headers["host"], "shop.example");
  const exchange = await telemetry.endOf("/orders");
  assert.equal(exchange.scheme, "https");
  assert.equal(exchange.serverAddress, "shop.example");
  assert.equal(exchange.serverPort, 443, "a Host without a port on https is port 443");
});

test("SNI picks the certificate: the exact hostname, the longest wildcard, else the listener with no hostname, which also answers clients that send no name", async () => {
  assert.deepEqual(await handshake(gw.port, "shop.example"), { presented: "DNS:shop.example" });
  assert.deepEqual(await handshake(gw.port, "SHOP.Example."), { presented: "DNS:shop.example" }, "names compare without case and trailing dot");
  assert.deepEqual(await handshake(gw.port, "api.example.net"), { presented: "DNS:*.example.net" });
  assert.deepEqual(await handshake(gw.port, "a.b.example.net"), { presented: "DNS:*.example.net" });
  assert.deepEqual(await handshake(gw.port, "example.net"), { presented: "IP Address:127.0.0.1, DNS:localhost" }, "a wildcard does not admit its own suffix");
  assert.deepEqual(await handshake(gw.port, "other.example"), { presented: "IP Address:127.0.0.1, DNS:localhost" });
  const noSni = await askTls(gw.port, "/no-sni", undefined);
  assert.equal(noSni.status, 200);
  assert.equal(noSni.presented, "IP Address:127.0.0.1, DNS:localhost");
});

test("with no listener for any name, a handshake for a name no listener admits fails, as does one without SNI; each is counted", async () => {
  assert.deepEqual(await handshake(strict.port, "api.example.net"), { presented: "DNS:*.example.net" });
  const refused = await handshake(strict.port, "other.example");
  assert.ok("error" in refused, "the handshake fails");
  const noSni = await askTls(strict.port, "/no-sni", undefined).then(
    () => "answered",
    (error: Error) => error.message,
  );
  assert.notEqual(noSni, "answered");
  assert.deepEqual(handshakeErrors(strict), [[CONFIG_PORT, "no_certificate", 2]], "the refused name, and no certificate without SNI");
});

test("plain HTTP sent to an HTTPS port gets no HTTP answer: the connection closes", async () => {
  const socket = net.connect(gw.port, "127.0.0.1");
  socket.write("GET / HTTP/1.1\r\nHost: shop.example\r\n\r\n");
  const received: Buffer[] = [];
  socket.on("data", (c: Buffer) => received.push(c));
  socket.on("error", () => {});
  await once(socket, "close");
  assert.doesNotMatch(Buffer.concat(received).toString("latin1"), /HTTP\/1\.1/);
  assert.equal(app.requests.some((r) => r.headers.host === "shop.example" && r.url === "/"), false);
  assert.deepEqual(handshakeErrors(gw), [[CONFIG_PORT, "protocol", 1]], "counted as a failed handshake");
});

test("a client that resets the connection mid-handshake is counted as client_closed", async () => {
  const closedBefore = [...strict.stats.tlsHandshakeErrors!.entries()].find(([, reason]) => reason === "client_closed")?.[2] ?? 0;
  const socket = net.connect(strict.port, "127.0.0.1");
  socket.on("error", () => {});
  await once(socket, "connect");
  // A TLS record header announcing a ClientHello that never comes, then a reset.
  socket.write(Buffer.from([0x16, 0x03, 0x01, 0x00, 0x50]));
  await new Promise((resolve) => setTimeout(resolve, 50));
  socket.resetAndDestroy();
  await until(() => ([...strict.stats.tlsHandshakeErrors!.entries()].find(([, reason]) => reason === "client_closed")?.[2] ?? 0) > closedBefore);
});

test("a WebSocket upgrade over TLS (wss) is proxied", async () => {
  // ws hands servername on to the TLS connection; its types leave it out.
  const options: ClientOptions & { servername: string } = { ca: pki.ca, servername: "api.example.net", headers: { host: "api.example.net" } };
  const ws = new WebSocket(`wss://127.0.0.1:${gw.port}/socket`, options);
  const [hello] = (await once(ws, "message")) as [Buffer];
  assert.match(hello.toString(), /^hello \/socket /);
  ws.send("ping");
  const [echo] = (await once(ws, "message")) as [Buffer];
  assert.equal(echo.toString(), "echo: ping");
  ws.close();
  await once(ws, "close");
});

test("a port shared by Gateways: the longest wildcard wins, the older Gateway keeps a hostname and the listener with no hostname", async () => {
  assert.deepEqual(await handshake(shared.port, "x.api.example.net"), { presented: "DNS:*.api.example.net" }, "longer than *.example.net, and b-edge is older");
  assert.deepEqual(await handshake(shared.port, "x.example.net"), { presented: "DNS:*.example.net" });
  assert.deepEqual(await handshake(shared.port, "other.example"), { presented: "DNS:other.example" }, "b-edge is older: its other.example");
  assert.deepEqual(await handshake(shared.port, "shop.example"), { presented: "DNS:shop.example" }, "b-edge's listener with no hostname");
});

test("one listener with several certificates: a handshake gets the first valid for the name it asked for, else the first", async () => {
  assert.deepEqual(await handshake(shared.port, "third.example"), { presented: "DNS:third.example" }, "the second certificate covers this name");
  assert.deepEqual(await handshake(shared.port, "THIRD.example"), { presented: "DNS:third.example" });
  assert.deepEqual(await handshake(shared.port, "nobody.example"), { presented: "DNS:shop.example" }, "a name none covers gets the first");
  const noSni = await askTls(shared.port, "/shared-no-sni", undefined);
  assert.equal(noSni.presented, "DNS:shop.example", "a client without SNI gets the first certificate too");
});

test("HTTP/1.1 is the only protocol offered by ALPN: a client that speaks only h2 is refused at the handshake", async () => {
  assert.deepEqual(await handshake(gw.port, "api.example.net", { ALPNProtocols: ["h2", "http/1.1"] }), { presented: "DNS:*.example.net", alpn: "http/1.1" });
  const h2Only = await handshake(gw.port, "api.example.net", { ALPNProtocols: ["h2"] });
  assert.ok("error" in h2Only && /no.application.protocol|ALPN/i.test(h2Only.error), JSON.stringify(h2Only));
});

test("a TLS handshake that does not finish within the listener's requestHeadersTimeout is closed", { timeout: 20_000 }, async (t) => {
  const policy = `---
apiVersion: gateway.kgateway.dev/v1alpha1
kind: HTTPListenerPolicy
metadata: {name: limits, namespace: default}
spec:
  targetRefs: [{group: gateway.networking.k8s.io, kind: Gateway, name: edge}]
  requestHeadersTimeout: 300ms
`;
  const tight = await startGateway(config(shop, true) + policy);
  t.after(() => tight.close());
  const socket = net.connect(tight.port, "127.0.0.1");
  socket.on("error", () => {});
  await once(socket, "connect");
  // Sends nothing: no ClientHello, so no handshake can finish.
  await once(socket, "close");
  assert.equal(socket.bytesRead, 0);
  await until(() => handshakeErrors(tight).length > 0);
  assert.deepEqual(handshakeErrors(tight), [[CONFIG_PORT, "timeout", 1]]);
});

test("a Host that belongs to another listener, with other certificates, than the handshake's gets 421; one sharing its certificates is served", async () => {
  const crossed = await askTls(gw.port, "/crossed", "api.example.net", "shop-alias.example");
  assert.equal(crossed.status, 421);
  assert.equal(crossed.body["error"], "misdirected_request");
  const noSni = await askTls(gw.port, "/crossed-no-sni", undefined, "api.example.net");
  assert.equal(noSni.status, 421, "a handshake without SNI belongs to the listener with no hostname");
  assert.equal((await askTls(gw.port, "/same-listener", "api.example.net", "x.example.net:8443")).status, 200, "the port in Host does not matter");
  assert.equal((await askTls(gw.port, "/alias", "shop.example", "shop-alias.example")).status, 200, "shop-alias.example's listener has shop.example's certificate");
  const unknownHost = await askTls(gw.port, "/unknown-host", "api.example.net", "nobody.example");
  assert.equal(unknownHost.status, 421, "nobody.example belongs to the listener with no hostname");
  assert.equal(app.requests.some((r) => r.url === "/crossed" || r.url === "/crossed-no-sni" || r.url === "/unknown-host"), false);

  const strictUnknown = await askTls(strict.port, "/strict-unknown", "api.example.net", "nobody.example");
  assert.equal(strictUnknown.status, 404, "a Host no HTTPS listener admits is routed as ever: no route");

  const options: ClientOptions & { servername: string } = { ca: pki.ca, servername: "api.example.net", headers: { host: "shop-alias.example" } };
  const ws = new WebSocket(`wss://127.0.0.1:${gw.port}/socket-crossed`, options);
  ws.on("error", () => {});
  const [, response] = (await once(ws, "unexpected-response")) as [unknown, { statusCode: number }];
  assert.equal(response.statusCode, 421, "an upgrade too");
  ws.terminate();
});

test("a 421 answered while the client still uploads reaches it whole over TLS: the gateway lingers instead of resetting", async () => {
  // The client reads nothing until its upload went out. Closed at once after the answer, the
  // connection met the later bytes with a reset, which threw the unread 421 away.
  const socket = tls.connect({ host: "127.0.0.1", port: gw.port, servername: "api.example.net", ca: pki.ca });
  const connected = once(socket, "secureConnect");
  socket.pause();
  await connected;
  const { received, failure } = await readAfterLateUpload(socket, [`POST /crossed-upload HTTP/1.1\r\nhost: shop-alias.example\r\ncontent-length: ${16 * 1024 * 1024}\r\n\r\n`, Buffer.alloc(64 * 1024, 97)]);
  assert.equal(failure, undefined);
  assert.match(received, /^HTTP\/1\.1 421 [\s\S]*\r\nconnection: close\r\n[\s\S]*\{"error":"misdirected_request"[^\n]*\}\n$/i);
});

test("a TLS 1.2 session resumed from a ticket (no SNI seen by the server) is not refused as misdirected", async () => {
  for (const [port, label] of [
    [gw.port, "with a listener for any name"],
    [strict.port, "without one"],
  ] as const) {
    const agent = new https.Agent({ keepAlive: false, maxVersion: "TLSv1.2" });
    const statuses: string[] = [];
    for (let i = 0; i < 3; i++) {
      statuses.push(
        await new Promise<string>((resolve, reject) => {
          const req = https.request({ host: "127.0.0.1", port, path: `/resumed-${i}`, servername: "api.example.net", headers: { host: "api.example.net" }, ca: pki.ca, agent }, (res) => {
            const reused = (res.socket as tls.TLSSocket).isSessionReused();
            res.resume();
            res.on("end", () => resolve(`${res.statusCode} reused=${reused}`));
          });
          req.on("error", reject);
          req.end();
        }),
      );
    }
    agent.destroy();
    assert.deepEqual(statuses, ["200 reused=false", "200 reused=true", "200 reused=true"], label);
  }
});

test("an HTTP/1.0 request without Host on an HTTPS connection is routed, not refused as misdirected", async () => {
  const socket = tls.connect({ host: "127.0.0.1", port: gw.port, servername: "api.example.net", ca: pki.ca });
  await once(socket, "secureConnect");
  socket.write("GET /http10 HTTP/1.0\r\n\r\n");
  const received: Buffer[] = [];
  socket.on("data", (c: Buffer) => received.push(c));
  await once(socket, "end");
  socket.destroy();
  assert.match(Buffer.concat(received).toString("latin1"), /^HTTP\/1\.1 200 /);
});

test("a reload swaps the certificates for the handshakes after it, the no-SNI one included", async () => {
  const before = await handshake(gw.port, "www.shop.example");
  assert.deepEqual(before, { presented: "IP Address:127.0.0.1, DNS:localhost" }, "no listener for www.shop.example yet");

  const renewed = config(shopRenewed, true).replace("hostname: shop.example", "hostname: '*.shop.example'").replace("{name: any,", "{name: any, hostname: shop.example,");
  // A reload that leaves the certificates as they were keeps the session tickets clients hold.
  const ticketKeys = (gw.server as unknown as tls.Server).getTicketKeys();
  const same = compileYaml(config(shop, true), 2).listenerByPort.get(CONFIG_PORT)!;
  applyListenerSettings(gw.server, same.settings, same.tls);
  assert.deepEqual((gw.server as unknown as tls.Server).getTicketKeys(), ticketKeys);

  gw.plan = compileYaml(renewed, 3);
  const listener = gw.plan.listenerByPort.get(CONFIG_PORT)!;
  applyListenerSettings(gw.server, listener.settings, listener.tls);
  assert.notDeepEqual((gw.server as unknown as tls.Server).getTicketKeys(), ticketKeys, "a new default certificate makes a new context");

  assert.deepEqual(await handshake(gw.port, "www.shop.example"), { presented: "DNS:shop.example, DNS:www.shop.example" });
  assert.deepEqual(await handshake(gw.port, "shop.example"), { presented: "IP Address:127.0.0.1, DNS:localhost" }, "shop.example now has the local certificate");
  const noSni = await askTls(gw.port, "/no-sni-after", undefined).then(
    () => "answered",
    (error: Error) => error.message,
  );
  assert.notEqual(noSni, "answered", "no listener without a hostname is left to answer a client without SNI");
});
