// kgateway access log filters (Envoy's AccessLogFilter) end to end: one HTTPListenerPolicy
// with an access log per filter, each under its own logName, exported to a real OTLP
// receiver; requests chosen to pass or fail each filter; the records each log emitted are
// the ones its filter keeps.
import { test } from "node:test";
import assert from "node:assert/strict";
import { startOtlpReceiver } from "../support/otlp-receiver.ts";
import { rawExchange } from "../support/raw-exchange.ts";
import { collectorBackend, gatewayYaml, get, startTracedGateway, startUpstream } from "./harness.ts";

/** An OTLP access log named `name` whose body is the request path, kept by `filter` (YAML flow). */
const logEntry = (name: string, filter: string): string => `  - openTelemetry:
      grpcService:
        backendRef: {name: collector, namespace: kgateway-system, port: 4317}
        logName: ${name}
      body: "%REQ(:PATH)%"
    filter: ${filter}
`;

const FILTERS: Record<string, string> = {
  errors: "{statusCodeFilter: {op: GE, value: 500}}",
  slow: "{durationFilter: {op: GE, value: 250}}",
  tenants: "{headerFilter: {header: {type: RegularExpression, name: x-tenant, value: 'team-[a-c]'}}}",
  noRoute: "{responseFlagFilter: {flags: [NR, UF]}}",
  unavailable: "{grpcStatusFilter: {statuses: [UNAVAILABLE]}}",
  notOk: "{grpcStatusFilter: {statuses: [OK], exclude: true}}",
  traced: "{traceableFilter: true}",
  // As forwarded: a route filter sets x-team, and the client's X-Forwarded-For is not what goes upstream.
  rewritten: "{headerFilter: {header: {name: x-team, value: edge}}}",
  spoofed: "{headerFilter: {header: {name: x-forwarded-for, value: 6.6.6.6}}}",
  repeated: "{headerFilter: {header: {name: x-tag, value: 'a,b'}}}",
  durationEq0: "{andFilter: [{durationFilter: {op: LE, value: 249}}, {statusCodeFilter: {op: EQ, value: 200}}]}",
  malformedGrpc: "{grpcStatusFilter: {statuses: [UNKNOWN]}}",
  nonBool: "{orFilter: [{statusCodeFilter: {op: EQ, value: 599}}, {celFilter: {match: 'dyn(request.method)'}}]}",
  // A header name in any case; its value compared exactly (x-debug: On is not on).
  slowOrDebug: "{orFilter: [{durationFilter: {op: GE, value: 250}}, {headerFilter: {header: {name: X-Debug, value: 'on'}}}]}",
  // notHealthCheckFilter holds for every request here: no healthCheck is configured.
  celAnd: "{andFilter: [{statusCodeFilter: {op: LE, value: 299}}, {celFilter: {match: 'request.method == \"POST\"'}}, {notHealthCheckFilter: true}]}",
  // Reading an absent map key is a run-time error in CEL: such a request is not kept, and the failure is reported.
  celFailing: "{orFilter: [{statusCodeFilter: {op: EQ, value: 404}}, {celFilter: {match: 'request.headers[\"x-tenant\"] == \"team-b\"'}}]}",
};

