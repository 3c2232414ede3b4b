// ListenerPolicy `proxyProtocol` in the real gateway process (`tollgate run`): a request
// behind a PROXY protocol v1 header is served, a connection without one is closed unanswered
// and counted on /metrics by port and reason (checked with promtool), the admin API shows
// the port, and a reload that drops the policy serves plain connections again.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { httpRequest, startGateway, type GatewayProcess } from "../support/gateway-process.ts";
import { assertPromtoolAccepts } from "../support/promtool.ts";
import { rawExchange } from "../support/raw-exchange.ts";
import { gatewayConfig, sampleValue, startUpstream, type Upstream } from "./fixtures.ts";

const POLICY = `---
apiVersion: gateway.kgateway.dev/v1alpha1
kind: ListenerPolicy
metadata: {name: behind-nlb, namespace: default}
spec:
  targetRefs: [{group: gateway.networking.k8s.io, kind: Gateway, name: edge}]
  default: {proxyProtocol: {}}
`;

const request = (path: string): string => `GET ${path} HTTP/1.1\r\nHost: edge.example\r\nConnection: close\r\n\r\n`;

describe("a PROXY protocol listener in the gateway process", () => {
  let upstream: Upstream;
  let gw: GatewayProcess;
  let config: string;

  before(async () => {
    upstream = await startUpstream("app");
    config = gatewayConfig([{ name: "app", path: "/", upstreamPort: upstream.port }]);
    gw = await startGateway({ config: config + POLICY });
  });
  after(async () => {
    await gw.stop();
    await upstream.close();
  });

  it("serves a request behind a v1 header; closes a connection without one unanswered, counted on /metrics", { timeout: 60_000 }, async () => {
    const served = await rawExchange(gw.port(8080), `PROXY TCP4 203.0.113.7 127.0.0.1 40000 8080\r\n${request("/behind")}`);
    assert.match(served, /^HTTP\/1\.1 200 /);
    assert.ok(served.includes("\r\napp /behind\r\n"), served);
    assert.equal(await rawExchange(gw.port(8080), request("/plain")), "");
    assert.deepEqual(upstream.received, ["/behind"]);
    const exposition = (await httpRequest(gw.opsUrl("/metrics"))).body;
    assert.equal(sampleValue(exposition, "tollgate_listener_proxy_protocol_errors_total", { server_port: "8080", reason: "invalid" }), 1, exposition.split("\n").filter((l) => l.includes("proxy_protocol")).join("\n"));
    assertPromtoolAccepts(exposition);
    const shown = (JSON.parse((await httpRequest(gw.adminUrl("/config"))).body) as { config: { gateways: { proxyProtocolPorts: number[] }[] } }).config;
    assert.deepEqual(shown.gateways.map((g) => g.proxyProtocolPorts), [[8080]]);
  });

  it("a reload without the policy serves plain connections on the same port", { timeout: 60_000 }, async () => {
    const from = gw.logs().length;
    await gw.writeConfig(config);
    await gw.waitForLog((l) => l.msg === "config reloaded", { from });
    const plain = await rawExchange(gw.port(8080), request("/plain-again"));
    assert.match(plain, /^HTTP\/1\.1 200 /);
    assert.ok(plain.includes("\r\napp /plain-again\r\n"), plain);
  });

  it("a drain closes connections still waiting for their header, while requests in flight finish", { timeout: 60_000 }, async () => {
    // A header timeout far past the test's own: only the drain can close the waiting connection.
    const from = gw.logs().length;
    await gw.writeConfig(config + POLICY.replace("default: {proxyProtocol: {}}", "default: {proxyProtocol: {}, httpSettings: {requestHeadersTimeout: 10m}}"));
    await gw.waitForLog((l) => l.msg === "config reloaded", { from });
    upstream.hold();
    const inFlight = rawExchange(gw.port(8080), `PROXY TCP4 203.0.113.7 127.0.0.1 40000 8080\r\n${request("/in-flight")}`);
    await upstream.heldCount(1);
    const waiting = rawExchange(gw.port(8080), "PROXY TCP4 ");
    // Time for the gateway to accept it: one accepted after the drain began would be refused, proving nothing.
    await new Promise((resolve) => setTimeout(resolve, 50));
    const drainFrom = gw.logs().length;
    gw.signal("SIGTERM");
    await gw.waitForLog((l) => l.msg === "drain: stopped accepting connections", { from: drainFrom });
    assert.equal(await waiting, "", "closed unanswered while the drain still waits for the request in flight");
    upstream.release();
    const answered = await inFlight;
    assert.match(answered, /^HTTP\/1\.1 200 /);
    assert.deepEqual(await gw.waitForExit(), { code: 0, signal: null });
  });
});
