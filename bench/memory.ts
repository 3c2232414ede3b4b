// `node bench/memory.ts`: where a gateway's memory goes, phase by phase. Starts the upstream,
// a collector (ack receiver or black hole) and one gateway with the heap probe preloaded,
// then walks it through the phases the bench measures: idle after start, a closed-loop run
// at 100 connections, 10 s at 1,000 connections, idle again, and an optional soak. For each
// phase it prints VmRSS split into anonymous and file pages (/proc/PID/status), the V8 heap
// spaces and off-heap numbers the process reports (bench/servers/heap-probe.ts), req/s and
// CPU µs per request (/proc/PID/stat), so a change's memory and CPU cost show side by side.
//   --mode off|full|blackhole   telemetry as in the bench scenarios (default off)
//   --entry src|dist            run src/cli/main.ts, or a freshly built package (default dist)
//   --node-flags "FLAGS"        extra node flags for the gateway
//   --env K=V,K=V               extra environment for the gateway
//   --load S                    seconds at 100 connections (default 20)
//   --peak S                    seconds at 1,000 connections (default 10)
//   --soak S                    seconds of a final soak at 100 connections (default 0)
//   --hold S                    keep the gateway up this long after the report, to inspect it
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { armGlobalDeadline, stopAll } from "./lib/children.ts";
import { serversDir } from "./lib/paths.ts";
import { RssSampler } from "./lib/rss.ts";
import { smapsGroups } from "./lib/smaps.ts";
import { loadProblem, measureThroughput, type ThroughputResult } from "./lib/throughput.ts";
import { sleep } from "./lib/wait.ts";
import { buildPackage } from "./targets/built.ts";
import { setChildDeadline } from "./targets/launch.ts";
import { isGatewayMode, parseEnvList, startPeers } from "./targets/peers.ts";
import { startTollgate } from "./targets/tollgate.ts";

const { values } = parseArgs({
  options: {
    mode: { type: "string", default: "off" },
    entry: { type: "string", default: "dist" },
    "node-flags": { type: "string", default: "" },
    env: { type: "string", default: "" },
    load: { type: "string", default: "20" },
    peak: { type: "string", default: "10" },
    soak: { type: "string", default: "0" },
    hold: { type: "string", default: "0" },
  },
  strict: true,
});
const mode = values.mode;
if (!isGatewayMode(mode)) throw new Error(`--mode must be off, full or blackhole`);
if (values.entry !== "src" && values.entry !== "dist") throw new Error(`--entry must be src or dist`);
const loadS = Number(values.load);
const peakS = Number(values.peak);
const soakS = Number(values.soak);
const extraEnv = parseEnvList(values.env, "--env");

const budgetMs = (loadS + peakS + soakS + Number(values.hold) + 150) * 1000;
armGlobalDeadline(budgetMs);
setChildDeadline(Date.now() + budgetMs + 30_000);
const workDir = mkdtempSync(join(tmpdir(), "tollgate-memory-"));
const probeFile = join(workDir, "heap.jsonl");
const cli = values.entry === "dist" ? buildPackage(workDir) : undefined;

const { upstream, telemetry } = await startPeers(mode, workDir);
const nodeFlags = [...(values["node-flags"] as string).split(/\s+/).filter((f) => f !== ""), "--import", join(serversDir, "heap-probe.ts")];
const gateway = await startTollgate({
  name: `tollgate-${mode}`,
  dir: workDir,
  upstreamPort: upstream.port,
  telemetry,
  nodeFlags,
  ...(cli === undefined ? {} : { cli }),
  env: { ...extraEnv, BENCH_HEAP_PROBE_FILE: probeFile },
});
const url = `http://127.0.0.1:${gateway.port}/`;
const pid = gateway.pid;

