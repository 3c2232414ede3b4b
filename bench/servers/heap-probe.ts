// Preloaded into a gateway by `bench/memory.ts` (`--import`), never by the bench itself:
// every 500 ms it writes the process's own view of its memory (V8 heap spaces, external and
// array buffers) as one JSON line to $BENCH_HEAP_PROBE_FILE, so RSS can be split into heap,
// off-heap and file pages from outside. Loaded before the CLI, so it survives the CLI's
// one-time re-exec (the flag is in execArgv).
import { appendFileSync } from "node:fs";
import { getHeapSpaceStatistics, getHeapStatistics } from "node:v8";

const file = process.env.BENCH_HEAP_PROBE_FILE;
if (file !== undefined && file !== "") {
  const started = performance.now();
  const timer = setInterval(() => {
    const usage = process.memoryUsage();
    const heap = getHeapStatistics();
    const spaces: Record<string, { size: number; used: number; physical: number }> = {};
    for (const s of getHeapSpaceStatistics()) {
      spaces[s.space_name] = { size: s.space_size, used: s.space_used_size, physical: s.physical_space_size };
    }
    const line = {
      t: (performance.now() - started) / 1000,
      pid: process.pid,
      rss: usage.rss,
      heapTotal: usage.heapTotal,
      heapUsed: usage.heapUsed,
      external: usage.external,
      arrayBuffers: usage.arrayBuffers,
      physical: heap.total_physical_size,
      malloced: heap.malloced_memory,
      peakMalloced: heap.peak_malloced_memory,
      spaces,
    };
    try {
      appendFileSync(file, JSON.stringify(line) + "\n");
    } catch {
      clearInterval(timer);
    }
  }, 500);
  timer.unref();
}
