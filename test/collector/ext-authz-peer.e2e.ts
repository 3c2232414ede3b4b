// ExternalAuth with protocol GRPC against an authorization service built on Envoy's own
// generated ext_authz types (test/peers/ext-authz: go-control-plane and grpc-go, built by
// scripts/build-ext-authz-peer.sh). The gateway declares the messages itself; this proves
// that what it writes decodes as Envoy's CheckRequest, field by field, and that it reads
// Envoy's CheckResponse, header actions and denials included.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { GATEWAY_YAML, type GatewayUnderTest, ask, backendYaml, ref, routeYaml, startGateway, targetedTrafficPolicyYaml } from "../proxy/harness.ts";
import { RecordingTelemetry } from "../proxy/recording-telemetry.ts";
import { type EnvoyApiPeer, startEnvoyApiPeer } from "../support/envoy-api-peer.ts";
import { type TestUpstream, startUpstream } from "../support/upstreams.ts";

/** A CheckRequest as Envoy's protojson prints it (lowerCamelCase names, int64 as strings). */
interface PrintedCheck {
  readonly traceparent: string;
  readonly request: {
    readonly attributes: {
      readonly source: { readonly address: { readonly socketAddress: { readonly address: string; readonly portValue: number } } };
      readonly destination: { readonly address: { readonly socketAddress: { readonly address: string; readonly portValue: number } } };
      readonly request: {
        readonly time: string;
        readonly http: {
          readonly id: string;
          readonly method: string;
          readonly headers: Record<string, string>;
          readonly path: string;
          readonly host: string;
          readonly scheme: string;
          readonly size?: string;
          readonly protocol: string;
          readonly body?: string;
          readonly rawBody?: string;
        };
      };
      readonly contextExtensions?: Record<string, string>;
    };
  };
}

let peer: EnvoyApiPeer;
let checks: PrintedCheck[];
let app: TestUpstream;
let gw: GatewayUnderTest;
const telemetry = new RecordingTelemetry();

before(async () => {
  peer = await startEnvoyApiPeer();
  checks = peer.calls as unknown as PrintedCheck[];
  const port = peer.port;
  app = await startUpstream("app");
  gw = await startGateway(
    GATEWAY_YAML +
      backendYaml("app", app.port) +
      backendYaml("authz", port) +
      routeYaml(`    - matches: [{path: {type: PathPrefix, value: /app}}]
      filters:
      - type: ExternalAuth
        externalAuth: {protocol: GRPC, backendRef: ${ref("authz")}, forwardBody: {maxSize: 1024}}
      backendRefs: [${ref("app")}]
    - name: policy
      matches: [{path: {type: PathPrefix, value: /policy}}]
      backendRefs: [${ref("app")}]
`) +
      `---
apiVersion: gateway.kgateway.dev/v1alpha1
kind: GatewayExtension
metadata: {name: authz, namespace: default}
spec:
  extAuth:
    grpcService: {backendRef: ${ref("authz")}, requestTimeout: 10s}
` +
      targetedTrafficPolicyYaml(
        "policy",
        "HTTPRoute",
        "r",
        "  extAuth:\n    extensionRef: {name: authz}\n    contextExtensions: {tier: gold, zone: edge-1}\n    withRequestBody: {maxRequestBytes: 64, packAsBytes: true}\n",
      ).replace("name: r}]", "name: r, sectionName: policy}]"),
    telemetry,
  );
});

after(async () => {
  await gw.close();
  await app.close();
  await peer.stop();
});

function checkOf(path: string): PrintedCheck {
  const found = checks.find((c) => c.request.attributes.request.http.path === path);
  assert.ok(found, `the peer decoded a check of ${path}; it saw ${checks.map((c) => c.request.attributes.request.http.path).join(", ")}`);
  return found;
}

