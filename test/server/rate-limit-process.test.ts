// A local rate limit in the real gateway process (`tollgate run`): a reload of the file for an
// unrelated edit keeps the bucket's tokens (the serving plan hands its buckets over), a resize
// starts it full, and over-limit requests show on the ops port's /metrics, which promtool
// accepts.
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { httpRequest, startGateway, type GatewayProcess } from "../support/gateway-process.ts";
import { startUpstream, type Upstream } from "./fixtures.ts";
import { assertPromtoolAccepts } from "../support/promtool.ts";

function config(upstreamPort: number, maxTokens: number, edited = false): string {
  return `apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: {name: edge}
spec:
  gatewayClassName: tollgate
  listeners: [{name: web, protocol: HTTP, port: 8080}]
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: app}
spec:
  parentRefs: [{name: edge}]
  rules:
  - name: limited
    matches: [{path: {type: PathPrefix, value: /limited}}]
    backendRefs: [{group: gateway.tollgate.dev, kind: Backend, name: app}]
  - name: open
    matches: [{path: {type: PathPrefix, value: /open}}]
${edited ? "    filters: [{type: ResponseHeaderModifier, responseHeaderModifier: {set: [{name: x-edited, value: '1'}]}}]\n" : ""}    backendRefs: [{group: gateway.tollgate.dev, kind: Backend, name: app}]
---
apiVersion: gateway.tollgate.dev/v1alpha1
kind: Backend
metadata: {name: app}
spec:
  endpoints: [{ip: {address: 127.0.0.1, port: ${upstreamPort}}}]
---
apiVersion: gateway.kgateway.dev/v1alpha1
kind: TrafficPolicy
metadata: {name: limit}
spec:
  targetRefs: [{group: gateway.networking.k8s.io, kind: HTTPRoute, name: app, sectionName: limited}]
  rateLimit: {local: {tokenBucket: {maxTokens: ${maxTokens}, fillInterval: 1h}}}
`;
}

let upstream: Upstream;
let gw: GatewayProcess;

before(async () => {
  upstream = await startUpstream("app");
  gw = await startGateway({ config: config(upstream.port, 2), env: { OTEL_METRICS_EXPORTER: "none", OTEL_TRACES_EXPORTER: "none", OTEL_LOGS_EXPORTER: "none" } });
});

after(async () => {
  await gw?.stop();
  await upstream?.close();
});

const status = async (path: string): Promise<number> => (await httpRequest(gw.url(8080, path))).status;


async function reload(text: string): Promise<void> {
  const from = gw.logs().length;
  await gw.writeConfig(text);
  await gw.waitForLog((l) => l.msg === "config reloaded", { from });
}

test("a reload keeps the bucket's tokens through an unrelated edit and starts a resized one full; /metrics counts the refusals", { timeout: 60_000 }, async () => {
  assert.deepEqual([await status("/limited/1"), await status("/limited/2"), await status("/limited/3")], [200, 200, 429]);
  await reload(config(upstream.port, 2, true));
  assert.equal((await httpRequest(gw.url(8080, "/open/x"))).headers["x-edited"], "1", "the edit is live");
  assert.equal(await status("/limited/4"), 429, "an unrelated edit refills nothing");
  await reload(config(upstream.port, 3, true));
  assert.deepEqual([await status("/limited/5"), await status("/limited/6"), await status("/limited/7"), await status("/limited/8")], [200, 200, 200, 429]);

  const exposition = (await httpRequest(gw.opsUrl("/metrics"))).body;
  assert.match(exposition, /^# TYPE tollgate_rate_limit_over_limit_total counter$/m);
  assert.match(exposition, /^tollgate_rate_limit_over_limit_total\{route="default\/app",rule="limited",policy="default\/limit",enforced="true"\} 3$/m);
  assertPromtoolAccepts(exposition);
});
