// `node bench/ab.ts`: two gateways side by side, differing only in node flags or environment,
// measured in interleaved rounds (A B A B ...) so drift on a shared machine hits both alike.
// Per round: req/s, process CPU µs per request (/proc/PID/stat, GC threads included) and
// peak VmRSS; then the medians. For tuning decisions like a V8 flag's CPU cost.
//   --a "FLAGS" / --b "FLAGS"   node flags of gateway A and B (default none)
//   --a-env K=V,... / --b-env   extra environment of A and B
//   --b-source DIR              B runs another checkout's sources (e.g. `git worktree add
//                               /tmp/old HEAD~3`), compiled like A's, with this checkout's
//                               node_modules: is a change a regression or the machine's drift?
//   --mode off|full|blackhole   telemetry (default off)
//   --entry dist|src            built package (default) or the sources
//   --rounds N                  interleaved rounds (default 4)
//   --duration S                seconds per round (default 8)
//   --connections N             closed-loop connections (default 100)
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { parseArgs } from "node:util";
import { armGlobalDeadline, stopAll } from "./lib/children.ts";
import { RssSampler } from "./lib/rss.ts";
import { median } from "./lib/stats.ts";
import { loadProblem, measureThroughput } from "./lib/throughput.ts";
import { buildPackage } from "./targets/built.ts";
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
    entry: { type: "string", default: "dist" },
    rounds: { type: "string", default: "4" },
    duration: { type: "string", default: "8" },
    connections: { type: "string", default: "100" },
  },
  strict: true,
});
const words = (text: string | undefined): string[] => (text ?? "").split(/\s+/).filter((w) => w !== "");
const mode = values.mode;
if (!isGatewayMode(mode)) throw new Error("--mode must be off, full or blackhole");
const rounds = Number(values.rounds);
const durationS = Number(values.duration);
const connections = Number(values.connections);

const budgetMs = (2 * rounds * (durationS + 2) + 120) * 1000;
armGlobalDeadline(budgetMs);
setChildDeadline(Date.now() + budgetMs + 30_000);
const workDir = mkdtempSync(join(tmpdir(), "tollgate-ab-"));
const bSource = values["b-source"];
if (bSource !== undefined && values.entry === "src") throw new Error("--b-source compiles B's package: use it with --entry dist");
const cli = values.entry === "src" ? undefined : buildPackage(join(workDir, "a"));
const bCli = bSource === undefined ? cli : buildPackage(join(workDir, "b"), resolve(bSource));
const { upstream, telemetry } = await startPeers(mode, workDir);

interface Side {
  readonly name: "A" | "B";
  readonly label: string;
  readonly gateway: Launched;
  readonly rows: { rps: number; cpuUs: number; peakMB: number; problem: string | undefined }[];
}
async function side(name: "A" | "B", flags: string, env: string, sideCli: string | undefined): Promise<Side> {
  const gateway = await startTollgate({
    name: `tollgate-${name}`,
    dir: workDir,
    upstreamPort: upstream.port,
    telemetry,
    nodeFlags: words(flags),
    env: parseEnvList(env, "--a-env/--b-env"),
    ...(sideCli === undefined ? {} : { cli: sideCli }),
  });
  const source = name === "B" && bSource !== undefined ? ` (source ${bSource})` : "";
  return { name, label: `${flags === "" ? "(no flags)" : flags}${env === "" ? "" : ` ${env}`}${source}`, gateway, rows: [] };
}
const sides = [
  await side("A", values.a as string, values["a-env"] as string, cli),
  await side("B", values.b as string, values["b-env"] as string, bCli),
];

function cpuTicks(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]?.split(" ") ?? [];
  return Number(fields[11]) + Number(fields[12]);
}

for (const s of sides) await measureThroughput(`http://127.0.0.1:${s.gateway.port}/`, { durationS: 3, connections }); // warm-up
for (let round = 1; round <= rounds; round++) {
  for (const s of round % 2 === 1 ? sides : [...sides].reverse()) {
    const sampler = new RssSampler(s.gateway.pid, 250);
    const cpu0 = cpuTicks(s.gateway.pid);
    const run = await measureThroughput(`http://127.0.0.1:${s.gateway.port}/`, { durationS, connections });
    const ticks = cpuTicks(s.gateway.pid) - cpu0;
    sampler.stop();
    const row = { rps: run.rps, cpuUs: (ticks * 10_000) / Math.max(1, run.requests), peakMB: sampler.peak(), problem: loadProblem(run) };
    s.rows.push(row);
    process.stderr.write(`ab: round ${round} ${s.name}: ${Math.round(row.rps)} req/s, ${row.cpuUs.toFixed(1)} µs/req, peak ${row.peakMB.toFixed(1)} MB${row.problem === undefined ? "" : `, ${row.problem}`}\n`);
  }
}

const lines = [
  `telemetry ${mode}, entry ${values.entry}, ${rounds} interleaved rounds of ${durationS} s at ${connections} connections; medians (min-max)`,
  "",
  "| | flags | req/s | CPU µs/request | peak VmRSS MB |",
  "|---|---|---:|---:|---:|",
];
const span = (xs: number[], digits: number): string =>
  `${median(xs).toFixed(digits)} (${Math.min(...xs).toFixed(digits)}-${Math.max(...xs).toFixed(digits)})`;
for (const s of sides) {
  lines.push(`| ${s.name} | \`${s.label}\` | ${span(s.rows.map((r) => r.rps), 0)} | ${span(s.rows.map((r) => r.cpuUs), 1)} | ${span(s.rows.map((r) => r.peakMB), 1)} |`);
}
process.stdout.write(lines.join("\n") + "\n");
await stopAll(5000);
rmSync(workDir, { recursive: true, force: true });
process.exit(0);
