// GET /metrics on the ops port of a real gateway process, in Prometheus text and in
// OpenMetrics, checked by promtool: `check metrics` lints the text format; the OpenMetrics
// parser runs through `tsdb create-blocks-from openmetrics` (which needs sample timestamps,
// so the test adds one to each sample line and leaves everything else as served).
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { httpRequest, startGateway } from "../support/gateway-process.ts";
import { gatewayYaml, startUpstream } from "./harness.ts";

const PROMTOOL = "/usr/bin/promtool";

function withTimestamps(openMetrics: string): string {
  return openMetrics
    .split("\n")
    .map((line) => {
      if (line === "" || line.startsWith("#")) return line;
      const m = /^(\S+(?:\{.*?\})?) (\S+)( # .*)?$/.exec(line);
      assert.ok(m, `a sample line: ${line}`);
      return `${m[1]} ${m[2]} 1700000000${m[3] ?? ""}`;
    })
    .join("\n");
}

test("/metrics serves the instruments in Prometheus text and OpenMetrics; promtool accepts both", async (t) => {
  const upstream = await startUpstream();
  t.after(() => upstream.close());
  const gw = await startGateway({ config: gatewayYaml({ upstreamPort: upstream.port }), env: { OTEL_TRACES_SAMPLER: "always_on", OTEL_METRICS_EXPORTER: "prometheus", OTEL_TRACES_EXPORTER: "none", OTEL_LOGS_EXPORTER: "none" } });
  t.after(() => gw.stop());
  const sent = 4;
  for (let i = 0; i < sent; i++) assert.equal((await httpRequest(gw.url(8080, "/api/x"))).status, 200);

  const text = await httpRequest(gw.opsUrl("/metrics"));
  assert.equal(text.status, 200);
  assert.match(String(text.headers["content-type"]), /^text\/plain; version=0\.0\.4/);
  const count = /^http_server_request_duration_seconds_count\{[^}]*http_route="\/api\/\*"[^}]*\} (\d+)$/m.exec(text.body);
  assert.ok(count, text.body);
  assert.equal(Number(count[1]), sent);
  assert.match(text.body, /^target_info\{[^}]*service_name="http\.kgateway-system"/m);
  assert.match(text.body, /otel_scope_name="tollgate"/);
  assert.match(text.body, /^# TYPE tollgate_build_info gauge$/m);
  assert.doesNotMatch(text.body, /url_path=/);
  const lint = spawnSync(PROMTOOL, ["check", "metrics"], { input: text.body, encoding: "utf8" });
  assert.equal(lint.status, 0, lint.stdout + lint.stderr);

  const om = await httpRequest(gw.opsUrl("/metrics"), { headers: { accept: "application/openmetrics-text;version=1.0.0,text/plain;q=0.5" } });
  assert.match(String(om.headers["content-type"]), /^application\/openmetrics-text; version=1\.0\.0/);
  assert.ok(om.body.endsWith("# EOF\n"));
  assert.match(om.body, /^# TYPE target info\n# HELP target Target metadata\ntarget_info\{/m, "the family's metadata lines name it target");
  assert.match(om.body, /^# UNIT http_server_request_duration_seconds seconds$/m);
  const exemplar = /_bucket\{[^}]*\} \d+ # \{trace_id="([0-9a-f]{32})",span_id="([0-9a-f]{16})"\} [0-9.e-]+ \d+\.\d{3}$/m.exec(om.body);
  assert.ok(exemplar, "bucket lines carry trace exemplars");
  const dir = await mkdtemp(join(tmpdir(), "tollgate-om-"));
  t.after(() => rm(dir, { recursive: true, force: true }));
  await writeFile(join(dir, "metrics.om"), withTimestamps(om.body));
  const parsed = spawnSync(PROMTOOL, ["tsdb", "create-blocks-from", "openmetrics", join(dir, "metrics.om"), join(dir, "blocks")], { encoding: "utf8" });
  assert.equal(parsed.status, 0, parsed.stdout + parsed.stderr);
  assert.match(parsed.stdout, /BLOCK ULID/);
});

test("--workers: the primary merges every worker's exposition, labelled worker_id, each worker its own instance id", async (t) => {
  const upstream = await startUpstream();
  t.after(() => upstream.close());
  const gw = await startGateway({ config: gatewayYaml({ upstreamPort: upstream.port }), workers: 2, env: { OTEL_TRACES_EXPORTER: "none", OTEL_LOGS_EXPORTER: "none", OTEL_METRICS_EXPORTER: "prometheus" } });
  t.after(() => gw.stop());
  const sent = 6;
  for (let i = 0; i < sent; i++) assert.equal((await httpRequest(gw.url(8080, "/api/x"))).status, 200);
  const text = await httpRequest(gw.opsUrl("/metrics"));
  const counts = [...text.body.matchAll(/^http_server_request_duration_seconds_count\{([^}]*)\} (\d+)$/gm)];
  assert.equal(counts.reduce((n, m) => n + Number(m[2]), 0), sent, "every request counted once");
  const targets = [...text.body.matchAll(/^target_info\{([^}]*)\} 1$/gm)].map((m) => m[1]!);
  assert.equal(targets.length, 2);
  const ids = targets.map((l) => /service_instance_id="([^"]+)"/.exec(l)![1]);
  assert.notEqual(ids[0], ids[1], "distinct service.instance.id per worker");
  for (const l of targets) assert.match(l, /worker_id="\d"/);
  const lint = spawnSync(PROMTOOL, ["check", "metrics"], { input: text.body, encoding: "utf8" });
  assert.equal(lint.status, 0, lint.stdout + lint.stderr);
  // In OpenMetrics the merge keeps the target family whole: its metadata, then both workers' samples.
  const om = await httpRequest(gw.opsUrl("/metrics"), { headers: { accept: "application/openmetrics-text" } });
  assert.match(om.body, /^# TYPE target info\n# HELP target Target metadata\ntarget_info\{worker_id="\d",[^}]*\} 1\ntarget_info\{worker_id="\d",[^}]*\} 1$/m);
});