test("each access log keeps the records its kgateway filter holds for", async (t) => {
  const rx = await startOtlpReceiver("grpc");
  t.after(() => rx.close());
  const upstream = await startUpstream((req, res) => {
    if (req.url === "/api/slow") return void setTimeout(() => res.writeHead(200).end("slow"), 300);
    if (req.url === "/api/grpc-ok") return void res.writeHead(200, { "content-type": "application/grpc", "grpc-status": "0" }).end();
    if (req.url === "/api/grpc-unavailable") return void res.writeHead(200, { "content-type": "application/grpc", "grpc-status": "14" }).end();
    if (req.url === "/api/grpc-garbled") return void res.writeHead(200, { "content-type": "application/grpc", "grpc-status": "abc" }).end();
    res.writeHead(Number(req.headers["x-status"] ?? 200)).end("ok");
  });
  t.after(() => upstream.close());
  const policy = `apiVersion: gateway.kgateway.dev/v1alpha1
kind: HTTPListenerPolicy
metadata: {name: filtered, namespace: kgateway-system}
spec:
  targetRefs: [{group: gateway.networking.k8s.io, kind: Gateway, name: http}]
  accessLog:
${Object.entries(FILTERS).map(([name, filter]) => logEntry(name, filter)).join("")}---
${collectorBackend("collector", "kgateway-system", rx.port)}`;
  // Half the requests are traced: the sampler keeps each with a traceparent flag of 01.
  const backend = `{name: upstream, kind: Backend, group: gateway.tollgate.dev, port: ${upstream.port}}`;
  const rules = `  - matches: [{path: {type: PathPrefix, value: /api/team}}]
    filters: [{type: RequestHeaderModifier, requestHeaderModifier: {set: [{name: x-team, value: edge}]}}]
    backendRefs: [${backend}]
  - matches: [{path: {type: PathPrefix, value: /api}}]
    backendRefs: [${backend}]`;
  const gw = await startTracedGateway(gatewayYaml({ upstreamPort: upstream.port, rules, extra: policy }), {
    OTEL_BLRP_SCHEDULE_DELAY: "20",
    OTEL_BSP_SCHEDULE_DELAY: "20",
    OTEL_EXPORTER_OTLP_ENDPOINT: rx.url,
    OTEL_EXPORTER_OTLP_PROTOCOL: "grpc",
    OTEL_METRIC_EXPORT_INTERVAL: "3600000",
    OTEL_TRACES_SAMPLER: "parentbased_always_off",
  });
  t.after(() => gw.close());

  const sampled = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
  const requests: [string, Record<string, string>, string?][] = [
    ["/api/plain", {}],
    ["/api/fail", { "x-status": "503" }],
    ["/nowhere", {}],
    ["/api/slow", {}],
    ["/api/debugged", { "x-debug": "on" }],
    ["/api/debug-off", { "x-debug": "On" }],
    ["/api/tenant-b", { "x-tenant": "team-b" }],
    ["/api/tenant-z", { "x-tenant": "team-z" }],
    ["/api/grpc-ok", {}],
    ["/api/grpc-unavailable", {}],
    ["/api/traced", { traceparent: sampled }],
    ["/api/posted", {}, "POST"],
    ["/api/spoofed", { "x-forwarded-for": "6.6.6.6" }],
    ["/api/team", {}],
    ["/api/grpc-garbled", {}],
  ];
  for (const [path, headers, method] of requests) await get(gw.url(8080, path), headers, method ?? "GET");
  // A header the client repeats: Envoy joins the values with a bare comma.
  const port = Number(new URL(gw.url(8080, "/")).port);
  assert.match(await rawExchange(port, "GET /api/tagged HTTP/1.1\r\nHost: gw.example\r\nx-tag: a\r\nx-tag: b\r\nConnection: close\r\n\r\n"), /^HTTP\/1\.1 200 /);
  requests.push(["/api/tagged", {}]);

  const logs = await rx.waitForLogs((l) => l.some((r) => r.scope.name === "notOk" && r.body === "/api/tagged"));
  const kept = (name: string): string[] => logs.filter((r) => r.scope.name === name).map((r) => String(r.body)).sort();
  const all = requests.map(([path]) => path).sort();
  assert.deepEqual(kept("errors"), ["/api/fail"]);
  assert.deepEqual(kept("slow"), ["/api/slow"]);
  assert.deepEqual(kept("tenants"), ["/api/tenant-b"]);
  assert.deepEqual(kept("noRoute"), ["/nowhere"]);
  // No grpc-status: the HTTP status mapped as Envoy maps it (503 and 404 are UNAVAILABLE and UNIMPLEMENTED, 200 UNKNOWN).
  assert.deepEqual(kept("unavailable"), ["/api/fail", "/api/grpc-unavailable"]);
  assert.deepEqual(kept("notOk"), all.filter((p) => p !== "/api/grpc-ok"));
  assert.deepEqual(kept("traced"), [], "force-traced requests only, and Tollgate force-traces none");
  assert.deepEqual(kept("rewritten"), ["/api/team"]);
  assert.deepEqual(kept("spoofed"), [], "the client's X-Forwarded-For is replaced before the filter reads it");
  assert.deepEqual(kept("repeated"), ["/api/tagged"]);
  assert.deepEqual(kept("durationEq0"), all.filter((p) => !["/api/slow", "/api/fail", "/nowhere"].includes(p)));
  assert.deepEqual(kept("malformedGrpc"), all.filter((p) => !["/api/fail", "/nowhere", "/api/grpc-ok", "/api/grpc-unavailable", "/api/grpc-garbled"].includes(p)), "a grpc-status that is no status matches none");
  assert.deepEqual(kept("nonBool"), []);
  assert.deepEqual(kept("slowOrDebug"), ["/api/debugged", "/api/slow"]);
  assert.deepEqual(kept("celAnd"), ["/api/posted"]);
  assert.deepEqual(kept("celFailing"), ["/api/tenant-b", "/nowhere"]);

  // Every failed CEL evaluation is counted: celFailing's 13 (the 404 short-circuits, two requests carry x-tenant) and nonBool's 16.
  const exposition = await gw.telemetry.metrics!.render(undefined);
  assert.match(exposition.body, /^tollgate_access_log_filter_errors_total\{tollgate_gateway_name="kgateway-system\/http"[^}]*\} 29$/m);
  const failed = gw.warnings.filter((w) => w.message.startsWith("access-log filter failed to evaluate"));
  assert.equal(failed.length, 1, "one warning a minute per gateway");
  assert.equal(failed[0]!.fields["expression"], "dyn(request.method)", "the first to fail (nonBool precedes celFailing)");
  assert.match(failed[0]!.message, /evaluated to string, not bool/, "worded as for a lone CEL filter");
});

