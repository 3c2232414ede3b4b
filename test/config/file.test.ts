import assert from "node:assert/strict";
import { mkdtemp, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { test } from "node:test";
import { fileURLToPath } from "node:url";
import { formatDiagnostic } from "../../src/config/diagnostics.ts";
import { loadConfigFile, MAX_CONFIG_BYTES } from "../../src/config/load.ts";

const fixture = fileURLToPath(new URL("../fixtures/config/complete.yaml", import.meta.url));

test("loadConfigFile reads a file with every kind", async () => {
  const { config, diagnostics } = await loadConfigFile(fixture);
  assert.deepEqual(diagnostics.map(formatDiagnostic), [`${fixture}:81:1: -: info: skipped 1 resource(s) of kinds Tollgate does not implement: v1/Service otel-collector`]);
  assert.ok(config);
  assert.deepEqual(config.files, [resolve(fixture)]);
  const g = config.gateways[0]!;
  assert.equal(g.settings.keepAliveTimeoutMs, 15000);
  assert.equal(g.telemetry.tracing?.provider?.endpoint, "http://otel-collector.monitoring.svc.cluster.local:4317");
  assert.deepEqual(g.telemetry.tracing?.sampling, { kind: "percentages", client: 100, random: 10, overall: 100 });
  assert.equal(g.telemetry.accessLogs[0]!.logName, "edge-access");
  const route = config.routes[0]!;
  assert.deepEqual(route.tracing?.sampling, { client: undefined, random: undefined, overall: 50 });
  assert.deepEqual(route.rules.map((r) => r.name), ["api", "hello"]);
  assert.deepEqual(route.rules[1]!.filters, [{ type: "DirectResponse", status: 200, body: "hello", contentType: "text/plain; charset=utf-8" }]);
  assert.deepEqual(config.backends.map((b) => b.key).sort(), ["apps/shop-api", "monitoring/otel-collector:4317"]);
});

test("a missing file is one error naming the file", async () => {
  const { config, diagnostics } = await loadConfigFile("/nonexistent/tollgate.yaml");
  assert.equal(config, undefined);
  assert.deepEqual(diagnostics.map(formatDiagnostic), ["/nonexistent/tollgate.yaml:1:1: -: cannot read the config file: no such file (hint: pass --config FILE or set TOLLGATE_CONFIG)"]);
});

test("a file over the size limit is one error naming its size, and is not parsed", async (t) => {
  const dir = await mkdtemp(join(tmpdir(), "tollgate-big-"));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const file = join(dir, "huge.yaml");
  // Valid YAML all through, so only the size can be what refuses it.
  await writeFile(file, "# padding\n".repeat(Math.ceil((MAX_CONFIG_BYTES + 1) / 10)));
  const { config, diagnostics } = await loadConfigFile(file);
  assert.equal(config, undefined);
  const { size } = await stat(file);
  assert.deepEqual(diagnostics.map(formatDiagnostic), [
    `${file}:1:1: -: the config file is ${size} bytes, over the ${MAX_CONFIG_BYTES}-byte limit (hint: point --config at the gateway's YAML; a Kubernetes ConfigMap holds at most 1 MiB)`,
  ]);
});
