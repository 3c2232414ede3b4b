// A CEL access-log filter that fails at run time logs nothing for that request; the failure
// is counted (tollgate.access_log.filter.errors, per gateway) and warned about once a
// minute with the expression, so a broken filter cannot go unnoticed.
import { test } from "node:test";
import assert from "node:assert/strict";
import { accessLogMatchPolicyYaml, gatewayYaml, get, sumPoints } from "./harness.ts";
import { startRig } from "./rig.ts";

test("a filter that errors at run time logs nothing, counts every failure and warns once per minute", async (t) => {
  // `request.headers` is a map: reading an absent key is a run-time error in CEL.
  const expression = 'request.headers["x-tenant"] == "blue"';
  const { rx, gw } = await startRig(t, {
    transport: "http",
    yaml: (upstreamPort) => gatewayYaml({ upstreamPort, extra: accessLogMatchPolicyYaml(expression) }),
    env: (rx) => ({
      OTEL_EXPORTER_OTLP_ENDPOINT: rx.url,
      OTEL_BLRP_SCHEDULE_DELAY: "20",
      OTEL_TRACES_EXPORTER: "none",
      OTEL_METRIC_EXPORT_INTERVAL: "3600000",
    }),
  });

  for (let i = 0; i < 3; i++) assert.equal((await get(gw.url(8080, "/api/no-tenant"))).status, 200, "the request itself is unaffected");
  await get(gw.url(8080, "/api/blue"), { "x-tenant": "blue" });
  await get(gw.url(8080, "/api/red"), { "x-tenant": "red" });
  await gw.telemetry.flush(5000);

  const logs = await rx.waitForLogs((l) => l.length >= 1);
  assert.deepEqual(logs.map((l) => l.attributes["url.path"]), ["/api/blue"], "only the request the filter accepted");

  const warnings = gw.warnings.filter((w) => w.message.startsWith("access-log filter failed to evaluate"));
  assert.equal(warnings.length, 1, "rate limited: one warning for three failures within a minute");
  assert.equal(warnings[0]!.fields["expression"], expression);
  assert.equal(warnings[0]!.fields["gateway"], "kgateway-system/http");
  assert.equal(warnings[0]!.fields["signal"], "logs");
  assert.match(warnings[0]!.message, /x-tenant/, "the cause names the missing key");

  const metrics = await rx.waitForMetrics((m) => m.some((x) => x.name === "tollgate.access_log.filter.errors"));
  const metric = metrics.find((m) => m.name === "tollgate.access_log.filter.errors")!;
  assert.equal(metric.unit, "{evaluation}");
  assert.deepEqual(sumPoints(metric), [{ attributes: { "tollgate.gateway.name": "kgateway-system/http" }, value: 3 }]);

  const exposition = await gw.telemetry.metrics!.render(undefined);
  assert.match(exposition.body, /^tollgate_access_log_filter_errors_total\{tollgate_gateway_name="kgateway-system\/http",otel_scope_name="tollgate"[^}]*\} 3$/m);
});

test("a filter that yields a non-bool value counts as a failure, not as a silent skip", async (t) => {
  const { rx, gw } = await startRig(t, {
    transport: "http",
    yaml: (upstreamPort) => gatewayYaml({ upstreamPort, extra: accessLogMatchPolicyYaml("dyn(request.headers)") }),
    env: (rx) => ({ OTEL_EXPORTER_OTLP_ENDPOINT: rx.url, OTEL_TRACES_EXPORTER: "none", OTEL_METRICS_EXPORTER: "none" }),
  });
  await get(gw.url(8080, "/api/x"));
  await gw.telemetry.flush(2000);
  assert.equal(rx.logs.length, 0);
  const warnings = gw.warnings.filter((w) => w.message.startsWith("access-log filter failed to evaluate"));
  assert.equal(warnings.length, 1);
  assert.match(warnings[0]!.message, /not bool/);
});

for (const [expression, headers, code] of [
  // The duration string comes from the request, not from the expression.
  ['duration(request.headers["x-t"]) > duration("1s")', { "x-t": "Bearer qqcel1" }, "invalid_duration"],
  // So does the missing key.
  ['request.headers[request.headers["x-k"]] == "x"', { "x-k": "Bearer qqcel2" }, "no_such_key"],
] as const) {
  test(`a failure whose CEL message quotes request data warns with the error code only (${code})`, async (t) => {
    const { gw } = await startRig(t, {
      transport: "http",
      yaml: (upstreamPort) => gatewayYaml({ upstreamPort, extra: accessLogMatchPolicyYaml(expression) }),
      env: (rx) => ({ OTEL_EXPORTER_OTLP_ENDPOINT: rx.url, OTEL_TRACES_EXPORTER: "none", OTEL_METRICS_EXPORTER: "none" }),
    });
    assert.equal((await get(gw.url(8080, "/api/x"), headers)).status, 200);
    await gw.telemetry.flush(2000);
    const warnings = gw.warnings.filter((w) => w.message.startsWith("access-log filter failed to evaluate"));
    assert.deepEqual(
      warnings.map((w) => w.message),
      [`access-log filter failed to evaluate, the request was not logged: ${code} (the message is withheld: it may quote request data)`],
    );
    assert.ok(!JSON.stringify(gw.warnings).includes("qqcel"), JSON.stringify(gw.warnings));
  });
}