test("runtimeFilter keeps the fraction its X-Request-Id draws as Envoy draws it; 100% keeps all, no percentSampled none", async (t) => {
  const rx = await startOtlpReceiver("grpc");
  t.after(() => rx.close());
  const upstream = await startUpstream((_req, res) => res.writeHead(200).end("ok"));
  t.after(() => upstream.close());
  const sampling: Record<string, string> = {
    // Drawn from the last 8 hex digits of X-Request-Id: every proxy that sees the id decides alike.
    half: "{runtimeFilter: {runtimeKey: access_log.half, percentSampled: {numerator: 50}}}",
    tenThousandths: "{runtimeFilter: {runtimeKey: access_log.fine, percentSampled: {numerator: 5000, denominator: TEN_THOUSAND}}}",
    everyOne: "{runtimeFilter: {runtimeKey: access_log.all, percentSampled: {numerator: 100}, useIndependentRandomness: true}}",
    noRuntime: "{runtimeFilter: {runtimeKey: access_log.unset}}",
    // The same id every time, which the id draw would keep: independent draws keep about half.
    independentHalf: "{runtimeFilter: {runtimeKey: access_log.coin, percentSampled: {numerator: 50}, useIndependentRandomness: true}}",
  };
  const policy = `apiVersion: gateway.kgateway.dev/v1alpha1
kind: HTTPListenerPolicy
metadata: {name: sampled, namespace: kgateway-system}
spec:
  targetRefs: [{group: gateway.networking.k8s.io, kind: Gateway, name: http}]
  accessLog:
${Object.entries(sampling).map(([name, filter]) => logEntry(name, filter)).join("")}---
${collectorBackend("collector", "kgateway-system", rx.port)}`;
  const backend = `{name: upstream, kind: Backend, group: gateway.tollgate.dev, port: ${upstream.port}}`;
  const gw = await startTracedGateway(gatewayYaml({ upstreamPort: upstream.port, rules: `  - backendRefs: [${backend}]`, extra: policy }), {
    OTEL_BLRP_SCHEDULE_DELAY: "20",
    OTEL_BSP_SCHEDULE_DELAY: "20",
    OTEL_EXPORTER_OTLP_ENDPOINT: rx.url,
    OTEL_EXPORTER_OTLP_PROTOCOL: "grpc",
    OTEL_METRIC_EXPORT_INTERVAL: "3600000",
    OTEL_TRACES_SAMPLER: "always_off",
  });
  t.after(() => gw.close());
  const ids: Record<string, string> = {
    // 0x31 = 49 and 0x32 = 50 of 100; 0x1387 = 4999 and 0x1388 = 5000 of 10000.
    "/id-49": "4bf92f35-77b3-4da6-a3ce-929d00000031",
    "/id-50": "4bf92f35-77b3-4da6-a3ce-929d00000032",
    "/id-4999": "4bf92f35-77b3-4da6-a3ce-929d00001387",
    "/id-5000": "4bf92f35-77b3-4da6-a3ce-929d00001388",
  };
  for (const [path, id] of Object.entries(ids)) assert.equal((await get(gw.url(8080, path), { "x-request-id": id })).status, 200);
  for (let i = 0; i < 40; i++) assert.equal((await get(gw.url(8080, `/coin-${i}`), { "x-request-id": ids["/id-49"]! })).status, 200);
  assert.equal((await get(gw.url(8080, "/last"))).status, 200);
  const logs = await rx.waitForLogs((l) => l.some((r) => r.scope.name === "everyOne" && r.body === "/last"));
  const kept = (name: string): string[] => logs.filter((r) => r.scope.name === name).map((r) => String(r.body)).sort();
  const coins = (name: string): string[] => kept(name).filter((p) => p.startsWith("/coin-"));
  assert.deepEqual(kept("everyOne").filter((p) => !p.startsWith("/coin-")), ["/id-49", "/id-4999", "/id-50", "/id-5000", "/last"]);
  assert.equal(coins("everyOne").length, 40);
  // 4999 % 100 = 99 and 5000 % 100 = 0: the id decides for the 50% log too.
  assert.deepEqual(kept("half").filter((p) => p !== "/last" && !p.startsWith("/coin-")), ["/id-49", "/id-5000"]);
  assert.equal(coins("half").length, 40, "the id 0x31 is kept every time");
  assert.deepEqual(kept("tenThousandths").filter((p) => p !== "/last" && !p.startsWith("/coin-")), ["/id-49", "/id-4999", "/id-50"]);
  // Independent of the id: neither all nor none of 40 (each outcome has odds of 2^-40).
  const independent = coins("independentHalf").length;
  assert.ok(independent > 0 && independent < 40, `${independent} of 40 kept`);
  assert.deepEqual(kept("noRuntime"), []);
});
