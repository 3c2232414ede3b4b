// `npm run bench`: issue 5's benchmark suite. Starts one fast upstream, an OTLP ack
// receiver, a black-holed collector and one process per scenario, all on 127.0.0.1;
// measures them in interleaved rounds; writes bench/results/{bench,quick}.{json,md,svg}.
// Exits non-zero when any scenario failed to run correctly (errors, non-2xx responses,
// telemetry that never arrived), never because of speed.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseRunOptions, timeBudgetMs, USAGE } from "./lib/args.ts";
import { evaluateBar } from "./lib/bar.ts";
import { renderChart } from "./lib/chart.ts";
import { armGlobalDeadline, stopAll } from "./lib/children.ts";
import { fetchDropped } from "./lib/dropped.ts";
import type { FixedRateResult } from "./lib/fixed-rate.ts";
import { machineTicks, stealPercent } from "./lib/cpu-ticks.ts";
import { currentLoad, readMachine } from "./lib/machine.ts";
import { resultsDir } from "./lib/paths.ts";
import { diffStats, receiverStatsReader, type ReceiverStats } from "./lib/receiver-stats.ts";
import { renderMarkdown } from "./lib/report.ts";
import type { BenchResults, ExportCheckResult, FixedRateScenario, ScenarioResult } from "./lib/results.ts";
import { runRouterBench } from "./lib/router-bench.ts";
import { RssSampler, rssMB } from "./lib/rss.ts";
import { median } from "./lib/stats.ts";
import { loadProblem, measureThroughput, type ThroughputResult } from "./lib/throughput.ts";
import { sleep } from "./lib/wait.ts";
import { SCENARIOS, urlOf, type BenchEnv, type ScenarioId, type ScenarioSpec } from "./scenarios.ts";
import { buildPackage } from "./targets/built.ts";
import { startFixedRateGenerator } from "./targets/fixed-rate-generator.ts";
import { launchScript, setChildDeadline, type Launched } from "./targets/launch.ts";
import { findNginx, startNginxUpstream } from "./targets/nginx.ts";

let options: ReturnType<typeof parseRunOptions>;
try {
  options = parseRunOptions(process.argv.slice(2));
  for (const id of options.only ?? []) {
    if (!SCENARIOS.some((s) => s.id === id)) throw new Error(`--only: unknown scenario ${JSON.stringify(id)}`);
  }
} catch (error) {
  process.stderr.write(`${(error as Error).message}\n${USAGE}\n`);
  process.exit(2);
}
const settings = options.settings;
const specs = SCENARIOS.filter((s) => options.only === undefined || s.id === "direct" || options.only.includes(s.id));

const t0 = performance.now();
const log = (message: string): void => {
  process.stderr.write(`[${((performance.now() - t0) / 1000).toFixed(1).padStart(6)} s] ${message}\n`);
};

const budgetMs = timeBudgetMs(settings, specs.length);
armGlobalDeadline(budgetMs);
setChildDeadline(Date.now() + budgetMs + 30_000);

const workDir = mkdtempSync(join(tmpdir(), "tollgate-bench-"));
const nginx = findNginx();
const results: BenchResults = {
  schema: 1,
  startedAt: new Date().toISOString(),
  finishedAt: "",
  settings,
  machine: readMachine(nginx),
  loadAtEnd: 0,
  steal: {},
  upstream: nginx === undefined ? "node" : "nginx",
  scenarios: specs.map((s) => ({ id: s.id, title: s.title, status: "ok", rounds: [] }) satisfies ScenarioResult),
  fixedRate: [],
  rssAtConnections: [],
  exportChecks: [],
  telemetryDrops: [],
  router: { status: "skipped", reason: "not run" },
  bar: [],
  failures: [],
};
const resultOf = (id: ScenarioId): ScenarioResult => results.scenarios.find((s) => s.id === id) as ScenarioResult;

/**
 * Records a failure (the run will exit 1). `invalidates`: the scenario's throughput numbers
 * cannot be trusted either (it did not start, died, answered non-2xx under load, or its
 * telemetry never arrived), so it leaves the rounds and the bar.
 */
function fail(id: ScenarioId | "suite", reason: string, invalidates = true): void {
  results.failures.push(`${id}: ${reason}`);
  if (id !== "suite" && invalidates) {
    const r = resultOf(id);
    if (r.status === "ok") {
      r.status = "failed";
      r.reason = reason;
    }
  }
  log(`FAILED ${id}: ${reason.split("\n")[0]}`);
}

