// Prometheus (Debian's package) scraping Tollgate's /metrics with the Kubernetes job from
// docs/observability-stack.md (pod discovery replaced by a static target carrying the same
// labels, so the documented relabelling picks the address and path), then PromQL through
// its HTTP API: the request count, the dashboard's per-route query, and exemplars that
// point at the traces the upstream saw.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { describe, it } from "node:test";
import { asObj, at, byKind, readManifests } from "../deploy/kube-manifests.ts";
import { dashboardQueries } from "../deploy/promql-names.ts";
import { withStaticPod } from "../deploy/scrape-config.ts";
import { httpRequest, startGateway } from "../support/gateway-process.ts";
import { startPrometheus } from "./prometheus-process.ts";
import { echoConfig, startUpstream } from "./traffic.ts";

const REQUESTS = 7;
const DOC = new URL("../../docs/observability-stack.md", import.meta.url).pathname;
const DASHBOARD = new URL("../../docs/dashboards/tollgate.json", import.meta.url).pathname;

function documentedKubernetesJob(): string {
  const blocks = [...readFileSync(DOC, "utf8").matchAll(/```yaml\n([\s\S]*?)```/g)].map((m) => m[1] ?? "");
  const job = blocks.find((b) => b.startsWith("scrape_configs:") && b.includes("kubernetes_sd_configs"));
  assert.ok(job, "the doc has a Kubernetes scrape job");
  return job;
}

describe("Prometheus scraping Tollgate's /metrics", { timeout: 300_000 }, () => {
  it("counts every proxied request, answers the dashboard's per-route query, and keeps exemplars", async (t) => {
    const upstream = await startUpstream();
    t.after(() => upstream.close());
    const gateway = await startGateway({
      config: echoConfig(upstream.port),
      env: { OTEL_TRACES_SAMPLER: "always_on", OTEL_TRACES_EXPORTER: "none", OTEL_LOGS_EXPORTER: "none", OTEL_METRICS_EXPORTER: "prometheus" },
    });
    t.after(() => gateway.stop());

    const deployment = byKind(readManifests(), "Deployment");
    const pod = {
      podIp: "127.0.0.1",
      namespace: "tollgate",
      podName: "tollgate-e2e",
      labels: asObj(at(deployment, "spec.template.metadata.labels"), "labels") as Record<string, string>,
      // As the doc's pull setup says: the shipped "false" (it pushes) flipped to "true".
      annotations: {
        ...(asObj(at(deployment, "spec.template.metadata.annotations"), "annotations") as Record<string, string>),
        "prometheus.io/scrape": "true",
        "prometheus.io/port": String(gateway.opsPort),
      },
    };
    const config = withStaticPod(documentedKubernetesJob(), pod, { scrape_interval: "1s", scrape_timeout: "1s" });
    const prometheus = await startPrometheus(`global:\n  evaluation_interval: 1s\n${config}`);
    t.after(() => prometheus.stop());

    const startSec = Math.floor(Date.now() / 1000) - 1;
    for (let i = 0; i < REQUESTS; i++) {
      const res = await httpRequest(gateway.url(8080, `/echo/${i}`));
      assert.equal(res.status, 200, res.body);
    }

    const countQuery = 'sum(http_server_request_duration_seconds_count{job="tollgate", kube_namespace="tollgate", pod="tollgate-e2e"})';
    const final = await pollQuery(() => prometheus.query(countQuery), (v) => v === REQUESTS);
    assert.equal(final, REQUESTS, `PromQL ${countQuery}\n${prometheus.output()}`);

    const up = await prometheus.query('up{job="tollgate"}');
    assert.deepEqual(up.map((s) => [s.metric["instance"], s.value]), [[`127.0.0.1:${gateway.opsPort}`, 1]], "relabelling scraped the ops port from the annotation");

    // The dashboard's per-route request rate returns the route (classic-histogram branch).
    const perRoute = dashboardQueries(JSON.parse(readFileSync(DASHBOARD, "utf8")))
      .find((q) => q.startsWith("sum by (http_route) (rate(http_server_request_duration_seconds_count"));
    assert.ok(perRoute);
    // A rate needs two scrapes inside its window, so wait for the second one.
    const promql = perRoute.replaceAll("$__rate_interval", "1m").replaceAll("$job", ".*").replaceAll("$route", ".*");
    let routes = await prometheus.query(promql);
    for (const deadline = Date.now() + 30_000; routes.length === 0 && Date.now() < deadline; routes = await prometheus.query(promql)) {
      await new Promise((r) => setTimeout(r, 250));
    }
    assert.equal(routes.length, 1, `one route series from ${promql}`);
    assert.match(routes[0]?.metric["http_route"] ?? "", /^\/echo/);

    // Exemplars arrive through OpenMetrics and point at traces the upstream took part in.
    const traceIds = new Set(upstream.traceparents.map((tp) => tp.split("-")[1]));
    const exemplars = await pollExemplars(() => prometheus.queryExemplars("http_server_request_duration_seconds_bucket", startSec, Math.ceil(Date.now() / 1000) + 1));
    assert.ok(exemplars.length > 0, "exemplars stored");
    for (const e of exemplars) assert.ok(traceIds.has(e.labels["trace_id"] ?? ""), `exemplar trace_id ${e.labels["trace_id"]} is a proxied request's trace`);
  });
});

async function pollQuery(read: () => Promise<{ value: number }[]>, done: (v: number) => boolean): Promise<number | undefined> {
  const deadline = Date.now() + 30_000;
  let last: number | undefined;
  while (Date.now() < deadline) {
    const result = await read();
    last = result[0]?.value;
    if (last !== undefined && done(last)) return last;
    await new Promise((r) => setTimeout(r, 250));
  }
  return last;
}

async function pollExemplars(read: () => Promise<{ exemplars: readonly { labels: Record<string, string> }[] }[]>): Promise<{ labels: Record<string, string> }[]> {
  const deadline = Date.now() + 30_000;
  while (Date.now() < deadline) {
    const found = (await read()).flatMap((s) => s.exemplars);
    if (found.length > 0) return found;
    await new Promise((r) => setTimeout(r, 250));
  }
  return [];
}
