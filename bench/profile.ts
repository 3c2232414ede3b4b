// `npm run bench:profile`: runs Tollgate under load with --cpu-prof, stops it with SIGTERM
// (its drain writes the profile), leaves the .cpuprofile in bench/results/ and prints the
// functions and packages with the most self time, plus a .txt of the same next to it.
//   --mode full|off|blackhole   telemetry as in the bench scenarios (default full)
//   --duration S                seconds of load (default 15)
//   --connections N             closed-loop connections (default 100)
//   --rate R                    open loop at R req/s instead (the fixed-rate generator, 3 s
//                               warm-up at the rate), sampled every 500 µs, and the long tasks
//                               (busy stretches of --long-task-ms or more, default 2) listed
//                               with what started them: what a fixed-rate p99 waits on
//   --top N                     functions to list (default 30)
//   --summarize FILE            only print the summary of an existing .cpuprofile
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { armGlobalDeadline, stopAll } from "./lib/children.ts";
import { formatSummary, shortUrl, summarizeProfile } from "./lib/cpuprofile.ts";
import { formatLongTasks, longTasks } from "./lib/long-tasks.ts";
import { repoRoot, resultsDir } from "./lib/paths.ts";
import { loadProblem, measureThroughput } from "./lib/throughput.ts";
import { setChildDeadline } from "./targets/launch.ts";
import { isGatewayMode, startPeers } from "./targets/peers.ts";
import { startFixedRateGenerator } from "./targets/fixed-rate-generator.ts";
import { startTollgate, tollgateAvailable } from "./targets/tollgate.ts";

const { values } = parseArgs({
  options: {
    mode: { type: "string", default: "full" },
    duration: { type: "string", default: "15" },
    connections: { type: "string", default: "100" },
    rate: { type: "string" },
    "long-task-ms": { type: "string", default: "2" },
    top: { type: "string", default: "30" },
    summarize: { type: "string" },
  },
  strict: true,
});
const top = Number(values.top);

if (values.summarize !== undefined) {
  process.stdout.write(formatSummary(summarizeProfile(values.summarize, repoRoot), top) + "\n");
  process.exit(0);
}

const mode = values.mode ?? "full";
if (!isGatewayMode(mode)) {
  process.stderr.write(`--mode must be full, off or blackhole, got ${JSON.stringify(mode)}\n`);
  process.exit(2);
}
const missing = tollgateAvailable();
if (missing !== undefined) {
  process.stderr.write(`cannot profile: ${missing}\n`);
  process.exit(1);
}
const durationS = Number(values.duration);
const connections = Number(values.connections);
const rate = values.rate === undefined ? undefined : Number(values.rate);
if (rate !== undefined && !(rate > 0)) {
  process.stderr.write(`--rate must be a positive number of requests per second\n`);
  process.exit(2);
}
const longTaskMs = Number(values["long-task-ms"]);
if (!(longTaskMs > 0)) {
  process.stderr.write(`--long-task-ms must be a positive number of milliseconds\n`);
  process.exit(2);
}
const log = (message: string): void => void process.stderr.write(`profile: ${message}\n`);

const budgetMs = (durationS + 120) * 1000;
armGlobalDeadline(budgetMs);
setChildDeadline(Date.now() + budgetMs + 30_000);
const workDir = mkdtempSync(join(tmpdir(), "tollgate-profile-"));
mkdirSync(resultsDir, { recursive: true });

const { upstream, telemetry } = await startPeers(mode, workDir);
const name = `tollgate-${mode}-${new Date().toISOString().replace(/[:.]/g, "-")}.cpuprofile`;
const gateway = await startTollgate({
  name: `tollgate-${mode}`,
  dir: workDir,
  upstreamPort: upstream.port,
  telemetry,
  // Long tasks of a few ms need finer samples than the default 1 ms; 100 µs slowed every request several-fold.
  nodeFlags: ["--cpu-prof", "--cpu-prof-dir", resultsDir, "--cpu-prof-name", name, ...(rate === undefined ? [] : ["--cpu-prof-interval", "500"])],
  graceMs: 30_000,
});
const load = rate === undefined ? `${connections} connections` : `a fixed ${rate} req/s`;
log(`gateway pid ${gateway.pid} (telemetry ${mode}); warm-up 3 s, then ${durationS} s at ${load}`);
const url = `http://127.0.0.1:${gateway.port}/`;
const { rps, problem, loadEnded } = rate === undefined ? await closedLoop(url) : await fixedRate(url, rate);

log("stopping the gateway (SIGTERM) so it writes the profile");
await gateway.tracked.stop(30_000);
// The profile ends when the gateway exits: the measured load is the durationS before loadEnded.
const sinceLoadEndMs = performance.now() - loadEnded;
await stopAll(5000);

const file = join(resultsDir, name);
if (!existsSync(file)) {
  const recent = readdirSync(resultsDir).filter((f) => f.endsWith(".cpuprofile") && statSync(join(resultsDir, f)).mtimeMs > Date.now() - budgetMs);
  process.stderr.write(
    `no profile at ${file}: the gateway did not exit cleanly on SIGTERM (profiles are written at exit)` +
      (recent.length > 0 ? `; recent profiles: ${recent.join(", ")}` : "") +
      `\nlogs: ${workDir}\n`,
  );
  process.exit(1);
}
const tasks = rate === undefined ? "" : `\n\n${formatLongTasks(longTasks(file, longTaskMs, { fromEndMs: sinceLoadEndMs + durationS * 1000, toEndMs: sinceLoadEndMs }, (u) => shortUrl(u, repoRoot)), top)}`;
const summary = formatSummary(summarizeProfile(file, repoRoot), top) + tasks;
const header = `${name}: Tollgate, telemetry ${mode}, ${durationS} s at ${load}, ${Math.round(rps)} req/s\n`;
writeFileSync(file.replace(/\.cpuprofile$/, ".txt"), header + summary + "\n");
process.stdout.write(`\n${header}${summary}\n\nprofile: ${file}\n`);
rmSync(workDir, { recursive: true, force: true });
process.exit(problem === undefined ? 0 : 1);

interface LoadRun {
  readonly rps: number;
  readonly problem: string | undefined;
  /** performance.now() when the measured load ended. */
  readonly loadEnded: number;
}

async function closedLoop(target: string): Promise<LoadRun> {
  await measureThroughput(target, { durationS: 3, connections });
  const result = await measureThroughput(target, { durationS, connections });
  const loadEnded = performance.now();
  const problem = loadProblem(result);
  log(`${Math.round(result.rps)} req/s, p99 ${result.p99} ms${problem === undefined ? "" : `; problem: ${problem}`}`);
  return { rps: result.rps, problem, loadEnded };
}

async function fixedRate(target: string, perSecond: number): Promise<LoadRun> {
  const generator = await startFixedRateGenerator();
  const result = await generator.measure(target, { rate: perSecond, durationS, warmupS: 3, connections: 64 });
  const loadEnded = performance.now();
  await generator.stop();
  const failed = result.non2xx + result.errors + result.timeouts;
  const problem = failed > 0 ? `${failed} failed requests` : undefined;
  log(`${Math.round(result.achievedRate)} req/s, p50 ${result.p50.toFixed(3)} p99 ${result.p99.toFixed(3)} p99.9 ${result.p999.toFixed(3)} ms${problem === undefined ? "" : `; problem: ${problem}`}`);
  return { rps: result.achievedRate, problem, loadEnded };
}
