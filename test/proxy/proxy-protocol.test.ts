// ListenerPolicy `proxyProtocol` end to end: PROXY protocol v1 and v2 headers built with
// proxy-protocol-js, written ahead of real HTTP requests (and a TLS handshake) on
// 127.0.0.1. The client the header names is the connection's remote address: upstream in
// X-Forwarded-For and in the exchange the telemetry reads; a LOCAL header keeps the
// connection's own; a connection without a valid header, or with none in time, is closed
// unanswered and counted; a reload turns the port's expectation on and off.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import net from "node:net";
import tls from "node:tls";
import { once } from "node:events";
import { duplexPair } from "node:stream";
import { Command, INETProtocol, IPv4Address, IPv4ProxyAddress, IPv6Address, IPv6ProxyAddress, Peer, TransportProtocol, UnspecProxyAddress, V1ProxyProtocol, V2ProxyProtocol } from "proxy-protocol-js";
import { applyListenerSettings } from "../../src/proxy/listener.ts";
import { closeConnectionsAwaitingHeaders } from "../../src/proxy/proxy-protocol.ts";
import { type TestPki, createTestPki, tlsSecretYaml } from "../support/test-certs.ts";
import { type TestUpstream, startUpstream } from "../support/upstreams.ts";
import { startGrpcAuthzService } from "../support/grpc-authz-service.ts";
import { rawExchange } from "../support/raw-exchange.ts";
import { until } from "../support/until.ts";
import { CONFIG_PORT, type GatewayUnderTest, backendYaml, catchAllRouteYaml, ref, routeYaml, startGateway } from "./harness.ts";
import { RecordingTelemetry } from "./recording-telemetry.ts";

let app: TestUpstream;
let gw: GatewayUnderTest;
let pki: TestPki;
const telemetry = new RecordingTelemetry();

const listenerPolicy = (spec: string): string => `---
apiVersion: gateway.kgateway.dev/v1alpha1
kind: ListenerPolicy
metadata: {name: behind-nlb, namespace: default}
spec:
  targetRefs: [{group: gateway.networking.k8s.io, kind: Gateway, name: edge}]
${spec}`;

/** Gateway `edge` on CONFIG_PORT (HTTP, or HTTPS with the test PKI's server certificate) behind a balancer speaking the PROXY protocol. */
const behindBalancer = (protocol: "HTTP" | "HTTPS", headersTimeout = ""): string =>
  `apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: {name: edge, namespace: default}
spec:
  gatewayClassName: tollgate
  listeners:
  - {name: web, protocol: ${protocol}, port: ${CONFIG_PORT}${protocol === "HTTPS" ? ", tls: {certificateRefs: [{name: edge-tls}]}" : ""}}
` +
  catchAllRouteYaml("app") +
  backendYaml("app", app.port) +
  listenerPolicy(`  default:\n    proxyProtocol: {}\n${headersTimeout === "" ? "" : `    httpSettings: {requestHeadersTimeout: ${headersTimeout}}\n`}`) +
  (protocol === "HTTPS" ? `---\n${tlsSecretYaml("edge-tls", pki.server)}` : "");

before(async () => {
  app = await startUpstream("app");
  pki = await createTestPki();
  gw = await startGateway(behindBalancer("HTTP"), telemetry);
});

after(async () => {
  await gw?.close();
  await app?.close();
});

const v1 = (source: string, port: number): Buffer => Buffer.from(new V1ProxyProtocol(INETProtocol.TCP4, new Peer(source, port), new Peer("127.0.0.1", CONFIG_PORT)).build(), "latin1");
const v2ipv4 = (source: [number, number, number, number], port: number, command = Command.PROXY): Buffer =>
  Buffer.from(new V2ProxyProtocol(command, TransportProtocol.STREAM, new IPv4ProxyAddress(IPv4Address.createFrom(source), port, IPv4Address.createFrom([127, 0, 0, 1]), CONFIG_PORT)).build());
const request = (path: string, close = true): Buffer => Buffer.from(`GET ${path} HTTP/1.1\r\nHost: edge.example\r\n${close ? "Connection: close\r\n" : ""}\r\n`, "latin1");

