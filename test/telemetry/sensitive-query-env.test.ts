// TOLLGATE_SENSITIVE_QUERY_PARAMS adds query parameter names whose values every signal and
// the admin API redact, on top of the semconv's list, SigV4's and RFC 6750's access_token.
// A real gateway process: the list is read once per process.
import { test } from "node:test";
import assert from "node:assert/strict";
import { httpRequest } from "../support/gateway-process.ts";
import { startProcessRig } from "./rig.ts";
import { sensitiveQueryParams } from "../../src/config/sensitive.ts";

test("the variable's names join the defaults; blanks and repeats are dropped", () => {
  assert.deepEqual(sensitiveQueryParams(undefined).slice(-1), ["access_token"]);
  assert.deepEqual(sensitiveQueryParams(" token, ,api_key,token,sig").slice(-2), ["token", "api_key"]);
});

test("added names and access_token are redacted in url.query, url.full and the access log; other parameters are kept", async (t) => {
  const { rx, upstream, gw } = await startProcessRig(t, {
    transport: "http",
    env: (rx) => ({
      TOLLGATE_SENSITIVE_QUERY_PARAMS: "token,api_key",
      OTEL_EXPORTER_OTLP_ENDPOINT: rx.url,
      OTEL_LOGS_EXPORTER: "otlp",
      OTEL_METRICS_EXPORTER: "prometheus",
      OTEL_BSP_SCHEDULE_DELAY: "20",
      OTEL_BLRP_SCHEDULE_DELAY: "20",
    }),
  });
  assert.equal((await httpRequest(gw.url(8080, "/api/x?token=t0k3n&api_key=k3y&access_token=b3arer&keep=1"))).status, 200);
  assert.equal(upstream.seen.length, 1, "the upstream still gets the request");
  const spans = await rx.waitForSpans((s) => s.length >= 2);
  const logs = await rx.waitForLogs((l) => l.length >= 1);
  const query = "token=REDACTED&api_key=REDACTED&access_token=REDACTED&keep=1";
  const server = spans.find((s) => s.kind === 2)!;
  const client = spans.find((s) => s.kind === 3)!;
  assert.equal(server.attributes["url.query"], query);
  assert.equal(client.attributes["url.full"], `http://127.0.0.1:${upstream.port}/api/x?${query}`);
  assert.equal(logs[0]!.attributes["url.query"], query);
  assert.doesNotMatch(JSON.stringify({ spans, logs }, (_k, v: unknown) => (typeof v === "bigint" ? String(v) : v)), /t0k3n|k3y|b3arer/);
});