log(`machine: ${results.machine.cpuModel}, ${results.machine.cores} cores, Node ${results.machine.node}, load ${results.machine.loadAtStart.toFixed(2)}`);
log(`time budget ${Math.round(budgetMs / 1000)} s; work dir ${workDir}`);

// ---------------------------------------------------------------- processes
// The gateway runs as users run it: the compiled package (bin/tollgate.js → dist/), built
// from the current sources into the work dir, unless --tollgate-entry src asks for the
// sources through type stripping.
let tollgateCli: string | undefined;
if (settings.tollgateEntry === "dist" && specs.some((s) => s.id.startsWith("tollgate-"))) {
  try {
    tollgateCli = buildPackage(workDir);
    log(`built the package: ${tollgateCli}`);
  } catch (error) {
    process.stderr.write(`cannot build the gateway: ${(error as Error).message}\n`);
    process.exit(1);
  }
}
const upstream: Launched =
  nginx === undefined ? await launchScript("upstream", "upstream.ts") : await startNginxUpstream(nginx, workDir);
log(`upstream: ${results.upstream} on port ${upstream.port}`);
const receiver = await launchScript("ack-receiver", "ack-receiver.ts");
const blackhole = await launchScript("blackhole", "blackhole.ts");
const receiverStats = receiverStatsReader(receiver.tracked);
const env: BenchEnv = {
  dir: workDir,
  upstream: { kind: results.upstream, port: upstream.port, launched: upstream },
  receiverPort: receiver.port,
  blackholePort: blackhole.port,
  nginx,
  tollgateNodeFlags: settings.tollgateNodeFlags,
  tollgateCli,
  tollgateMaxConnections: settings.tollgateMaxConnections,
};

interface Running {
  readonly spec: ScenarioSpec;
  readonly launched: Launched | undefined;
  readonly url: string;
}
const running = new Map<ScenarioId, Running>();
await Promise.all(
  specs.map(async (spec) => {
    const why = spec.unavailable(env);
    if (why !== undefined) {
      const r = resultOf(spec.id);
      r.status = "skipped";
      r.reason = why;
      log(`skipped ${spec.id}: ${why}`);
      return;
    }
    try {
      const launched = await spec.start(env);
      running.set(spec.id, { spec, launched, url: urlOf(spec, env, launched) });
      log(`started ${spec.id}${launched === undefined ? "" : ` (pid ${launched.pid}, port ${launched.port})`}`);
    } catch (error) {
      fail(spec.id, `did not start: ${(error as Error).message}`);
    }
  }),
);
const active = (): Running[] => specs.flatMap((s) => (resultOf(s.id).status === "ok" ? [running.get(s.id)].filter((r) => r !== undefined) : []));

function gone(r: Running): boolean {
  if (r.launched?.tracked.hasExited() === true) {
    fail(r.spec.id, `its process exited during the run:\n${r.launched.tracked.tail()}`);
    return true;
  }
  return false;
}

/** One closed-loop run; the caller judges its problems, which depend on the phase. */
const requestsSent = new Map<ScenarioId, number>();
async function load(r: Running, durationS: number, connections: number, phase: string): Promise<ThroughputResult | undefined> {
  if (gone(r)) return undefined;
  try {
    const result = await measureThroughput(r.url, { durationS, connections });
    requestsSent.set(r.spec.id, (requestsSent.get(r.spec.id) ?? 0) + result.requests);
    return result;
  } catch (error) {
    fail(r.spec.id, `${phase}: load run failed: ${(error as Error).message}`, phase === "throughput");
    return undefined;
  }
}

/** Throughput runs must be clean: any error or non-2xx invalidates the scenario. */
async function cleanLoad(r: Running, durationS: number, connections: number, phase: string): Promise<ThroughputResult | undefined> {
  const result = await load(r, durationS, connections, phase);
  if (result === undefined) return undefined;
  const problem = loadProblem(result);
  if (problem === undefined) return result;
  fail(r.spec.id, `${phase}: ${problem}`);
  return undefined;
}

// ---------------------------------------------------------------- throughput, interleaved
if (settings.warmupS > 0) {
  for (const r of active()) {
    log(`warm-up ${r.spec.id}`);
    await cleanLoad(r, settings.warmupS, settings.connections, "warm-up");
  }
}
const throughputTicks = machineTicks();
for (let round = 1; round <= settings.rounds; round++) {
  for (const r of active()) {
    const result = await cleanLoad(r, settings.durationS, settings.connections, "throughput");
    if (result === undefined) continue;
    resultOf(r.spec.id).rounds.push(result);
    log(`round ${round}/${settings.rounds} ${r.spec.id}: ${Math.round(result.rps)} req/s, p99 ${result.p99} ms`);
  }
}
results.steal.throughput = stealPercent(throughputTicks, machineTicks());

