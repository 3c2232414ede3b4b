// `node bench/ab.ts`: two gateways side by side, differing only in node flags or environment,
// measured in interleaved rounds (A B A B ...) so drift on a shared machine hits both alike.
// Per round: req/s, CPU µs per request of the process (/proc/PID/stat, GC threads included),
// of its main thread split into user and system time, and of the whole machine's idle time,
// and peak VmRSS; then the medians. For tuning decisions like a V8 flag's CPU cost.
//   --a "FLAGS" / --b "FLAGS"   node flags of gateway A and B (default none)
//   --a-env K=V,... / --b-env   extra environment of A and B
//   --b-source DIR              B runs another checkout's sources (e.g. `git worktree add
//                               /tmp/old HEAD~3`), compiled like A's, with this checkout's
//                               node_modules: is a change a regression or the machine's drift?
//   --mode off|full|blackhole   telemetry (default off)
//   --b-off                     B runs with telemetry off whatever --mode says: full ÷ off in one run
//   --entry dist|src            built package (default) or the sources
//   --rounds N                  interleaved rounds (default 4)
//   --duration S                seconds per round (default 8)
//   --connections N             closed-loop connections (default 100)
//   --fixed-rate R              open loop at R req/s instead (3 s warm-up per round, up to 64
//                               connections, generator in its own process), with direct to
//                               the upstream measured in every round too: latency added by
//                               each side, and whether a slow round was the machine
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { parseArgs } from "node:util";
import { armGlobalDeadline, stopAll } from "./lib/children.ts";
import { machineTicks, mainThreadTicks, processTicks, stealPercent, TICK_US } from "./lib/cpu-ticks.ts";
import { RssSampler } from "./lib/rss.ts";
import type { FixedRateResult } from "./lib/fixed-rate.ts";
import { median } from "./lib/stats.ts";
import { loadProblem, measureThroughput } from "./lib/throughput.ts";
import { buildPackage } from "./targets/built.ts";
import { startFixedRateGenerator } from "./targets/fixed-rate-generator.ts";
import { setChildDeadline, type Launched } from "./targets/launch.ts";
import { isGatewayMode, parseEnvList, startPeers } from "./targets/peers.ts";
import { startTollgate } from "./targets/tollgate.ts";

const { values } = parseArgs({
  options: {
    a: { type: "string", default: "" },
    b: { type: "string", default: "" },
    "a-env": { type: "string", default: "" },
    "b-env": { type: "string", default: "" },
    "b-source": { type: "string" },
    mode: { type: "string", default: "off" },
    "b-off": { type: "boolean", default: false },
    entry: { type: "string", default: "dist" },
    rounds: { type: "string", default: "4" },
    duration: { type: "string", default: "8" },
    connections: { type: "string", default: "100" },
    "fixed-rate": { type: "string" },
  },
  strict: true,
});
const words = (text: string | undefined): string[] => (text ?? "").split(/\s+/).filter((w) => w !== "");
const mode = values.mode;
if (!isGatewayMode(mode)) throw new Error("--mode must be off, full or blackhole");
const rounds = Number(values.rounds);
const durationS = Number(values.duration);
const connections = Number(values.connections);
const fixedRate = values["fixed-rate"] === undefined ? undefined : Number(values["fixed-rate"]);
if (fixedRate !== undefined && !(fixedRate > 0)) throw new Error("--fixed-rate must be a positive number of requests per second");
const FIXED_RATE_WARMUP_S = 3;

const budgetMs = ((fixedRate === undefined ? 2 : 3) * rounds * (durationS + FIXED_RATE_WARMUP_S + 2) + 120) * 1000;
armGlobalDeadline(budgetMs);
setChildDeadline(Date.now() + budgetMs + 30_000);
const workDir = mkdtempSync(join(tmpdir(), "tollgate-ab-"));
const bSource = values["b-source"];
if (bSource !== undefined && values.entry === "src") throw new Error("--b-source compiles B's package: use it with --entry dist");
const cli = values.entry === "src" ? undefined : buildPackage(join(workDir, "a"));
const bCli = bSource === undefined ? cli : buildPackage(join(workDir, "b"), resolve(bSource));
const { upstream, telemetry } = await startPeers(mode, workDir);