const MB = (bytes: number): string => (bytes / 1e6).toFixed(1);
function status(): Record<string, number> {
  const out: Record<string, number> = {};
  for (const line of readFileSync(`/proc/${pid}/status`, "utf8").split("\n")) {
    const m = /^(VmRSS|RssAnon|RssFile|RssShmem|VmHWM):\s+(\d+) kB$/.exec(line);
    if (m !== null) out[m[1] as string] = Number(m[2]) * 1024;
  }
  return out;
}
function cpuTicks(): number {
  const fields = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]?.split(" ") ?? [];
  return Number(fields[11]) + Number(fields[12]); // utime + stime, in clock ticks (100/s)
}
interface ProbeLine {
  readonly pid: number;
  readonly heapTotal: number;
  readonly heapUsed: number;
  readonly external: number;
  readonly arrayBuffers: number;
  readonly malloced: number;
  readonly spaces: Record<string, { size: number; used: number; physical: number }>;
}
function lastProbe(): ProbeLine | undefined {
  try {
    const lines = readFileSync(probeFile, "utf8").trim().split("\n");
    for (let i = lines.length - 1; i >= 0; i--) {
      const p = JSON.parse(lines[i] as string) as ProbeLine;
      if (p.pid === pid) return p;
    }
  } catch {
    // not written yet
  }
  return undefined;
}

const rows: string[] = [];
const mappings: string[] = [];
function record(phase: string, peakRss: number | undefined, run: ThroughputResult | undefined, cpuTicksUsed: number | undefined): void {
  const s = status();
  const p = lastProbe();
  const sp = (name: string): string => (p?.spaces[name] === undefined ? "?" : MB(p.spaces[name].size));
  const cpu = run !== undefined && cpuTicksUsed !== undefined && run.requests > 0 ? ((cpuTicksUsed * 10_000) / run.requests).toFixed(1) : "";
  rows.push(
    `| ${phase} | ${MB(s.VmRSS ?? 0)} | ${peakRss === undefined ? "" : MB(peakRss * 1e6)} | ${MB(s.RssAnon ?? 0)} | ${MB(s.RssFile ?? 0)} | ` +
      `${p === undefined ? "?" : `${MB(p.heapTotal)} / ${MB(p.heapUsed)}`} | ${sp("new_space")} | ${sp("old_space")} | ${sp("code_space")} | ${sp("large_object_space")} | ` +
      `${p === undefined ? "?" : MB(p.external)} | ${p === undefined ? "?" : MB(p.malloced)} | ${run === undefined ? "" : Math.round(run.rps).toLocaleString("en-US")} | ${cpu} | ${run === undefined ? "" : (loadProblem(run) ?? "")} |`,
  );
  const groups = smapsGroups(pid).slice(0, 8);
  mappings.push(`- ${phase}: ${groups.map((g) => `${g.name} ×${g.maps} ${(g.rssKiB / 1024).toFixed(1)} MiB`).join(", ")}`);
  process.stderr.write(`memory: pid ${pid}: ${phase}: VmRSS ${MB(s.VmRSS ?? 0)} MB${peakRss === undefined ? "" : `, peak ${peakRss.toFixed(1)} MB`}${run === undefined ? "" : `, ${Math.round(run.rps)} req/s`}\n`);
}

async function phase(name: string, seconds: number, connections: number): Promise<void> {
  const sampler = new RssSampler(pid, 250);
  const cpu0 = cpuTicks();
  const run = await measureThroughput(url, { durationS: seconds, connections });
  const cpu = cpuTicks() - cpu0;
  sampler.stop();
  await sleep(600); // one more probe line after the load
  record(name, sampler.peak(), run, cpu);
}

await sleep(2000);
record("idle after start", undefined, undefined, undefined);
if (loadS > 0) await phase(`${loadS} s at 100 connections`, loadS, 100);
if (peakS > 0) await phase(`${peakS} s at 1,000 connections`, peakS, 1000);
await sleep(5000);
record("idle 5 s later", undefined, undefined, undefined);
if (soakS > 0) await phase(`soak ${soakS} s at 100 connections`, soakS, 100);

process.stdout.write(
  `\nTollgate telemetry ${mode}, entry ${values.entry}, node flags ${JSON.stringify(values["node-flags"])}, env ${JSON.stringify(values.env)}\n\n` +
    "| phase | VmRSS MB | peak MB | anon MB | file MB | heap total / used MB | new space | old space | code | large obj | external | malloced | req/s | CPU µs/req | problems |\n" +
    "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|\n" +
    rows.join("\n") +
    "\n\nResident memory by mapping (/proc/PID/smaps, largest first):\n\n" +
    mappings.join("\n") +
    "\n",
);
if (Number(values.hold) > 0) {
  process.stderr.write(`memory: holding pid ${pid} for ${values.hold} s\n`);
  await sleep(Number(values.hold) * 1000);
}
await stopAll(5000);
rmSync(workDir, { recursive: true, force: true });
process.exit(0);
