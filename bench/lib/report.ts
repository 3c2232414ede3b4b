// The Markdown report of one run; the console gets the same text.
import type { BarItem, BenchResults } from "./results.ts";
import { round } from "./stats.ts";

/** Steal above this share of CPU time shows as multi-millisecond stalls at a fixed rate. */
const STEAL_NOISY_PERCENT = 2;

const fmt = (value: number | undefined, digits = 0): string =>
  value === undefined || !Number.isFinite(value) ? "n/a" : round(value, digits).toLocaleString("en-US", { maximumFractionDigits: digits, minimumFractionDigits: digits });

export function renderMarkdown(r: BenchResults): string {
  const s = r.settings;
  const out: string[] = [];
  out.push(`# Tollgate bench${s.quick ? " (quick: a smoke run, not a measurement)" : ""}`, "");
  out.push(`Run ${r.startedAt} → ${r.finishedAt}.`, "");
  out.push("## Machine", "");
  out.push(`- CPU: ${r.machine.cpuModel}, ${r.machine.cores} cores; memory ${r.machine.memoryGiB} GiB; ${r.machine.kernel}`);
  out.push(`- Node ${r.machine.node} (every Node process); nginx ${r.machine.nginx ?? "not installed"}`);
  out.push(`- Upstream: ${r.upstream === "nginx" ? "nginx `return 200`, 1 worker" : "node:http server answering 200"}`);
  out.push(
    `- 1-min load average: ${fmt(r.machine.loadAtStart, 2)} at start, ${fmt(r.loadAtEnd, 2)} at end` +
      (r.machine.loadAtStart > 0.5 ? " (the machine was busy before the run: treat the numbers as noisy)" : ""),
  );
  out.push(
    `- CPU time the hypervisor gave to other guests (steal): ${fmt(r.steal.throughput, 1)} % during the throughput rounds, ` +
      `${fmt(r.steal.fixedRate, 1)} % during the fixed-rate rounds` +
      (Math.max(r.steal.throughput ?? 0, r.steal.fixedRate ?? 0) > STEAL_NOISY_PERCENT ? " (a shared host: latencies in this run carry its stalls)" : ""),
    "",
  );

  out.push(
    s.tollgateEntry === "src"
      ? "Tollgate ran from its TypeScript sources (`node src/cli/main.ts run`, type stripping)."
      : "Tollgate ran as the container image runs it: `node bin/tollgate.js run` on the compiled `dist/`, built from the same sources for this run.",
    "",
  );
  if (s.tollgateMaxConnections !== undefined) out.push(`The bench Backend set \`connectionPool.maxConnections: ${s.tollgateMaxConnections}\`.`, "");
  if (s.tollgateNodeFlags.length > 0) out.push(`Tollgate ran with extra node flags: \`${s.tollgateNodeFlags.join(" ")}\`.`, "");
  out.push("## Throughput", "");
  out.push(
    `Closed loop: autocannon, ${s.connections} connections, ${s.rounds} interleaved round(s) of ${s.durationS} s ` +
      `after a ${s.warmupS} s warm-up per scenario. Medians over rounds; ratios are scenario ÷ Tollgate full telemetry ` +
      "(req/s above 1 is faster than Tollgate, p99 above 1 is slower). Latency resolution is autocannon's (1 ms).",
    "",
  );
  out.push("| # | scenario | req/s | p50 ms | p99 ms | req/s ÷ Tollgate full | p99 ÷ Tollgate full | status |");
  out.push("|---|---|---:|---:|---:|---:|---:|---|");
  r.scenarios.forEach((sc, i) => {
    const m = sc.median;
    const status = sc.status === "ok" ? "ok" : `${sc.status}: ${oneLine(sc.reason ?? "")}`;
    out.push(
      `| ${i + 1} | ${sc.title} | ${fmt(m?.rps)} | ${fmt(m?.p50, 1)} | ${fmt(m?.p99, 1)} | ${fmt(sc.ratioToFull?.rps, 2)} | ${fmt(sc.ratioToFull?.p99, 2)} | ${status} |`,
    );
  });
  out.push("");

  out.push(`## Latency at a fixed ${fmt(s.fixedRate.rate)} req/s`, "");
  out.push(
    `Open loop (sends on schedule whatever the responses do), ${s.fixedRate.rounds} interleaved round(s) of ` +
      `${s.fixedRate.durationS} s, each after ${s.fixedRate.warmupS} s at the same rate, up to ${s.fixedRate.connections} ` +
      "connections, sent by a generator process of its own. Latency from each request's send, " +
      "in ms; \"added\" is the median minus direct's median. \"scheduled p99\" counts from the planned send time.",
    "",
  );
  out.push("| scenario | p50 | p99 | p99.9 | added p50 | added p99 | added p99.9 | achieved req/s | send lag p99 | scheduled p99 |");
  out.push("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
  for (const f of r.fixedRate) {
    const title = r.scenarios.find((x) => x.id === f.id)?.title ?? f.id;
    const lag = medianOf(f.rounds.map((x) => x.sendLagP99));
    const sched = medianOf(f.rounds.map((x) => x.scheduledP99));
    out.push(
      `| ${title} | ${fmt(f.median?.p50, 3)} | ${fmt(f.median?.p99, 3)} | ${fmt(f.median?.p999, 3)} | ${fmt(f.added?.p50, 3)} | ${fmt(f.added?.p99, 3)} | ${fmt(f.added?.p999, 3)} | ${fmt(f.median?.achievedRate)} | ${fmt(lag, 3)} | ${fmt(sched, 3)} |`,
    );
  }
  const starved = r.fixedRate.filter((f) => f.rounds.some((x) => x.sendLagP99 > 5));
  if (starved.length > 0) {
    out.push(
      "",
      `Warning: sends ran more than 5 ms behind schedule (p99) in ${starved.map((f) => f.id).join(", ")}: the load ` +
        "generator itself was short of CPU, so these latencies say more about the machine than about the proxy.",
    );
  }
  out.push("");

  out.push("## Memory (RSS from /proc/PID/status VmRSS, MB = 10^6 bytes)", "");
  for (const m of r.rssAtConnections) {
    out.push(
      `- ${m.id} at ${fmt(m.connections)} connections: ${fmt(m.beforeMB, 1)} MB at rest before it (after the throughput rounds), peak ${fmt(m.peakMB, 1)} MB under load ` +
        `(${fmt(m.rps)} req/s)${m.problem === undefined ? "" : `; problem: ${m.problem}`}`,
    );
  }
  if (r.soak !== undefined) {
    const k = r.soak;
    out.push(
      `- ${k.id}, ${k.durationS} s under full load (${fmt(k.rps)} req/s): ${fmt(k.startMB, 1)} MB at start, ` +
        `${fmt(k.endMB, 1)} MB at end, peak ${fmt(k.peakMB, 1)} MB, growth (peak − start) ${fmt(k.growthMB, 1)} MB` +
        (k.problem === undefined ? "" : `; problem: ${k.problem}`),
    );
  } else {
    out.push("- Black-hole soak: skipped.");
  }
  out.push("");

  out.push("## Telemetry reached the ack receiver", "");
  if (r.exportChecks.length === 0) out.push("- nothing exports in this run");
  for (const c of r.exportChecks) {
    const d = c.delta;
    out.push(
      `- ${c.id}: ${c.ok ? "yes" : "NO"} (traces ${d.traces.requests} exports / ${fmt(d.traces.bytes / 1024)} KiB, ` +
        `logs ${d.logs.requests} / ${fmt(d.logs.bytes / 1024)} KiB, metrics ${d.metrics.requests} / ${fmt(d.metrics.bytes / 1024)} KiB) ${c.detail}`,
    );
  }
  out.push("");

  out.push("## Telemetry the gateway dropped", "");
  out.push(
    "From the gateway's own `tollgate.telemetry.dropped` (ops `/metrics`) at the end of the run, against every request the " +
      "bench sent it (each request makes 2 spans and 1 log record).",
    "",
  );
  if (r.telemetryDrops.length === 0) out.push("- not read in this run");
  for (const d of r.telemetryDrops) {
    const entries = d.dropped === undefined ? "ops /metrics unreadable" : Object.entries(d.dropped).map(([k, v]) => `${k} ${fmt(v)}`).join(", ") || "nothing dropped";
    out.push(`- ${d.id}: ${fmt(d.requestsSent)} requests sent; dropped: ${entries}`);
  }
  out.push("");

  out.push("## Router micro-benchmark", "");
  if (r.router.status === "ok") out.push("```json", JSON.stringify(r.router.output, null, 2), "```");
  else out.push(`- ${r.router.status}: ${r.router.reason ?? ""}`);
  out.push("");

  out.push("## The bar (issue 5)", "");
  out.push("| item | measured | bar | verdict |");
  out.push("|---|---:|---:|---|");
  for (const b of r.bar) out.push(`| ${b.text} | ${barValue(b)} | ${b.comparison} ${b.threshold} ${b.unit} | ${verdict(b)} |`);
  out.push("");

  if (r.failures.length > 0) {
    out.push("## Failures", "");
    for (const f of r.failures) out.push(`- ${oneLine(f)}`);
    out.push("");
  }
  return out.join("\n");
}

function barValue(b: BarItem): string {
  if (b.value === undefined) return "n/a";
  return `${fmt(b.value, b.unit === "×" ? 2 : b.unit === "ms" ? 3 : 1)} ${b.unit}`;
}

export function verdict(b: BarItem): string {
  if (b.held === undefined) return `not evaluated (${b.reason ?? "missing"})`;
  return b.held ? "held" : "MISSED";
}

function oneLine(text: string): string {
  return text.replace(/\s+/g, " ").replace(/\|/g, "\\|").slice(0, 300);
}

function medianOf(values: number[]): number | undefined {
  const sorted = values.filter(Number.isFinite).sort((a, b) => a - b);
  if (sorted.length === 0) return undefined;
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid] : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
}