interface Row {
  readonly rps: number;
  /** CPU µs per request: the process, its main thread (user, system), and the machine's idle time. */
  readonly cpuUs: number;
  readonly mainUserUs: number;
  readonly mainSystemUs: number;
  readonly idleUs: number;
  /** The hypervisor's steal, % of the machine's CPU time during the round. */
  readonly stealPct: number;
  readonly peakMB: number;
  readonly problem: string | undefined;
  /** --fixed-rate only. */
  readonly latency?: FixedRateResult;
}
interface Side {
  readonly name: "A" | "B";
  readonly label: string;
  readonly gateway: Launched;
  readonly rows: Row[];
}
async function side(name: "A" | "B", flags: string, env: string, sideCli: string | undefined): Promise<Side> {
  const off = name === "B" && values["b-off"] === true;
  const gateway = await startTollgate({
    name: `tollgate-${name}`,
    dir: workDir,
    upstreamPort: upstream.port,
    telemetry: off ? { kind: "off" } : telemetry,
    nodeFlags: words(flags),
    env: parseEnvList(env, "--a-env/--b-env"),
    ...(sideCli === undefined ? {} : { cli: sideCli }),
  });
  const source = name === "B" && bSource !== undefined ? ` (source ${bSource})` : "";
  const label = `${flags === "" ? "(no flags)" : flags}${env === "" ? "" : ` ${env}`}${source}${off ? " telemetry off" : ""}`;
  return { name, label, gateway, rows: [] };
}
const sides = [
  await side("A", values.a as string, values["a-env"] as string, cli),
  await side("B", values.b as string, values["b-env"] as string, bCli),
];

const generator = fixedRate === undefined ? undefined : await startFixedRateGenerator();
const fixedRateRun = (url: string): Promise<FixedRateResult> =>
  generator!.measure(url, { rate: fixedRate!, durationS, warmupS: FIXED_RATE_WARMUP_S, connections: 64 });
const directLatency: FixedRateResult[] = [];
const failedRequests = (r: FixedRateResult): number => r.non2xx + r.errors + r.timeouts;
const latencyText = (r: FixedRateResult): string =>
  `p50 ${r.p50.toFixed(3)} p99 ${r.p99.toFixed(3)} p99.9 ${r.p999.toFixed(3)} ms, send lag p99 ${r.sendLagP99.toFixed(3)} ms`;

if (generator === undefined) {
  for (const s of sides) await measureThroughput(`http://127.0.0.1:${s.gateway.port}/`, { durationS: 3, connections }); // warm-up
}
for (let round = 1; round <= rounds; round++) {
  if (generator !== undefined) {
    const machine0 = machineTicks();
    const direct = await fixedRateRun(`http://127.0.0.1:${upstream.port}/`);
    directLatency.push(direct);
    const failed = failedRequests(direct) > 0 ? `, ${failedRequests(direct)} failed requests (not used for "added")` : "";
    process.stderr.write(`ab: round ${round} direct: ${latencyText(direct)}, steal ${stealPercent(machine0, machineTicks()).toFixed(1)} %${failed}\n`);
  }
  for (const s of round % 2 === 1 ? sides : [...sides].reverse()) {
    const url = `http://127.0.0.1:${s.gateway.port}/`;
    const sampler = new RssSampler(s.gateway.pid, 250);
    const [process0, main0, machine0] = [processTicks(s.gateway.pid), mainThreadTicks(s.gateway.pid), machineTicks()];
    const latency = generator === undefined ? undefined : await fixedRateRun(url);
    const run = latency === undefined ? await measureThroughput(url, { durationS, connections }) : undefined;
    const [process1, main1, machine1] = [processTicks(s.gateway.pid), mainThreadTicks(s.gateway.pid), machineTicks()];
    sampler.stop();
    // The fixed-rate generator's ticks include its warm-up's requests.
    const requests = run?.requests ?? latency!.requests + latency!.warmupRequests;
    const perRequest = (ticks: number): number => (ticks * TICK_US) / Math.max(1, requests);
    const row: Row = {
      rps: run?.rps ?? latency!.achievedRate,
      cpuUs: perRequest(process1.user + process1.system - process0.user - process0.system),
      mainUserUs: perRequest(main1.user - main0.user),
      mainSystemUs: perRequest(main1.system - main0.system),
      idleUs: perRequest(machine1.idle - machine0.idle),
      stealPct: stealPercent(machine0, machine1),
      peakMB: sampler.peak(),
      problem: run !== undefined ? loadProblem(run) : failedRequests(latency!) > 0 ? "failed requests" : undefined,
      ...(latency === undefined ? {} : { latency }),
    };
    s.rows.push(row);
    process.stderr.write(
      `ab: round ${round} ${s.name}: ${Math.round(row.rps)} req/s, ${row.cpuUs.toFixed(1)} µs/req (main thread ${row.mainUserUs.toFixed(1)} user + ${row.mainSystemUs.toFixed(1)} system, machine idle ${row.idleUs.toFixed(1)}, steal ${row.stealPct.toFixed(1)} %), peak ${row.peakMB.toFixed(1)} MB${latency === undefined ? "" : `, ${latencyText(latency)}`}${row.problem === undefined ? "" : `, ${row.problem}`}\n`,
    );
  }
}
await generator?.stop();

