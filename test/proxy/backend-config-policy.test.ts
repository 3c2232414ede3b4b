// kgateway BackendConfigPolicy end to end, against real upstreams on 127.0.0.1: each load
// balancer (round-robin ignoring a route's consistentHash and making no cookie, Maglev pinning
// a key, random, least request steering around a busy endpoint), and the connection settings
// (requests per connection, idle timeout, connect timeout) as the upstream sees them.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import http from "node:http";
import net, { type AddressInfo } from "node:net";
import { once } from "node:events";
import { type TestUpstream, closedPort, startUpstream } from "../support/upstreams.ts";
import { type RawUpgradeUpstream, startRawUpgradeUpstream } from "../support/raw-upgrade.ts";
import { type TestPki, createTestPki } from "../support/test-certs.ts";
import { type GatewayUnderTest, ask, backendTlsPolicyYaml, backendYaml, caConfigMapYaml, catchAllOnYaml, hostGatewayYaml, startGateway, targetedTrafficPolicyYaml } from "./harness.ts";

let trio: TestUpstream[];
let duo: TestUpstream[];
let solo: TestUpstream;
let plainSolo: TestUpstream;
let raws: RawUpgradeUpstream[];
let silent: net.Server;
const silentSockets = new Set<net.Socket>();
let pki: TestPki;
let gw: GatewayUnderTest;

const configPolicyYaml = (backend: string, body: string): string => `---
apiVersion: gateway.kgateway.dev/v1alpha1
kind: BackendConfigPolicy
metadata: {name: ${backend}, namespace: default}
spec:
  targetRefs: [{group: gateway.tollgate.dev, kind: Backend, name: ${backend}}]
${body}`;

/** A Gateway for `NAME.example` with one route to the Backend `NAME`, and optionally a consistentHash on it. */
const site = (name: string, consistentHash?: string, fields = ""): string =>
  hostGatewayYaml(name, `${name}.example`) +
  catchAllOnYaml(name, name, name, fields) +
  (consistentHash === undefined ? "" : targetedTrafficPolicyYaml(name, "HTTPRoute", name, `  consistentHash:\n${consistentHash}`));

before(async () => {
  trio = await Promise.all(["a", "b", "c"].map((n) => startUpstream(n)));
  duo = await Promise.all(["x", "y"].map((n) => startUpstream(n)));
  solo = await startUpstream("solo");
  plainSolo = await startUpstream("plain-solo");
  raws = await Promise.all([1, 2].map(() => startRawUpgradeUpstream()));
  const dead = await closedPort();
  // Accepts TCP connections and never answers a TLS ClientHello: the handshake hangs.
  silent = net.createServer((socket) => {
    silentSockets.add(socket);
    socket.on("close", () => silentSockets.delete(socket));
  });
  silent.listen(0, "127.0.0.1");
  await once(silent, "listening");
  pki = await createTestPki();
  const trioPorts = trio.map((u) => u.port);
  gw = await startGateway(
    backendYaml("rr", ...trioPorts) +
      configPolicyYaml("rr", "  loadBalancer: {roundRobin: {}}\n") +
      site("rr", "    headers: [{headerName: x-user}]\n    cookies: [{name: aff, ttl: 1h}]\n") +
      backendYaml("maglev", ...trioPorts) +
      configPolicyYaml("maglev", "  loadBalancer: {maglev: {}}\n") +
      site("maglev", "    headers: [{headerName: x-user}]\n") +
      backendYaml("nokey", ...trioPorts) +
      configPolicyYaml("nokey", "  loadBalancer: {ringHash: {minimumRingSize: 64}}\n") +
      site("nokey") +
      backendYaml("random", ...trioPorts) +
      configPolicyYaml("random", "  loadBalancer: {random: {}}\n") +
      site("random") +
      backendYaml("least", ...duo.map((u) => u.port)) +
      configPolicyYaml("least", "  loadBalancer: {leastRequest: {}}\n") +
      site("least") +
      backendYaml("drawn", ...trioPorts) +
      configPolicyYaml("drawn", "  loadBalancer: {leastRequest: {choiceCount: 2}}\n") +
      site("drawn") +
      backendYaml("leastdead", dead, duo[0]!.port) +
      configPolicyYaml("leastdead", "  loadBalancer: {leastRequest: {}}\n") +
      site("leastdead", undefined, "retry: {attempts: 2}") +
      backendYaml("randomdead", dead, duo[0]!.port) +
      configPolicyYaml("randomdead", "  loadBalancer: {random: {}}\n") +
      site("randomdead", undefined, "retry: {attempts: 2}") +
      backendYaml("wsrr", ...raws.map((r) => r.port)) +
      configPolicyYaml("wsrr", "  loadBalancer: {roundRobin: {}}\n") +
      site("wsrr", "    cookies: [{name: wsaff, ttl: 60s}]\n") +
      backendYaml("tunnels", ...raws.map((r) => r.port)) +
      configPolicyYaml("tunnels", "  loadBalancer: {leastRequest: {}}\n") +
      site("tunnels") +
      backendYaml("once", solo.port) +
      configPolicyYaml("once", "  commonHttpProtocolOptions: {maxRequestsPerConnection: 1}\n") +
      site("once") +
      backendYaml("idle", solo.port) +
      configPolicyYaml("idle", "  commonHttpProtocolOptions: {idleTimeout: 150ms}\n  tcpKeepalive: {keepAliveTime: 30s}\n") +
      site("idle") +
      backendYaml("kept", plainSolo.port) +
      site("kept") +
      caConfigMapYaml("ca", pki.ca) +
      backendYaml("hung", (silent.address() as AddressInfo).port) +
      backendTlsPolicyYaml("hung", "ca", "api.internal.test") +
      configPolicyYaml("hung", "  connectTimeout: 300ms\n") +
      site("hung", undefined, "timeouts: {request: 5s}") +
      backendYaml("hungdefault", (silent.address() as AddressInfo).port) +
      backendTlsPolicyYaml("hungdefault", "ca", "api.internal.test") +
      site("hungdefault", undefined, "timeouts: {request: 1s}"),
  );
});