// ---------------------------------------------------------------- exports really happened
for (const r of active()) {
  if (r.spec.exports === undefined) continue;
  const check = await checkExports(r);
  if (check !== undefined) {
    results.exportChecks.push(check);
    if (!check.ok) fail(r.spec.id, `telemetry did not reach the receiver: ${check.detail}`);
  }
}

async function checkExports(r: Running): Promise<ExportCheckResult | undefined> {
  const before = await receiverStats();
  const result = await cleanLoad(r, 1, 10, "export check");
  if (result === undefined) return undefined;
  const needLogs = r.spec.exports === "traces+logs";
  let delta: ReceiverStats = diffStats(before, before);
  const until = performance.now() + 10_000;
  while (performance.now() < until) {
    delta = diffStats(await receiverStats(), before);
    if (delta.traces.requests > 0 && (!needLogs || delta.logs.requests > 0)) break;
    await sleep(250);
  }
  const ok = delta.traces.requests > 0 && (!needLogs || delta.logs.requests > 0);
  const detail = ok
    ? `after ${result.requests} requests`
    : `after ${result.requests} requests and 10 s: ${delta.traces.requests} trace exports, ${delta.logs.requests} log exports`;
  return { id: r.spec.id, delta, ok, detail };
}

// ---------------------------------------------------------------- fixed rate
const fixedIds: ScenarioId[] = ["direct", "tollgate-off", "tollgate-full"];
const fixed = new Map<ScenarioId, FixedRateResult[]>();
const generator = await startFixedRateGenerator();
const fixedRateTicks = machineTicks();
for (let round = 1; round <= settings.fixedRate.rounds; round++) {
  for (const r of active().filter((x) => fixedIds.includes(x.spec.id))) {
    if (gone(r)) continue;
    try {
      const result = await generator.measure(r.url, settings.fixedRate);
      requestsSent.set(r.spec.id, (requestsSent.get(r.spec.id) ?? 0) + result.warmupRequests + result.requests);
      const problem = loadProblem(result);
      if (problem !== undefined) fail(r.spec.id, `fixed-rate run: ${problem}`, false);
      fixed.set(r.spec.id, [...(fixed.get(r.spec.id) ?? []), result]);
      log(
        `fixed ${settings.fixedRate.rate}/s round ${round} ${r.spec.id}: p50 ${result.p50.toFixed(3)} p99 ${result.p99.toFixed(3)} ` +
          `p99.9 ${result.p999.toFixed(3)} ms (achieved ${Math.round(result.achievedRate)}/s)`,
      );
    } catch (error) {
      fail(r.spec.id, `fixed-rate run failed: ${(error as Error).message}`, false);
    }
  }
}
results.steal.fixedRate = stealPercent(fixedRateTicks, machineTicks());
await generator.stop();
for (const id of fixedIds) {
  const rounds = fixed.get(id);
  if (rounds === undefined || rounds.length === 0) continue;
  const entry: FixedRateScenario = {
    id,
    rounds,
    median: {
      p50: median(rounds.map((x) => x.p50)),
      p99: median(rounds.map((x) => x.p99)),
      p999: median(rounds.map((x) => x.p999)),
      achievedRate: median(rounds.map((x) => x.achievedRate)),
    },
  };
  results.fixedRate.push(entry);
}
const fixedDirect = results.fixedRate.find((f) => f.id === "direct")?.median;
for (const f of results.fixedRate) {
  if (fixedDirect !== undefined && f.median !== undefined && f.id !== "direct") {
    f.added = { p50: f.median.p50 - fixedDirect.p50, p99: f.median.p99 - fixedDirect.p99, p999: f.median.p999 - fixedDirect.p999 };
  }
}

// ---------------------------------------------------------------- memory
// The comparison proxies too (full runs only), for what a Node process costs on this binary.
const rssIds: ScenarioId[] = settings.quick
  ? ["tollgate-full", "tollgate-off"]
  : ["tollgate-full", "tollgate-off", "fastify-http-proxy", "http-proxy"];
