// TOLLGATE_SENSITIVE_HEADERS adds header names whose values are credentials, on top of
// Authorization, Proxy-Authorization, Cookie and Set-Cookie: header capture refuses them,
// and the admin API redacts them as it redacts the defaults. Real gateway processes: the
// list is read once per process.
import { test } from "node:test";
import assert from "node:assert/strict";
import { httpRequest, startGateway } from "../support/gateway-process.ts";
import { startProcessRig } from "./rig.ts";
import { gatewayYaml, startUpstream } from "./harness.ts";
import { DEFAULT_SENSITIVE_HEADERS, sensitiveHeaders } from "../../src/config/sensitive.ts";

test("the variable's names join the defaults, lower-cased; blanks are dropped", () => {
  assert.deepEqual([...sensitiveHeaders(undefined)], DEFAULT_SENSITIVE_HEADERS);
  assert.deepEqual([...sensitiveHeaders(" X-Api-Key, ,x-auth-token,Cookie")], [...DEFAULT_SENSITIVE_HEADERS, "x-api-key", "x-auth-token"]);
});

test("an added header is not captured on spans unless explicitly allowed; other captured headers are", async (t) => {
  const { rx, gw } = await startProcessRig(t, {
    transport: "http",
    env: (rx) => ({
      TOLLGATE_SENSITIVE_HEADERS: "X-Api-Key",
      OTEL_EXPORTER_OTLP_ENDPOINT: rx.url,
      OTEL_METRICS_EXPORTER: "none",
      OTEL_INSTRUMENTATION_HTTP_SERVER_CAPTURE_REQUEST_HEADERS: "x-api-key,x-env",
      OTEL_BSP_SCHEDULE_DELAY: "20",
    }),
  });
  const res = await httpRequest(gw.url(8080, "/api/x"), { headers: { "x-api-key": "k3y-qq", "x-env": "prod" } });
  assert.equal(res.status, 200);
  const spans = await rx.waitForSpans((s) => s.some((x) => x.kind === 2));
  const server = spans.find((s) => s.kind === 2)!;
  assert.deepEqual(server.attributes["http.request.header.x-env"], ["prod"]);
  assert.equal(server.attributes["http.request.header.x-api-key"], undefined);
  assert.doesNotMatch(JSON.stringify(spans, (_k, v: unknown) => (typeof v === "bigint" ? String(v) : v)), /k3y-qq/);
  assert.ok(
    gw.logs().some((l) => String(l.msg).includes("'x-api-key' is sensitive and is not captured unless TOLLGATE_TRACES_ALLOW_SENSITIVE_HEADERS lists it")),
    "the refused capture is reported",
  );
});

test("the admin API redacts added headers and sensitive query values of URLs", async (t) => {
  const upstream = await startUpstream();
  t.after(() => upstream.close());
  const config = gatewayYaml({
    upstreamPort: upstream.port,
    rules: `  - matches:
    - path: {type: PathPrefix, value: /api}
      headers: [{name: X-Api-Key, value: qqmatchkey}]
    filters:
    - type: RequestHeaderModifier
      requestHeaderModifier:
        set: [{name: x-api-key, value: qqsetkey}, {name: X-Env, value: prod}]
    backendRefs:
    - {name: upstream, kind: Backend, group: gateway.tollgate.dev, port: ${upstream.port}}`,
    extra: `apiVersion: gateway.networking.x-k8s.io/v1alpha1
kind: TelemetryPolicy
metadata: {name: tp, namespace: kgateway-system}
spec:
  targetRefs: [{group: gateway.networking.k8s.io, kind: Gateway, name: http}]
  tracing:
    provider: {endpoint: "http://127.0.0.1:9/v1/traces?X-Amz-Signature=qqsignature&tenant=a"}
`,
  });
  const gw = await startGateway({ config, env: { TOLLGATE_SENSITIVE_HEADERS: "x-api-key" } });
  t.after(() => gw.stop());
  const proxied = await httpRequest(gw.url(8080, "/api/y"), { headers: { "x-api-key": "qqmatchkey" } });
  assert.equal(proxied.status, 200, "the header still routes and is still set upstream");
  assert.equal(upstream.seen.at(-1)?.["x-api-key"], "qqsetkey");

  const configView = await httpRequest(gw.adminUrl("/config"));
  assert.equal(configView.status, 200);
  assert.doesNotMatch(configView.body, /qqmatchkey|qqsetkey|qqsignature/);
  assert.match(configView.body, /"prod"/, "other header values stay");
  assert.match(configView.body, /X-Amz-Signature=\[REDACTED\]&tenant=a/);
  const routesView = await httpRequest(gw.adminUrl("/routes"));
  assert.equal(routesView.status, 200);
  assert.doesNotMatch(routesView.body, /qqmatchkey/);
  assert.match(routesView.body, /"name":"x-api-key","type":"Exact","value":"\[REDACTED\]"/);
});