/** The X-Forwarded-For the upstream got, from each JSON echo in `answers`. */
function forwardedFor(answers: string): string[] {
  return [...answers.matchAll(/\r\n\r\n(\{[^\r]*?"upstream":"app"\})/g)].map((m) => (JSON.parse(m[1]!) as { headers: Record<string, string> }).headers["x-forwarded-for"]!);
}

test("a v1 header's client is the remote address: X-Forwarded-For upstream, the exchange's peer and client address", async () => {
  const answer = await rawExchange(gw.port, Buffer.concat([v1("203.0.113.7", 51000), request("/v1")]));
  assert.match(answer, /^HTTP\/1\.1 200 /);
  assert.deepEqual(forwardedFor(answer), ["203.0.113.7"]);
  const ended = await telemetry.endOf("/v1");
  assert.deepEqual([ended.peerAddress, ended.peerPort, ended.clientAddress, ended.directPeerAddress], ["203.0.113.7", 51000, "203.0.113.7", "127.0.0.1"]);
});

test("v2 headers: an IPv4 client, an IPv6 client (compressed text), a LOCAL health check keeping the connection's own address", async () => {
  assert.deepEqual(forwardedFor(await rawExchange(gw.port, Buffer.concat([v2ipv4([198, 51, 100, 20], 4242), request("/v2-4")]))), ["198.51.100.20"]);
  const ipv6 = new IPv6ProxyAddress(IPv6Address.createFrom([0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x09]), 443, IPv6Address.createFrom([0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1]), CONFIG_PORT);
  assert.deepEqual(forwardedFor(await rawExchange(gw.port, Buffer.from(new V2ProxyProtocol(Command.PROXY, TransportProtocol.STREAM, ipv6).build()), request("/v2-6"))), ["2001:db8::9"]);
  const local = Buffer.from(new V2ProxyProtocol(Command.LOCAL, TransportProtocol.UNSPEC, new UnspecProxyAddress()).build());
  assert.deepEqual(forwardedFor(await rawExchange(gw.port, Buffer.concat([local, request("/local")]))), ["127.0.0.1"]);
  const ended = await telemetry.endOf("/v2-6");
  assert.deepEqual([ended.peerAddress, ended.peerPort], ["2001:db8::9", 443]);
});

test("a header split across reads (v1, and v2 with TLVs), and a keep-alive connection: every request on it has the header's client", async () => {
  const header = v1("192.0.2.44", 1234);
  const answers = await rawExchange(gw.port, header.subarray(0, 3), header.subarray(3, 20), Buffer.concat([header.subarray(20), request("/first", false)]), request("/second"));
  assert.deepEqual(forwardedFor(answers), ["192.0.2.44", "192.0.2.44"]);
  assert.equal(answers.match(/HTTP\/1\.1 200 /g)?.length, 2);
  // A v2 header with 4 KB of TLVs past its addresses, in reads that end inside it.
  const withTlvs = Buffer.concat([v2ipv4([198, 51, 100, 9], 7), Buffer.alloc(4096, 0x04)]);
  withTlvs.writeUInt16BE(withTlvs.length - 16, 14);
  const split = await rawExchange(gw.port, withTlvs.subarray(0, 10), withTlvs.subarray(10, 2000), withTlvs.subarray(2000, 4000), Buffer.concat([withTlvs.subarray(4000), request("/tlvs")]));
  assert.deepEqual(forwardedFor(split), ["198.51.100.9"]);
});

