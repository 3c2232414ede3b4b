// Authorization, Proxy-Authorization, Cookie and Set-Cookie in access logs, one path at a
// time: Header fields (a validation error without allowSensitive, the value with it), Envoy
// %REQ()%/%RESP()% operators (REDACTED unless TOLLGATE_LOGS_ALLOW_SENSITIVE_HEADERS names
// the header), and the default attributes. CEL can only filter, never select a value, so
// no value reaches a record through it (the filter below reads the Authorization header).
// The stdout sink serialises these same records: test/telemetry/logs-stdout.test.ts.
import { test } from "node:test";
import assert from "node:assert/strict";
import { loadConfigText } from "../../src/config/load.ts";
import { formatDiagnostic } from "../../src/config/diagnostics.ts";
import { startOtlpReceiver, type ReceivedLogRecord } from "../support/otlp-receiver.ts";
import { accessLogMatchPolicyYaml, gatewayYaml, get, otelAccessLogPolicyYaml, startTracedGateway, startUpstream } from "./harness.ts";

const SENSITIVE = ["Authorization", "Proxy-Authorization", "Cookie", "Set-Cookie"] as const;
const REQUEST_SECRETS: Record<string, string> = {
  authorization: "Bearer req-authz-secret",
  "proxy-authorization": "Basic req-proxy-secret",
  cookie: "sid=req-cookie-secret",
  "set-cookie": "req-set-cookie-secret=1",
};
const RESPONSE_SECRETS: Record<string, string> = {
  authorization: "Bearer resp-authz-secret",
  "proxy-authorization": "Basic resp-proxy-secret",
  cookie: "sid=resp-cookie-secret",
  "set-cookie": "resp-set-cookie-secret=1; HttpOnly",
};
/** Every secret value above contains this marker; nothing outside an opt-in may. */
const MARKER = "-secret";

function recordText(log: ReceivedLogRecord): string {
  return JSON.stringify(log, (_k, v) => (typeof v === "bigint" ? String(v) : v));
}

function fieldsPolicy(allowSensitive: boolean | undefined): string {
  const fields = SENSITIVE.map((h) => `    - {name: f-${h.toLowerCase()}, type: Header, headerName: ${h}${allowSensitive === undefined ? "" : `, allowSensitive: ${allowSensitive}`}}`).join("\n");
  return accessLogMatchPolicyYaml('request.headers["authorization"] != ""', `    fields:\n${fields}\n`);
}

test("Header fields naming any of the four need allowSensitive: true, else validation fails with a hint", () => {
  for (const allow of [undefined, false]) {
    const result = loadConfigText(gatewayYaml({ upstreamPort: 9, extra: fieldsPolicy(allow) }), "redaction.yaml");
    assert.equal(result.config, undefined);
    const errors = result.diagnostics.filter((d) => d.severity === "error").map(formatDiagnostic);
    assert.equal(errors.length, SENSITIVE.length, errors.join("\n"));
    SENSITIVE.forEach((h, i) => {
      assert.match(errors[i]!, new RegExp(`^redaction\\.yaml:\\d+:\\d+: spec\\.accessLogs\\.fields\\[${i}\\]\\.headerName: .*${h}.*\\(hint: .*allowSensitive`, "i"));
    });
  }
});

function upstreamWithSecrets() {
  return startUpstream((_req, res) => {
    res.setHeader("content-type", "text/plain");
    for (const [k, v] of Object.entries(RESPONSE_SECRETS)) res.setHeader(k, v);
    res.writeHead(200).end("ok");
  });
}

test("Header fields with allowSensitive: true log exactly the opted-in values; the default attributes never carry any of the four", async (t) => {
  const rx = await startOtlpReceiver("http");
  t.after(() => rx.close());
  const upstream = await upstreamWithSecrets();
  t.after(() => upstream.close());
  const gw = await startTracedGateway(gatewayYaml({ upstreamPort: upstream.port, extra: fieldsPolicy(true) }), { OTEL_EXPORTER_OTLP_ENDPOINT: rx.url, OTEL_BLRP_SCHEDULE_DELAY: "20", OTEL_TRACES_EXPORTER: "none", OTEL_METRICS_EXPORTER: "none" });
  t.after(() => gw.close());
  await get(gw.url(8080, "/api/x"), REQUEST_SECRETS);
  const [log] = await rx.waitForLogs((l) => l.length >= 1);
  for (const h of SENSITIVE) assert.equal(log!.attributes[`f-${h.toLowerCase()}`], REQUEST_SECRETS[h.toLowerCase()], `${h}: opted in`);
  const withoutFields = { ...log!.attributes };
  for (const h of SENSITIVE) delete withoutFields[`f-${h.toLowerCase()}`];
  const rest = JSON.stringify({ ...log, attributes: withoutFields }, (_k, v) => (typeof v === "bigint" ? String(v) : v));
  assert.ok(!rest.includes(MARKER), `secrets appear only in the opted-in fields: ${rest}`);
});

function operatorPolicy(collectorPort: number): string {
  const ops = SENSITIVE.flatMap((h) => [`req-${h}=%REQ(${h})%`, `resp-${h}=%RESP(${h})%`]).join(" ");
  return otelAccessLogPolicyYaml("ops", collectorPort, `      body: "${ops} fb=%REQ(X-None?Authorization)%"\n`);
}

for (const allowed of [[], ["cookie", "set-cookie"], ["authorization", "proxy-authorization", "cookie", "set-cookie"]] as const) {
  test(`%REQ()%/%RESP()% for the four headers, TOLLGATE_LOGS_ALLOW_SENSITIVE_HEADERS=${allowed.join(",") || "(unset)"}`, async (t) => {
    const rx = await startOtlpReceiver("grpc");
    t.after(() => rx.close());
    const upstream = await upstreamWithSecrets();
    t.after(() => upstream.close());
    const env: Record<string, string> = { OTEL_BLRP_SCHEDULE_DELAY: "20", OTEL_TRACES_EXPORTER: "none", OTEL_METRICS_EXPORTER: "none" };
    if (allowed.length > 0) env["TOLLGATE_LOGS_ALLOW_SENSITIVE_HEADERS"] = allowed.map((h) => h.toUpperCase()).join(",");
    const gw = await startTracedGateway(gatewayYaml({ upstreamPort: upstream.port, extra: operatorPolicy(rx.port) }), env);
    t.after(() => gw.close());
    await get(gw.url(8080, "/api/x"), REQUEST_SECRETS);
    const [log] = await rx.waitForLogs((l) => l.length >= 1);
    const expected = SENSITIVE.flatMap((h) => {
      const k = h.toLowerCase();
      const open = (allowed as readonly string[]).includes(k);
      // Proxy-Authorization is hop-by-hop: the proxy never forwards it in a response, so it is absent.
      const resp = k === "proxy-authorization" ? "-" : open ? RESPONSE_SECRETS[k] : "REDACTED";
      return [`req-${h}=${open ? REQUEST_SECRETS[k] : "REDACTED"}`, `resp-${h}=${resp}`];
    });
    const fallback = (allowed as readonly string[]).includes("authorization") ? REQUEST_SECRETS["authorization"] : "REDACTED";
    assert.equal(log!.body, `${expected.join(" ")} fb=${fallback}`);
    const text = recordText(log!);
    for (const h of SENSITIVE) {
      const k = h.toLowerCase();
      if ((allowed as readonly string[]).includes(k)) continue;
      for (const secret of [REQUEST_SECRETS[k]!, RESPONSE_SECRETS[k]!]) assert.ok(!text.includes(secret), `${secret} must not appear`);
    }
  });
}
