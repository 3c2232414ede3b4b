// V8 sizes the young generation from the machine's memory: on a large host each semi-space
// grows to 64 MB under load and stays resident, well over 100 MB of RSS for objects that
// live a few milliseconds. A proxy's per-request garbage needs far less: with 8 MB
// semi-spaces a scavenge stays under a millisecond. The limit can only be set when the
// isolate starts, so `tollgate run` restarts itself once with it (same pid, same fds),
// unless the user chose a young-generation size already (NODE_OPTIONS or a node flag).
import cluster from "node:cluster";

export const SEMI_SPACE_MB = 8;

const YOUNG_GENERATION_FLAGS = ["--max-semi-space-size", "--max_semi_space_size", "--min-semi-space-size", "--min_semi_space_size", "--semi-space-growth-factor", "--semi_space_growth_factor"];

/** True when a node flag or NODE_OPTIONS already sets the young generation's size. */
export function youngGenerationConfigured(execArgv: readonly string[], nodeOptions: string | undefined): boolean {
  const words = [...execArgv, ...(nodeOptions ?? "").split(/\s+/)];
  return words.some((w) => YOUNG_GENERATION_FLAGS.some((flag) => w === flag || w.startsWith(`${flag}=`)));
}

/** Never returns when it restarts the process; returns when the limit is set or cannot be. */
export function capYoungGeneration(): void {
  if (cluster.isWorker || process.platform === "win32" || typeof process.execve !== "function") return;
  if (youngGenerationConfigured(process.execArgv, process.env.NODE_OPTIONS)) return;
  const script = process.argv[1];
  if (script === undefined) return;
  try {
    process.execve(process.execPath, [process.execPath, `--max-semi-space-size=${SEMI_SPACE_MB}`, ...process.execArgv, script, ...process.argv.slice(2)], process.env);
  } catch {
    // Not allowed here (sandbox, unusual platform): serve with V8's defaults.
  }
}