test("Envoy's CheckRequest decodes every attribute the gateway sends", async () => {
  const reply = await ask(gw.port, {
    method: "POST",
    path: "/app/orders?id=7",
    headers: { host: "shop.example", authorization: "Bearer other", "x-request-id": "rid-1", "content-type": "text/plain" },
    body: "qty=2",
  });
  assert.equal(reply.status, 200, reply.body.toString());
  const check = checkOf("/app/orders?id=7");
  const http = check.request.attributes.request.http;
  assert.equal(http.method, "POST");
  assert.equal(http.host, "shop.example");
  assert.equal(http.scheme, "http");
  assert.equal(http.protocol, "HTTP/1.1");
  assert.equal(http.id, "rid-1");
  assert.equal(http.size, "5");
  assert.equal(http.body, "qty=2");
  assert.equal(http.headers[":authority"], "shop.example");
  assert.equal(http.headers[":method"], "POST");
  assert.equal(http.headers[":path"], "/app/orders?id=7");
  assert.equal(http.headers["content-type"], "text/plain");
  assert.equal(check.request.attributes.source.address.socketAddress.address, "127.0.0.1");
  assert.equal(check.request.attributes.destination.address.socketAddress.portValue, gw.port);
  assert.ok(Math.abs(Date.parse(check.request.attributes.request.time) - Date.now()) < 60_000, `a time Envoy's Timestamp reads: ${check.request.attributes.request.time}`);
  assert.match(check.traceparent, /^00-[0-9a-f]{32}-[0-9a-f]{16}-0[01]$/);

  const binary = await ask(gw.port, { method: "POST", path: "/app/binary", body: Buffer.from([0xff, 0x00, 0x41]) });
  assert.equal(binary.status, 200);
  assert.equal(checkOf("/app/binary").request.attributes.request.http.rawBody, Buffer.from([0xff, 0x00, 0x41]).toString("base64"));
});

test("Envoy's CheckResponse: an OK answer's header actions, removals and response headers; a denial's status, headers and body; a failed call", async () => {
  const allowed = await ask(gw.port, { path: "/app/allowed", headers: { authorization: "Bearer good", "x-user-id": "mallory", "x-tier": "bronze", "x-appended": "one" } });
  assert.equal(allowed.status, 200);
  const upstream = allowed.json()["headers"] as Record<string, string>;
  assert.equal(upstream["x-user-id"], "mallory,alice", "APPEND_IF_EXISTS_OR_ADD appends to the client's own value, as in Envoy");
  assert.equal(upstream["x-tier"], "bronze");
  assert.equal(upstream["x-note"], undefined);
  assert.equal(upstream["x-replaced"], "by-auth");
  assert.equal(upstream["x-appended"], "one,two");
  assert.equal(upstream["x-raw"], "bytes");
  assert.equal(upstream["authorization"], undefined);
  assert.equal(allowed.headers["x-auth-served"], "yes");

  const denied = await ask(gw.port, { path: "/app/denied", headers: { authorization: "Bearer bad" } });
  assert.equal(denied.status, 401);
  assert.equal(denied.headers["www-authenticate"], 'Bearer realm="edge"');
  assert.deepEqual(denied.json(), { error: "token expired" });

  const failed = await ask(gw.port, { path: "/app/failed", headers: { authorization: "Bearer unavailable" } });
  assert.equal(failed.status, 403);
  assert.equal(failed.json()["error"], "ext_authz_error");
  assert.equal(app.requests.some((r) => r.url === "/app/denied" || r.url === "/app/failed"), false);
});

test("a TrafficPolicy extAuth's context extensions and packed body decode as Envoy's context_extensions and raw_body", async () => {
  const reply = await ask(gw.port, { method: "POST", path: "/policy/x", headers: { authorization: "Bearer good" }, body: "text body" });
  assert.equal(reply.status, 200, reply.body.toString());
  const check = checkOf("/policy/x");
  assert.deepEqual(check.request.attributes.contextExtensions, { tier: "gold", zone: "edge-1" });
  assert.equal(check.request.attributes.request.http.body, undefined);
  assert.equal(check.request.attributes.request.http.rawBody, Buffer.from("text body").toString("base64"));
  assert.equal((await ask(gw.port, { path: "/app/no-extensions" })).status, 200);
  assert.equal(checkOf("/app/no-extensions").request.attributes.contextExtensions, undefined, "the HTTPRoute filter sends none");
});