const load = fixedRate === undefined ? `${connections} connections` : `a fixed ${fixedRate} req/s (after ${FIXED_RATE_WARMUP_S} s at the rate)`;
const lines = [
  `telemetry ${mode}, entry ${values.entry}, ${rounds} interleaved rounds of ${durationS} s at ${load}; medians (min-max)`,
  "",
  "| | flags | req/s | CPU µs/request | main thread user µs | main thread system µs | machine idle µs | steal % | peak VmRSS MB |",
  "|---|---|---:|---:|---:|---:|---:|---:|---:|",
];
const span = (xs: number[], digits: number): string =>
  `${median(xs).toFixed(digits)} (${Math.min(...xs).toFixed(digits)}-${Math.max(...xs).toFixed(digits)})`;
for (const s of sides) {
  const column = (pick: (r: Row) => number, digits: number): string => span(s.rows.map(pick), digits);
  const cells = [column((r) => r.rps, 0), column((r) => r.cpuUs, 1), column((r) => r.mainUserUs, 1), column((r) => r.mainSystemUs, 1), column((r) => r.idleUs, 1), column((r) => r.stealPct, 1), column((r) => r.peakMB, 1)];
  lines.push(`| ${s.name} | \`${s.label}\` | ${cells.join(" | ")} |`);
}
if (fixedRate !== undefined) {
  lines.push(
    "",
    "Latency in ms, from each request's send; \"added\" is the side's median minus direct's (direct ran first in every round;",
    "a direct round with failed requests is left out of direct's median, and with none left \"added\" is n/a).",
    "",
    "| | p50 | p99 | p99.9 | added p50 | added p99 | send lag p99 |",
    "|---|---:|---:|---:|---:|---:|---:|",
  );
  // An upstream that failed requests measured something other than a fast upstream.
  const cleanDirect = directLatency.filter((r) => failedRequests(r) === 0);
  const directP50 = cleanDirect.length === 0 ? Number.NaN : median(cleanDirect.map((r) => r.p50));
  const directP99 = cleanDirect.length === 0 ? Number.NaN : median(cleanDirect.map((r) => r.p99));
  const latencyRow = (name: string, rs: readonly FixedRateResult[], added: boolean): string => {
    const m = (pick: (r: FixedRateResult) => number): number => median(rs.map(pick));
    const addedCells = added && cleanDirect.length > 0 ? [(m((r) => r.p50) - directP50).toFixed(3), (m((r) => r.p99) - directP99).toFixed(3)] : ["n/a", "n/a"];
    const ranged = (pick: (r: FixedRateResult) => number): string => span(rs.map(pick), 3);
    return `| ${name} | ${ranged((r) => r.p50)} | ${ranged((r) => r.p99)} | ${ranged((r) => r.p999)} | ${addedCells.join(" | ")} | ${ranged((r) => r.sendLagP99)} |`;
  };
  lines.push(latencyRow("direct", cleanDirect.length > 0 ? cleanDirect : directLatency, false));
  for (const s of sides) lines.push(latencyRow(s.name, s.rows.map((r) => r.latency!), true));
}
process.stdout.write(lines.join("\n") + "\n");
await stopAll(5000);
rmSync(workDir, { recursive: true, force: true });
process.exit(0);