after(async () => {
  await gw.close();
  for (const socket of silentSockets) socket.destroy();
  silent.close();
  await Promise.all([...trio, ...duo, solo, plainSolo, ...raws].map((u) => u.close()));
});

async function upstreamsFor(count: number, host: string, headers: Record<string, string> = {}): Promise<string[]> {
  const seen: string[] = [];
  for (let i = 0; i < count; i++) {
    const reply = await ask(gw.port, { headers: { host: `${host}.example`, ...headers } });
    assert.equal(reply.status, 200, reply.body.toString());
    seen.push(String(reply.headers["x-upstream"]));
  }
  return seen;
}

const distinct = (names: readonly string[]): string[] => [...new Set(names)].sort();

test("roundRobin: a route's consistentHash is not read, and makes no cookie", async () => {
  const seen: string[] = [];
  for (let i = 0; i < 3; i++) {
    const reply = await ask(gw.port, { headers: { host: "rr.example", "x-user": "always-the-same" } });
    assert.equal(reply.status, 200);
    assert.equal(reply.headers["set-cookie"], undefined);
    seen.push(String(reply.headers["x-upstream"]));
  }
  assert.deepEqual(distinct(seen), ["a", "b", "c"]);
});

test("maglev: a key stays on one upstream, keys spread; ringHash without a key goes to a random endpoint", async () => {
  const owners: string[] = [];
  for (let user = 0; user < 12; user++) {
    const seen = await upstreamsFor(4, "maglev", { "x-user": `user-${user}` });
    assert.equal(distinct(seen).length, 1, `user-${user} reached ${seen.join(", ")}`);
    owners.push(seen[0]!);
  }
  assert.ok(distinct(owners).length >= 2, `12 users all reached ${owners[0]}`);
  // A random pick, not a rotation: 60 requests reach every upstream, and some twice in a row.
  assertRandom(await upstreamsFor(60, "nokey"));
});

/**
 * Picks that are random rather than a rotation: every upstream reached (one of three missed in
 * 60 picks: 3 * (2/3)^60, about 1e-10), and some pick repeating the one before it, which a
 * rotation over three never does (no repeat in 59 random transitions: (2/3)^59, about 4e-11).
 */
function assertRandom(seen: readonly string[]): void {
  assert.deepEqual(distinct(seen), ["a", "b", "c"]);
  assert.ok(seen.some((name, i) => i > 0 && seen[i - 1] === name), `a rotation: ${seen.join(",")}`);
}

test("random: every upstream is reached, in no rotation", async () => {
  assertRandom(await upstreamsFor(60, "random"));
});

test("leastRequest: while one upstream holds a request, the others take every new one", async () => {
  const held = http.get({ port: gw.port, path: "/hang", headers: { host: "least.example" } });
  held.on("error", () => {});
  const busy = await Promise.race(duo.map((u) => u.waitFor("/hang").then(() => u.name)));
  const idle = duo.find((u) => u.name !== busy)!.name;
  assert.deepEqual(distinct(await upstreamsFor(6, "least")), [idle]);
  held.destroy();
  // Once the held request is gone both take requests again (ties go to a random one of the least busy).
  await duo.find((u) => u.name === busy)!.waitForAbort("/hang");
  const after = await upstreamsFor(40, "least");
  assert.deepEqual(distinct(after), ["x", "y"]);
});

