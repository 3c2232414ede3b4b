// rbac, acl, basicAuth and apiKeyAuth refusals in the exported telemetry, decoded from OTLP:
// tollgate.access_control.denied by route, rule, policy and kind, beside the access log's
// details of each refusal.
import { test } from "node:test";
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { detailsLogPolicy, gatewayYaml, get, namedRule, rulePolicy, startCountingGateway, startPolicyLab, sumPoints } from "./harness.ts";

const NS = "kgateway-system";

const policy = (name: string, section: string, body: string): string => rulePolicy(NS, name, section, body);

test("each rbac, acl, basicAuth and apiKeyAuth refusal is counted under its route, rule, policy and kind; allowed requests are not", async (t) => {
  const { rx, upstream } = await startPolicyLab(t);
  const yaml = gatewayYaml({
    upstreamPort: upstream.port,
    rules: namedRule("admin", "/admin") + namedRule("office", "/office") + namedRule("staff", "/staff") + namedRule("partner", "/partner"),
    extra:
      policy("admins-only", "admin", `  rbac: {policy: {matchExpressions: ["request.headers['x-role'] == 'admin'"]}}\n`).slice(4) +
      policy("office-only", "office", "  acl: {defaultAction: deny, rules: [{name: lan, cidrs: [10.0.0.0/8], action: allow}]}\n") +
      policy("staff-login", "staff", `  basicAuth: {users: ["ann:{SHA}${createHash("sha1").update("pw").digest("base64")}"]}\n`) +
      policy("partner-keys", "partner", "  apiKeyAuth: {secretRef: {name: partner-keys}, keySources: [{query: partner_key}, {header: x-partner-key}]}\n") +
      `---\napiVersion: v1\nkind: Secret\nmetadata: {name: partner-keys, namespace: ${NS}}\nstringData: {acme: k-acme}\n` +
      detailsLogPolicy(NS, "http"),
  });
  const gw = await startCountingGateway(t, yaml, rx, { OTEL_INSTRUMENTATION_HTTP_SERVER_CAPTURE_REQUEST_HEADERS: "x-partner-key,x-other" });

  assert.equal((await get(gw.url(8080, "/admin/1"), { "x-role": "admin" })).status, 200);
  assert.equal((await get(gw.url(8080, "/admin/2"))).status, 403);
  assert.equal((await get(gw.url(8080, "/admin/3"), { "x-role": "user" })).status, 403);
  assert.equal((await get(gw.url(8080, "/office/1"))).status, 403);
  assert.equal((await get(gw.url(8080, "/staff/1"), { authorization: `Basic ${Buffer.from("ann:pw").toString("base64")}` })).status, 200);
  assert.equal((await get(gw.url(8080, "/staff/2"), { authorization: `Basic ${Buffer.from("ann:nope").toString("base64")}` })).status, 401);
  assert.equal((await get(gw.url(8080, "/partner/1?partner_key=k-acme&page=2"))).status, 200);
  assert.equal((await get(gw.url(8080, "/partner/2?partner_key=k-other"))).status, 401);
  assert.equal((await get(gw.url(8080, "/partner/3"), { "x-partner-key": "k-acme", "x-other": "shown" })).status, 200);

  const logs = await rx.waitForLogs((l) => l.filter((r) => r.attributes["url.path"] !== undefined).length >= 9);
  assert.equal(logs.find((r) => r.attributes["url.path"] === "/admin/2")!.attributes["details"], `rbac_access_denied_matched_policy[${NS}/admins-only]`);
  assert.equal(logs.find((r) => r.attributes["url.path"] === "/office/1")!.attributes["details"], `acl_denied[${NS}/office-only:default]`);
  assert.equal(logs.find((r) => r.attributes["url.path"] === "/staff/2")!.attributes["details"], "invalid_credential_for_basic_auth");
  assert.equal(logs.find((r) => r.attributes["url.path"] === "/partner/2")!.attributes["details"], "unkonwn_api_key");
  // The parameter the policy reads keys from is a credential in every view, as access_token is.
  assert.equal(logs.find((r) => r.attributes["url.path"] === "/partner/1")!.attributes["url.query"], "partner_key=REDACTED&page=2");
  const spans = await rx.waitForSpans((all) => all.some((x) => x.attributes["url.path"] === "/partner/2"));
  assert.equal(spans.find((x) => x.attributes["url.path"] === "/partner/2")!.attributes["url.query"], "partner_key=REDACTED");
  // Header capture from the environment (test/telemetry/header-capture-credentials.test.ts
  // covers capture set up before the config marks the name).
  const captured = (await rx.waitForSpans((all) => all.some((x) => x.attributes["url.path"] === "/partner/3"))).find((x) => x.attributes["url.path"] === "/partner/3")!;
  assert.deepEqual(captured.attributes["http.request.header.x-other"], ["shown"], "capture works for other headers");
  assert.equal(captured.attributes["http.request.header.x-partner-key"], undefined, "the key header is never captured");

  await gw.telemetry.flush(5000);
  const metrics = await rx.waitForMetrics((m) => m.some((x) => x.name === "tollgate.access_control.denied"));
  const denied = metrics.find((m) => m.name === "tollgate.access_control.denied")!;
  assert.equal(denied.unit, "{request}");
  const route = `${NS}/httpbin`;
  assert.deepEqual(
    sumPoints(denied).sort((a, b) => String(a.attributes["tollgate.rule.name"]).localeCompare(String(b.attributes["tollgate.rule.name"]))),
    [
      { attributes: { "tollgate.route.name": route, "tollgate.rule.name": "admin", "tollgate.access_control.policy": `${NS}/admins-only`, "tollgate.access_control.kind": "rbac" }, value: 2 },
      { attributes: { "tollgate.route.name": route, "tollgate.rule.name": "office", "tollgate.access_control.policy": `${NS}/office-only`, "tollgate.access_control.kind": "acl" }, value: 1 },
      { attributes: { "tollgate.route.name": route, "tollgate.rule.name": "partner", "tollgate.access_control.policy": `${NS}/partner-keys`, "tollgate.access_control.kind": "api_key_auth" }, value: 1 },
      { attributes: { "tollgate.route.name": route, "tollgate.rule.name": "staff", "tollgate.access_control.policy": `${NS}/staff-login`, "tollgate.access_control.kind": "basic_auth" }, value: 1 },
    ],
  );
});