for (const id of rssIds) {
  const r = active().find((x) => x.spec.id === id);
  if (r?.launched === undefined || gone(r)) continue;
  const beforeMB = rssMB(r.launched.pid) ?? Number.NaN;
  const sampler = new RssSampler(r.launched.pid, 250);
  const result = await load(r, settings.rssDurationS, settings.rssConnections, "RSS run");
  sampler.stop();
  if (result === undefined) continue;
  // 1,000 connections opened at once on a busy 2-core box may see connect timeouts: they are
  // reported with the number, not a failure. A wrong answer is.
  const entry = { id, connections: settings.rssConnections, beforeMB, peakMB: sampler.peak(), rps: result.rps, problem: loadProblem(result) };
  if (result.non2xx > 0) fail(id, `RSS run at ${settings.rssConnections} connections: ${entry.problem ?? ""}`, false);
  results.rssAtConnections.push(entry);
  log(`RSS ${id} at ${settings.rssConnections} connections: ${beforeMB.toFixed(1)} → peak ${entry.peakMB.toFixed(1)} MB`);
}

const hole = active().find((x) => x.spec.id === "tollgate-blackhole");
if (settings.soakS > 0 && hole?.launched !== undefined && !gone(hole)) {
  log(`black-hole soak: ${settings.soakS} s`);
  const sampler = new RssSampler(hole.launched.pid, 1000);
  const result = await load(hole, settings.soakS, settings.connections, "soak");
  const samples = sampler.stop();
  // A broken collector must never break proxying: any error here is a failure.
  const problem = result === undefined ? undefined : loadProblem(result);
  if (problem !== undefined) fail("tollgate-blackhole", `soak: ${problem}`, false);
  if (result !== undefined && samples.length > 0) {
    const startMB = (samples[0] as { mb: number }).mb;
    const endMB = (samples[samples.length - 1] as { mb: number }).mb;
    const peakMB = sampler.peak();
    results.soak = { id: "tollgate-blackhole", durationS: settings.soakS, startMB, endMB, peakMB, growthMB: peakMB - startMB, rps: result.rps, samples, problem };
    log(`soak: ${startMB.toFixed(1)} → ${endMB.toFixed(1)} MB, peak ${peakMB.toFixed(1)} MB`);
  }
}

// ---------------------------------------------------------------- what the gateways dropped
for (const id of ["tollgate-full", "tollgate-blackhole"] as const) {
  const r = running.get(id);
  if (r?.launched?.opsPort === undefined || r.launched.tracked.hasExited()) continue;
  const dropped = await fetchDropped(r.launched.opsPort);
  results.telemetryDrops.push({ id, requestsSent: requestsSent.get(id) ?? 0, dropped });
  log(`${id} dropped telemetry: ${dropped === undefined ? "unreadable" : JSON.stringify(dropped)}`);
}

// ---------------------------------------------------------------- stop, router bench, report
await stopAll(8000);
log("all servers stopped");
log("router micro-benchmark");
results.router = await runRouterBench(settings.quick, settings.quick ? 45_000 : 120_000);
if (results.router.status === "failed") fail("suite", `router micro-benchmark: ${results.router.reason ?? ""}`);

for (const sc of results.scenarios) {
  if (sc.rounds.length === 0) continue;
  sc.median = {
    rps: median(sc.rounds.map((x) => x.rps)),
    p50: median(sc.rounds.map((x) => x.p50)),
    p99: median(sc.rounds.map((x) => x.p99)),
    p999: median(sc.rounds.map((x) => x.p999)),
  };
}
const full = resultOf("tollgate-full")?.median;
for (const sc of results.scenarios) {
  if (full !== undefined && sc.median !== undefined && full.rps > 0) {
    sc.ratioToFull = { rps: sc.median.rps / full.rps, p99: full.p99 > 0 ? sc.median.p99 / full.p99 : Number.NaN };
  }
}
results.bar = evaluateBar(results);
results.loadAtEnd = currentLoad();
results.finishedAt = new Date().toISOString();

mkdirSync(resultsDir, { recursive: true });
const base = join(resultsDir, options.out);
const markdown = renderMarkdown(results);
writeFileSync(`${base}.json`, JSON.stringify(results, null, 2) + "\n");
writeFileSync(`${base}.md`, markdown);
writeFileSync(`${base}.svg`, renderChart(results));
process.stdout.write("\n" + markdown + "\n");
log(`wrote ${base}.json, .md, .svg`);

if (results.failures.length > 0) {
  log(`${results.failures.length} failure(s); process logs kept in ${workDir}`);
  process.exit(1);
}
rmSync(workDir, { recursive: true, force: true });
process.exit(0);
