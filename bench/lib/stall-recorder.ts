// A diagnostic preload for a gateway under `bench:ab`: why did the event loop stall?
//   npm run bench:ab -- --mode full --b-off --fixed-rate 1000 \
//     --a=--import=$PWD/bench/lib/stall-recorder.ts --b=--import=$PWD/bench/lib/stall-recorder.ts \
//     --a-env STALL_OUT=/tmp/stalls-full --b-env STALL_OUT=/tmp/stalls-off
// (An absolute path: `--import` resolves against the gateway's working directory, not this checkout.)
// A 1 ms timer notices every gap of 4 ms or more. For each gap it reads how much CPU the main
// thread got, how much the whole process got (so the V8 GC helper threads' share is the
// difference), the context switches and page faults, and which GC events overlapped. At exit
// it writes STALL_OUT.txt: every gap, then the gaps by class and each thread's CPU total.
// The classes:
//   busy     the main thread ran for most of the gap: a long task;
//   helpers  the process's other threads ran for at least half of it while the main thread
//            did not: it was preempted by its own GC helpers (or waited for them);
//   idle     almost no CPU anywhere in the process: the machine did not run it (steal, or
//            other processes on the cores);
//   mixed    the rest.
// The 1 ms timer and the reads cost every side alike; compare sides, not absolute numbers.
import { readdirSync, readFileSync, writeFileSync } from "node:fs";
import { performance, PerformanceObserver, type PerformanceEntry } from "node:perf_hooks";
import { threadTicks, TICK_US } from "./cpu-ticks.ts";

const GAP_MS = 4;
const out = process.env["STALL_OUT"] ?? `/tmp/stalls-${process.pid}`;

interface Gc {
  readonly start: number;
  readonly end: number;
  readonly kind: number;
}
interface Gap {
  readonly ms: number;
  readonly mainMs: number;
  readonly otherThreadsMs: number;
  readonly line: string;
}

const recentGcs: Gc[] = [];
new PerformanceObserver((list) => {
  for (const e of list.getEntries() as (PerformanceEntry & { detail?: { kind?: number } })[]) {
    recentGcs.push({ start: e.startTime, end: e.startTime + e.duration, kind: e.detail?.kind ?? 0 });
  }
}).observe({ entryTypes: ["gc"] });

const gaps: Gap[] = [];
let lastAt = performance.now();
let lastMain = process.threadCpuUsage();
let lastUsage = process.resourceUsage();

setInterval(() => {
  const at = performance.now();
  const main = process.threadCpuUsage();
  const usage = process.resourceUsage();
  const ms = at - lastAt;
  if (ms >= GAP_MS) {
    const mainMs = (main.user - lastMain.user + main.system - lastMain.system) / 1000;
    const processMs = (usage.userCPUTime - lastUsage.userCPUTime + usage.systemCPUTime - lastUsage.systemCPUTime) / 1000;
    const gcs = recentGcs.filter((g) => g.end >= lastAt && g.start <= at).map((g) => `gc${g.kind}@${(g.start - lastAt).toFixed(1)}+${(g.end - g.start).toFixed(1)}`);
    const line =
      `${at.toFixed(0)} ms: gap ${ms.toFixed(1)} main ${mainMs.toFixed(1)} other threads ${Math.max(0, processMs - mainMs).toFixed(1)} ` +
      `minor faults ${usage.minorPageFault - lastUsage.minorPageFault} voluntary cs ${usage.voluntaryContextSwitches - lastUsage.voluntaryContextSwitches} ` +
      `involuntary cs ${usage.involuntaryContextSwitches - lastUsage.involuntaryContextSwitches} ${gcs.join(" ")}`;
    gaps.push({ ms, mainMs, otherThreadsMs: Math.max(0, processMs - mainMs), line });
  }
  while (recentGcs.length > 0 && (recentGcs[0] as Gc).end < at - 100) recentGcs.shift();
  lastAt = at;
  lastMain = main;
  lastUsage = usage;
}, 1).unref();

function classOf(g: Gap): string {
  if (g.mainMs >= 0.7 * g.ms) return "busy";
  if (g.otherThreadsMs >= 0.5 * g.ms) return "helpers";
  if (g.mainMs + g.otherThreadsMs < 0.2 * g.ms) return "idle";
  return "mixed";
}

/** CPU ms of each thread name over the process's life. */
function cpuByThreadName(): string {
  const byName = new Map<string, number>();
  for (const tid of readdirSync("/proc/self/task")) {
    const name = readFileSync(`/proc/self/task/${tid}/comm`, "utf8").trim();
    const ticks = threadTicks(process.pid, tid);
    byName.set(name, (byName.get(name) ?? 0) + ((ticks.user + ticks.system) * TICK_US) / 1000);
  }
  return [...byName].map(([name, ms]) => `${name} ${ms} ms`).join(", ");
}

process.on("exit", () => {
  const classes = new Map<string, { count: number; ms: number; over8: number }>();
  const lines: string[] = [];
  for (const g of gaps) {
    const name = classOf(g);
    const c = classes.get(name) ?? { count: 0, ms: 0, over8: 0 };
    c.count++;
    c.ms += g.ms;
    if (g.ms >= 8) c.over8++;
    classes.set(name, c);
    lines.push(`${g.line} [${name}]`);
  }
  const summary = [...classes].map(([name, c]) => `${name}: ${c.count} gaps, ${c.ms.toFixed(0)} ms, ${c.over8} of 8 ms or more`);
  writeFileSync(`${out}.txt`, [...lines, "", ...summary, `CPU by thread: ${cpuByThreadName()}`, ""].join("\n"));
});
