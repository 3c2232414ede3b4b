// What a BackendConfigPolicy's connection settings do to the upstream sockets themselves:
// tcpKeepalive reaches the socket's keep-alive (observed on Node's own setKeepAlive, which
// still runs; strace shows it set TCP_KEEPIDLE, TCP_KEEPINTVL and TCP_KEEPCNT, on TLS sockets
// too, which these plain connections do not cover), and idleTimeout 0s (never close) keeps one
// connection and serves requests.
import { after, before, mock, test } from "node:test";
import assert from "node:assert/strict";
import net from "node:net";
import { type TestUpstream, startUpstream } from "../support/upstreams.ts";
import { type GatewayUnderTest, ask, backendYaml, catchAllOnYaml, hostGatewayYaml, startGateway } from "./harness.ts";

let upstream: TestUpstream;
let gw: GatewayUnderTest;
let keepAlive: ReturnType<typeof mock.method<net.Socket, "setKeepAlive">>;

const site = (name: string, policy: string): string => `${hostGatewayYaml(name, `${name}.example`)}${catchAllOnYaml(name, name, name)}${backendYaml(name, upstream.port)}---
apiVersion: gateway.kgateway.dev/v1alpha1
kind: BackendConfigPolicy
metadata: {name: ${name}, namespace: default}
spec:
  targetRefs: [{group: gateway.tollgate.dev, kind: Backend, name: ${name}}]
${policy}`;

before(async () => {
  keepAlive = mock.method(net.Socket.prototype, "setKeepAlive");
  upstream = await startUpstream("keepalive");
  gw = await startGateway(
    site("ka", "  tcpKeepalive: {keepAliveTime: 37s, keepAliveInterval: 5s, keepAliveProbes: 4}\n") +
      site("kaidle", "  tcpKeepalive: {keepAliveTime: 41s}\n") +
      site("never", "  commonHttpProtocolOptions: {idleTimeout: 0s}\n"),
  );
});

after(async () => {
  keepAlive.mock.restore();
  await gw.close();
  await upstream.close();
});

const argsOf = (): unknown[][] => keepAlive.mock.calls.map((call) => call.arguments);

test("tcpKeepalive sets the upstream socket's idle time, probe interval and probe count", async () => {
  assert.equal((await ask(gw.port, { headers: { host: "ka.example" } })).status, 200);
  assert.ok(argsOf().some((args) => JSON.stringify(args) === JSON.stringify([true, 37_000, 5_000, 4])), JSON.stringify(argsOf()));
  // The idle time alone: Node's interval and count (1 s, 10) stay.
  assert.equal((await ask(gw.port, { headers: { host: "kaidle.example" } })).status, 200);
  assert.ok(argsOf().some((args) => JSON.stringify(args) === JSON.stringify([true, 41_000, 1_000, 10])), JSON.stringify(argsOf()));
});

test("idleTimeout 0s keeps connections for good, and requests are answered", async () => {
  const before = upstream.requests.length;
  for (let i = 0; i < 2; i++) assert.equal((await ask(gw.port, { headers: { host: "never.example" } })).status, 200);
  const ports = upstream.requests.slice(before).map((r) => r.remotePort);
  assert.equal(ports[0], ports[1]);
});