test("leastRequest with two draws of three: a busy upstream loses to any idle one drawn beside it", async () => {
  const held = http.get({ port: gw.port, path: "/hang", headers: { host: "drawn.example" } });
  held.on("error", () => {});
  const busy = await Promise.race(trio.map((u) => u.waitFor("/hang").then(() => u.name)));
  const seen = await upstreamsFor(30, "drawn");
  assert.ok(!seen.includes(busy), `${busy} took requests while busy: ${seen.join(",")}`);
  assert.equal(distinct(seen).length, 2);
  held.destroy();
  await trio.find((u) => u.name === busy)!.waitForAbort("/hang");
});

test("random and leastRequest retries pass over the endpoint already tried", async () => {
  // One endpoint refuses connections: it holds no request, so least request would take it
  // first every time; a retry must go to the other.
  for (const host of ["leastdead", "randomdead"]) {
    for (let i = 0; i < 10; i++) {
      const reply = await ask(gw.port, { headers: { host: `${host}.example` } });
      assert.equal(reply.status, 200, `${host}: ${reply.body.toString()}`);
      assert.equal(reply.headers["x-upstream"], "x");
    }
  }
});

test("leastRequest counts open WebSocket tunnels: four tunnels over two upstreams, two each", async () => {
  const before = raws.map((r) => r.accepted);
  const tunnels: net.Socket[] = [];
  try {
    for (let i = 0; i < 4; i++) tunnels.push(await openTunnel("tunnels.example"));
    assert.deepEqual(raws.map((r, i) => r.accepted - before[i]!), [2, 2]);
  } finally {
    for (const tunnel of tunnels) tunnel.destroy();
  }
});

/** The 101 head each tunnel opened with. */
const tunnelHeads = new WeakMap<net.Socket, string>();

/** Opens an upgrade through the gateway and keeps the tunnel open; resolves once the 101 arrived. */
function openTunnel(host: string): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(gw.port, "127.0.0.1");
    let head = "";
    socket.on("data", (chunk: Buffer) => {
      head += chunk.toString("latin1");
      if (!head.includes("\r\n\r\n")) return;
      tunnelHeads.set(socket, head.slice(0, head.indexOf("\r\n\r\n")));
      if (head.startsWith("HTTP/1.1 101")) resolve(socket);
      else reject(new Error(head));
    });
    socket.on("error", reject);
    socket.write(`GET /switch HTTP/1.1\r\nHost: ${host}\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n`);
  });
}

test("an upgrade to a round-robin backend gets no affinity cookie from the route's consistentHash", async () => {
  const tunnel = await openTunnel("wsrr.example");
  tunnel.destroy();
  assert.doesNotMatch(tunnelHeads.get(tunnel)!, /set-cookie/i);
  assert.match(tunnelHeads.get(tunnel)!, /^HTTP\/1\.1 101 /);
});

test("maxRequestsPerConnection 1: every request opens its own upstream connection", async () => {
  const before = solo.requests.length;
  await upstreamsFor(3, "once");
  const ports = solo.requests.slice(before).map((r) => r.remotePort);
  assert.equal(new Set(ports).size, 3, ports.join(", "));
});

test("idleTimeout: an idle connection is closed, where the gateway's default keeps it", async () => {
  const portsAfterPause = async (host: string, upstream: TestUpstream): Promise<number[]> => {
    const before = upstream.requests.length;
    await upstreamsFor(1, host);
    await new Promise((resolve) => setTimeout(resolve, 600));
    await upstreamsFor(1, host);
    return upstream.requests.slice(before).map((r) => r.remotePort);
  };
  const closed = await portsAfterPause("idle", solo);
  assert.notEqual(closed[0], closed[1]);
  const kept = await portsAfterPause("kept", plainSolo);
  assert.equal(kept[0], kept[1]);
});

test("connectTimeout: a handshake that never completes fails at the policy's timeout, before the route's", async () => {
  const reply = await ask(gw.port, { headers: { host: "hung.example" } });
  assert.equal(reply.status, 504);
  assert.equal(JSON.parse(reply.body.toString()).error, "upstream_connect_timeout");
  // The same upstream without the policy: the gateway's 10 s connect timeout outlasts the route's 1 s.
  const unbounded = await ask(gw.port, { headers: { host: "hungdefault.example" } });
  assert.equal(unbounded.status, 504);
  assert.equal(JSON.parse(unbounded.body.toString()).error, "request_timeout");
});
