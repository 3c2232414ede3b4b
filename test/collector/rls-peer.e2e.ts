// TrafficPolicy rateLimit.global against a rate limit service built on Envoy's own generated
// rls types (test/peers/ext-authz: go-control-plane and grpc-go, built by
// scripts/build-ext-authz-peer.sh). The gateway declares the messages itself; this proves
// that what it writes decodes as Envoy's RateLimitRequest, descriptor by descriptor, and that
// it reads Envoy's RateLimitResponse: codes, statuses with their Duration, headers and body.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { GATEWAY_YAML, type GatewayUnderTest, ask, backendYaml, ref, routeYaml, startGateway, targetedTrafficPolicyYaml } from "../proxy/harness.ts";
import { RecordingTelemetry } from "../proxy/recording-telemetry.ts";
import { type EnvoyApiPeer, startEnvoyApiPeer } from "../support/envoy-api-peer.ts";
import { type TestUpstream, startUpstream } from "../support/upstreams.ts";

/** A RateLimitRequest as Envoy's protojson prints it. */
interface PrintedRateLimitCall {
  readonly traceparent: string;
  readonly rls: { readonly domain: string; readonly descriptors: readonly { readonly entries: readonly { readonly key: string; readonly value: string }[] }[] };
}

let peer: EnvoyApiPeer;
let app: TestUpstream;
let gw: GatewayUnderTest;

before(async () => {
  peer = await startEnvoyApiPeer();
  app = await startUpstream("app");
  gw = await startGateway(
    GATEWAY_YAML +
      backendYaml("app", app.port) +
      backendYaml("rls", peer.port) +
      `---
apiVersion: gateway.kgateway.dev/v1alpha1
kind: GatewayExtension
metadata: {name: limits, namespace: default}
spec:
  rateLimit:
    grpcService: {backendRef: {group: gateway.tollgate.dev, kind: Backend, name: rls}}
    domain: storefront
    failOpen: false
    timeout: 10s
    xRateLimitHeaders: DraftVersion03
` +
      routeYaml(`    - matches: [{path: {type: PathPrefix, value: /shop}}]
      backendRefs: [${ref("app")}]
`) +
      targetedTrafficPolicyYaml(
        "limit",
        "HTTPRoute",
        "r",
        `  rateLimit:
    global:
      extensionRef: {name: limits}
      descriptors:
      - entries: [{type: Generic, generic: {key: service, value: shop}}, {type: RemoteAddress}]
      - entries: [{type: Path}]
      - entries: [{type: Header, header: x-scenario}]
`,
      ),
    new RecordingTelemetry(),
  );
});

after(async () => {
  await gw.close();
  await app.close();
  await peer.stop();
});

const rlsCalls = (): PrintedRateLimitCall[] => peer.calls.filter((c) => "rls" in c) as unknown as PrintedRateLimitCall[];

test("Envoy's RateLimitRequest decodes the domain and every descriptor the gateway sends", async () => {
  const reply = await ask(gw.port, { path: "/shop/cart?item=7" });
  assert.equal(reply.status, 200, reply.body.toString());
  const call = rlsCalls().at(-1)!;
  assert.equal(call.rls.domain, "storefront");
  assert.deepEqual(call.rls.descriptors, [
    { entries: [{ key: "service", value: "shop" }, { key: "remote_address", value: "127.0.0.1" }] },
    { entries: [{ key: "path", value: "/shop/cart?item=7" }] },
  ]);
  assert.match(call.traceparent, /^00-[0-9a-f]{32}-[0-9a-f]{16}-0[01]$/);
});

test("Envoy's RateLimitResponse: OK's headers both ways; OVER_LIMIT's statuses, headers and body; UNKNOWN taken as OK, as Envoy takes it", async () => {
  const ok = await ask(gw.port, { path: "/shop/ok" });
  assert.equal(ok.status, 200);
  assert.equal((ok.json()["headers"] as Record<string, string>)["x-rls-tier"], "gold");
  assert.equal(ok.headers["x-rls-note"], "raw", "a raw_value stands in for an empty value");
  assert.equal(ok.headers["x-ratelimit-limit"], "10, 10;w=1;name=\"per-client\"");
  assert.equal(ok.headers["x-ratelimit-remaining"], "9");
  assert.equal(ok.headers["x-ratelimit-reset"], undefined, "no duration_until_reset, no reset");

  const over = await ask(gw.port, { path: "/shop/over", headers: { "x-scenario": "over" } });
  assert.equal(over.status, 429);
  assert.equal(over.body.toString(), "over the limit");
  assert.equal(over.headers["x-envoy-ratelimited"], "true");
  assert.equal(over.headers["x-rls-policy"], "per-client");
  assert.equal(over.headers["x-ratelimit-limit"], "10, 10;w=60;name=\"per-client\", 1000;w=3600");
  assert.equal(over.headers["x-ratelimit-remaining"], "0");
  assert.equal(over.headers["x-ratelimit-reset"], "31", "30.5 s rounds up");
  assert.deepEqual(rlsCalls().at(-1)!.rls.descriptors.at(-1), { entries: [{ key: "x-scenario", value: "over" }] });

  const unknown = await ask(gw.port, { path: "/shop/unknown", headers: { "x-scenario": "unknown" } });
  assert.equal(unknown.status, 200, "even with failOpen false: UNKNOWN is a verdict, not a failure");
  assert.equal(app.requests.some((r) => r.url === "/shop/over"), false);
  assert.equal(app.requests.some((r) => r.url === "/shop/unknown"), true);
});