test("no header, a malformed one, or a client gone before it ends: closed without a byte, and counted", async () => {
  const before = new Map([...gw.stats.proxyProtocolErrors!.entries()].map(([, reason, n]) => [reason, n]));
  assert.equal(await rawExchange(gw.port, request("/plain")), "");
  assert.equal(await rawExchange(gw.port, Buffer.from("PROXY TCP4 203.0.113.999 127.0.0.1 1 2\r\n"), request("/bad-address")), "");
  assert.equal(await rawExchange(gw.port, Buffer.from(`PROXY TCP4 ${"1".repeat(120)}`)), "", "a v1 line past its 107 bytes");
  assert.equal(await rawExchange(gw.port, Buffer.from("PROXY TCP6 fe80::1%eth0 ::1 1 2\r\n"), request("/zone")), "", "an IPv6 zone, which once threw inside the socket's data handler");
  const reset = net.connect(gw.port, "127.0.0.1");
  await once(reset, "connect");
  reset.write("PROXY TCP4 ");
  await new Promise((resolve) => setTimeout(resolve, 20));
  reset.resetAndDestroy();
  const half = net.connect(gw.port, "127.0.0.1");
  await once(half, "connect");
  half.end(v1("203.0.113.7", 1).subarray(0, 10));
  await once(half, "close");
  const counted = (): Record<string, number> => Object.fromEntries([...gw.stats.proxyProtocolErrors!.entries()].map(([, reason, n]) => [reason, n - (before.get(reason) ?? 0)]));
  await until(() => counted()["client_closed"] === 2);
  assert.deepEqual(counted(), { invalid: 4, client_closed: 2 });
  assert.match(await rawExchange(gw.port, Buffer.concat([v1("203.0.113.7", 1), request("/still-serving")])), /^HTTP\/1\.1 200 /);
  assert.equal(telemetry.ended.some((e) => e.path === "/plain" || e.path === "/bad-address"), false, "no request was read");
});

test("a drain closes connections still waiting for their header, uncounted: the gateway closed them", async () => {
  const before = [...gw.stats.proxyProtocolErrors!.entries()];
  const waiting = net.connect(gw.port, "127.0.0.1");
  await once(waiting, "connect");
  let received = "";
  waiting.on("data", (c: Buffer) => (received += c.toString("latin1")));
  const closed = once(waiting, "close");
  waiting.write("PROXY TCP4 203.0.113.7");
  // The header's first bytes reach the gateway before the drain does.
  await new Promise((resolve) => setTimeout(resolve, 50));
  closeConnectionsAwaitingHeaders(gw.server);
  await closed;
  assert.equal(received, "");
  assert.deepEqual([...gw.stats.proxyProtocolErrors!.entries()], before);
});

test("a header not complete within the listener's requestHeadersTimeout closes the connection, counted as timeout", async () => {
  const slow = await startGateway(behindBalancer("HTTP", "200ms"));
  try {
    const socket = net.connect(slow.port, "127.0.0.1");
    await once(socket, "connect");
    socket.write("PROXY TCP4 ");
    let received = "";
    socket.on("data", (c: Buffer) => (received += c.toString("latin1")));
    await once(socket, "close");
    assert.equal(received, "");
    assert.deepEqual([...slow.stats.proxyProtocolErrors!.entries()], [[CONFIG_PORT, "timeout", 1]]);
  } finally {
    await slow.close();
  }
  // Past what node's timers hold (2^31-1 ms): the duration is read as that, not as a wait cut at once.
  const patient = await startGateway(behindBalancer("HTTP", "600h"));
  try {
    assert.match(await rawExchange(patient.port, v1("203.0.113.7", 1), request("/patient")), /^HTTP\/1\.1 200 /);
    assert.deepEqual([...patient.stats.proxyProtocolErrors!.entries()], []);
  } finally {
    await patient.close();
  }
});

/**
 * A TLS request behind `header`: written together with the ClientHello (one read at the
 * gateway), or on its own before it.
 */
async function tlsRequest(port: number, header: Buffer, path: string, together: boolean): Promise<string> {
  const raw = net.connect(port, "127.0.0.1");
  await once(raw, "connect");
  // The TLS client writes into one end of a pair; its bytes go out on `raw`, the first
  // chunk (the ClientHello) behind the header when `together`.
  const [client, relay] = duplexPair();
  if (!together) raw.write(header);
  let first = together;
  relay.on("data", (chunk: Buffer) => {
    raw.write(first ? Buffer.concat([header, chunk]) : chunk);
    first = false;
  });
  raw.on("data", (chunk: Buffer) => relay.write(chunk));
  raw.on("end", () => relay.end());
  raw.on("error", () => relay.destroy());
  const socket = tls.connect({ socket: client, ca: pki.ca, servername: "localhost" });
  await once(socket, "secureConnect");
  let text = "";
  socket.on("data", (c: Buffer) => (text += c.toString("latin1")));
  socket.write(request(path));
  await once(socket, "end");
  raw.destroy();
  return text;
}

