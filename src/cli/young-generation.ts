// V8 sizes its heap from the machine's memory, for a browser tab rather than a proxy:
// - The young generation: on a large host each semi-space grows to 64 MB under load and stays
//   resident, well over 100 MB of RSS for objects that live a few milliseconds. A proxy's
//   per-request garbage needs far less: with 8 MB semi-spaces a scavenge stays under a
//   millisecond.
// - The old generation: with a heap limit of 2 GB or more (any host with over 8 GB and no
//   container limit) V8 lets old space grow to 4 × the live heap before it collects, and
//   keeps the pages a collection frees committed in its page pool: a gateway with a 40-60 MB
//   live heap holds 150-250 MB. Below a 2 GB limit V8 scales that factor down to 1.3-2.0, so
//   `tollgate run` caps the old generation just under it, at 2000 MB: about half the slack,
//   50-90 MB less RSS under load, for 0-10 % more CPU per request (interleaved runs on a
//   noisy machine; a 1 GB cap saves another ~30 MB for ~10-15 %). A lower limit (a container
//   under 8 GiB, from which Node derives V8's) is never raised.
// - How far old space grows between collections: V8 picks a factor of 1.3 to 2 under a
//   2 GB limit. A gateway's live heap is small (25-35 MB), and with the ~1.6 V8 chose, the
//   room left after a collection was only about one young generation: V8's marking task
//   started the next cycle almost at once. Under full telemetry at 1,000 req/s that was 27
//   mark-compacts in 70 s, each a 3-9 ms pause plus marking steps, and the added p99 was
//   8-13 ms. A fixed factor of 2 (limit = 2 × live) cuts that to
//   7-8 and the p99 to 1.4-3.9 ms, for 4-14 MB more peak RSS and no CPU cost (2 % less with
//   telemetry on).
// All of these can only be set when the isolate starts, so `tollgate run` restarts itself once
// with them (same pid, same fds). Each is left out when the user set it already (a node flag,
// or NODE_OPTIONS for the sizes), so `NODE_OPTIONS=--max-old-space-size=1024` takes over.
import cluster from "node:cluster";
import { getHeapStatistics } from "node:v8";

export const SEMI_SPACE_MB = 8;
export const OLD_SPACE_MB = 2000;
export const HEAP_GROWING_PERCENT = 100;

const YOUNG_GENERATION_FLAGS = ["--max-semi-space-size", "--max_semi_space_size", "--min-semi-space-size", "--min_semi_space_size", "--semi-space-growth-factor", "--semi_space_growth_factor"];
const OLD_GENERATION_FLAGS = ["--max-old-space-size", "--max_old_space_size", "--max-heap-size", "--max_heap_size"];
const HEAP_GROWTH_FLAGS = ["--heap-growing-percent", "--heap_growing_percent"];

function configured(flags: readonly string[], execArgv: readonly string[], nodeOptions: string | undefined): boolean {
  const words = [...execArgv, ...(nodeOptions ?? "").split(/\s+/)];
  return words.some((w) => flags.some((flag) => w === flag || w.startsWith(`${flag}=`)));
}

/** True when a node flag or NODE_OPTIONS already sets the young generation's size. */
export function youngGenerationConfigured(execArgv: readonly string[], nodeOptions: string | undefined): boolean {
  return configured(YOUNG_GENERATION_FLAGS, execArgv, nodeOptions);
}

/** True when a node flag or NODE_OPTIONS already sets the old generation's or the whole heap's size. */
export function oldGenerationConfigured(execArgv: readonly string[], nodeOptions: string | undefined): boolean {
  return configured(OLD_GENERATION_FLAGS, execArgv, nodeOptions);
}

/**
 * True when a node flag already sets how far the old generation grows between collections
 * (node refuses this V8 flag in NODE_OPTIONS, so only the command line can set it).
 */
export function heapGrowthConfigured(execArgv: readonly string[]): boolean {
  return configured(HEAP_GROWTH_FLAGS, execArgv, undefined);
}

/**
 * The old-generation cap in MB: OLD_SPACE_MB, or less when V8's own heap limit (from the
 * host's or the container's memory) is already lower; undefined when the cap would not lower it.
 */
export function oldSpaceCapMB(heapSizeLimitBytes: number, semiSpaceMB: number): number | undefined {
  // heap_size_limit covers the young generation too (three semi-spaces' worth).
  const v8OldSpaceMB = Math.floor(heapSizeLimitBytes / 2 ** 20) - 3 * semiSpaceMB;
  return v8OldSpaceMB > OLD_SPACE_MB ? OLD_SPACE_MB : undefined;
}

/** The node flags `tollgate run` restarts with; empty when there is nothing to add. */
export function heapFlags(execArgv: readonly string[], nodeOptions: string | undefined, heapSizeLimitBytes: number): string[] {
  const flags: string[] = [];
  if (!youngGenerationConfigured(execArgv, nodeOptions)) flags.push(`--max-semi-space-size=${SEMI_SPACE_MB}`);
  if (!oldGenerationConfigured(execArgv, nodeOptions)) {
    const cap = oldSpaceCapMB(heapSizeLimitBytes, SEMI_SPACE_MB);
    if (cap !== undefined) flags.push(`--max-old-space-size=${cap}`);
  }
  if (!heapGrowthConfigured(execArgv)) flags.push(`--heap-growing-percent=${HEAP_GROWING_PERCENT}`);
  return flags;
}

/** Never returns when it restarts the process; returns when the limits are set or cannot be. */
export function capYoungGeneration(): void {
  if (cluster.isWorker || process.platform === "win32" || typeof process.execve !== "function") return;
  const flags = heapFlags(process.execArgv, process.env.NODE_OPTIONS, getHeapStatistics().heap_size_limit);
  if (flags.length === 0) return;
  const script = process.argv[1];
  if (script === undefined) return;
  try {
    process.execve(process.execPath, [process.execPath, ...flags, ...process.execArgv, script, ...process.argv.slice(2)], process.env);
  } catch {
    // Not allowed here (sandbox, unusual platform): serve with V8's defaults.
  }
}
