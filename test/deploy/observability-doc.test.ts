// docs/observability-stack.md and docs/dashboards/tollgate.json against the real tools and
// code: YAML blocks parse, the Prometheus scrape configs pass `promtool check config`, the
// kgateway policies load next to the ConfigMap's Gateway with the real config loader, and
// every dashboard query is valid PromQL (`promtool check rules`) naming only metrics
// Tollgate registers.
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { parseAllDocuments, stringify } from "yaml";
import { formatDiagnostic } from "../../src/config/diagnostics.ts";
import { loadConfigText } from "../../src/config/load.ts";
import { TELEMETRY_REGISTRY } from "../../src/telemetry/registry.ts";
import { asObj, byKind, readManifests } from "./kube-manifests.ts";
import { withStaticPod } from "./scrape-config.ts";
import { dashboardQueries, metricNamesIn, prometheusFamilies } from "./promql-names.ts";

const DOC = new URL("../../docs/observability-stack.md", import.meta.url).pathname;
const DASHBOARD = new URL("../../docs/dashboards/tollgate.json", import.meta.url).pathname;
const doc = readFileSync(DOC, "utf8");
const yamlBlocks = [...doc.matchAll(/```yaml\n([\s\S]*?)```/g)].map((m) => m[1] ?? "");
const scratch = mkdtempSync(join(tmpdir(), "tollgate-doc-"));
after(() => rmSync(scratch, { recursive: true, force: true }));

function promtool(args: readonly string[]): string {
  try {
    return execFileSync("promtool", args, { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
  } catch (error) {
    const e = error as { stdout?: string; stderr?: string; message: string };
    throw new Error(`promtool ${args.join(" ")} failed:\n${e.stdout ?? ""}${e.stderr ?? e.message}`);
  }
}

describe("docs/observability-stack.md", () => {
  it("has YAML blocks that all parse", () => {
    assert.ok(yamlBlocks.length >= 8, `found ${yamlBlocks.length} yaml blocks`);
    for (const block of yamlBlocks) {
      for (const d of parseAllDocuments(block)) assert.deepEqual(d.errors.map((e) => e.message), [], block.slice(0, 80));
    }
  });

  it("has Prometheus scrape configs for /metrics on 15020 that promtool accepts", () => {
    const scrapeBlocks = yamlBlocks.filter((b) => b.startsWith("scrape_configs:"));
    assert.equal(scrapeBlocks.length, 2);
    // Debian's Prometheus is built without Kubernetes discovery: check the job with a static
    // target carrying the discovery labels instead (the relabelling is what gets checked).
    scrapeBlocks.forEach((block, i) => {
      const file = join(scratch, `prometheus-${i}.yml`);
      writeFileSync(file, withStaticPod(block, { podIp: "10.0.0.7", namespace: "tollgate", podName: "tollgate-0", annotations: {}, labels: {} }));
      promtool(["check", "config", file]);
    });
    assert.match(scrapeBlocks[0] ?? "", /prometheus_io_port/);
    assert.match(scrapeBlocks[1] ?? "", /:15020"/);
    const annotations = asObj(byKind(readManifests(), "Deployment")["spec"], "spec");
    const podAnnotations = asObj(asObj(asObj(annotations["template"], "template")["metadata"], "metadata")["annotations"], "annotations");
    // Off while the Deployment pushes metrics over OTLP: the doc tells users to turn it on with the pull.
    assert.deepEqual(podAnnotations, { "prometheus.io/scrape": "false", "prometheus.io/port": "15020", "prometheus.io/path": "/metrics" });
  });

  it("has kgateway policies that load unchanged next to the ConfigMap's Gateway and point at the collectors", () => {
    const policies = yamlBlocks.filter((b) => b.includes("kind: HTTPListenerPolicy"));
    assert.equal(policies.length, 1);
    const gateway = asObj(byKind(readManifests(), "ConfigMap")["data"], "data")["gateway.yaml"];
    const text = `${String(gateway)}---\n${policies[0] ?? ""}`;
    const result = loadConfigText(text, "observability-stack.md#policies");
    assert.deepEqual(result.diagnostics.filter((d) => d.severity === "error").map(formatDiagnostic), []);
    const telemetry = result.config?.gateways[0]?.telemetry;
    assert.ok(telemetry);
    assert.equal(telemetry.tracing?.provider?.endpoint, "http://opentelemetry-collector-traces.telemetry.svc.cluster.local:4317");
    assert.equal(telemetry.tracing?.provider?.protocol, "grpc");
    const sink = telemetry.accessLogs[0]?.sink;
    assert.ok(sink?.kind === "otlp");
    assert.equal(sink.target?.endpoint, "http://opentelemetry-collector-logs.telemetry.svc.cluster.local:4317");
  });
});

describe("docs/dashboards/tollgate.json", () => {
  const dashboard = JSON.parse(readFileSync(DASHBOARD, "utf8")) as unknown;
  const queries = dashboardQueries(dashboard);

  it("has queries that are valid PromQL", () => {
    assert.ok(queries.length >= 10, `found ${queries.length} queries`);
    // Grafana variables become plain values so promtool parses what Prometheus will run.
    const rules = {
      groups: [{
        name: "dashboard",
        rules: queries.map((q, i) => ({
          record: `dashboard:query_${i}`,
          expr: q.replaceAll("$__rate_interval", "1m").replaceAll("$job", ".*").replaceAll("$route", ".*"),
        })),
      }],
    };
    const file = join(scratch, "dashboard-rules.yml");
    writeFileSync(file, stringify(rules));
    assert.match(promtool(["check", "rules", file]), new RegExp(`${queries.length} rules found`));
  });

  it("queries only metrics Tollgate registers, covering rate, errors, duration, upstream latency and drops", () => {
    const families = prometheusFamilies(TELEMETRY_REGISTRY.metrics);
    const used = new Set(queries.flatMap(metricNamesIn));
    for (const name of used) {
      assert.ok(families.has(name), `${name} is not a Prometheus name of any registered metric (registered: ${[...families].join(", ") || "none"})`);
    }
    for (const needed of ["http_server_request_duration_seconds_bucket", "http_server_request_duration_seconds_count", "http_client_request_duration_seconds_bucket", "tollgate_telemetry_dropped_total"]) {
      assert.ok(used.has(needed), needed);
    }
    const exemplarTargets = JSON.stringify(dashboard).match(/"exemplar": ?true/g) ?? [];
    assert.ok(exemplarTargets.length >= 3, "duration panels ask for exemplars");
  });
});