test("over TLS: the header comes before the handshake, in the same read as the ClientHello or not; the TLS connection's requests get its client", async () => {
  // A headers timeout past what node's timers hold (2^31-1 ms) is read as that, not as a wait cut at once.
  const secure = await startGateway(behindBalancer("HTTPS", "600h"), telemetry);
  try {
    assert.deepEqual(forwardedFor(await tlsRequest(secure.port, v2ipv4([203, 0, 113, 80], 6000), "/tls-together", true)), ["203.0.113.80"]);
    assert.deepEqual(forwardedFor(await tlsRequest(secure.port, v1("203.0.113.81", 6001), "/tls-apart", false)), ["203.0.113.81"]);
    const ended = await telemetry.endOf("/tls-together");
    assert.equal(ended.peerAddress, "203.0.113.80");
  } finally {
    await secure.close();
  }
});

test("rbac and a gRPC ext_authz check see the header's client as the source and the address it reached as the destination", async () => {
  const authz = await startGrpcAuthzService();
  const checked = await startGateway(
    behindBalancer("HTTP").replace(catchAllRouteYaml("app"), routeYaml(`    - filters:
      - type: ExternalAuth
        externalAuth: {protocol: GRPC, backendRef: ${ref("authz")}}
      backendRefs: [${ref("app")}]
`)) +
      backendYaml("authz", authz.port) +
      `---
apiVersion: gateway.kgateway.dev/v1alpha1
kind: TrafficPolicy
metadata: {name: via-nlb-443, namespace: default}
spec:
  targetRefs: [{group: gateway.networking.k8s.io, kind: Gateway, name: edge}]
  rbac: {policy: {matchExpressions: ["source.address == '203.0.113.7' && destination.address == '198.51.100.1' && destination.port == 443"]}}
`,
  );
  try {
    const through = (source: string, destinationPort: number, path: string): Promise<string> =>
      rawExchange(checked.port, `PROXY TCP4 ${source} 198.51.100.1 40000 ${destinationPort}\r\nGET ${path} HTTP/1.1\r\nHost: edge.example\r\nAuthorization: Bearer good\r\nConnection: close\r\n\r\n`);
    assert.match(await through("203.0.113.7", 443, "/allowed"), /^HTTP\/1\.1 200 /);
    assert.match(await through("203.0.113.8", 443, "/other-client"), /^HTTP\/1\.1 403 /);
    assert.match(await through("203.0.113.7", 80, "/other-port"), /^HTTP\/1\.1 403 /);
    const check = authz.seen.find((c) => c.request.attributes.request.http.path === "/allowed")!;
    assert.deepEqual(check.request.attributes.source.address.socket_address, { address: "203.0.113.7", port_value: 40000 });
    assert.deepEqual(check.request.attributes.destination.address.socket_address, { address: "198.51.100.1", port_value: 443 });
  } finally {
    await checked.close();
    await authz.close();
  }
});

test("a reload turns the expectation off for new connections, and on again", async () => {
  const listener = gw.plan.listenerByPort.get(CONFIG_PORT)!;
  assert.equal(listener.proxyProtocol, true);
  try {
    applyListenerSettings(gw.server, listener.settings, undefined, false);
    const plain = await rawExchange(gw.port, request("/after-off"));
    assert.match(plain, /^HTTP\/1\.1 200 /);
    assert.deepEqual(forwardedFor(plain), ["127.0.0.1"]);
  } finally {
    applyListenerSettings(gw.server, listener.settings, undefined, true);
  }
  assert.deepEqual(forwardedFor(await rawExchange(gw.port, Buffer.concat([v1("203.0.113.9", 9), request("/after-on")]))), ["203.0.113.9"]);
  assert.equal(await rawExchange(gw.port, request("/plain-again")), "");
});
