// Runs the router micro-benchmark (bench/router.bench.ts, owned by the router) in a
// process of its own and keeps the JSON it prints: the last line of stdout that parses,
// or the whole of stdout.
import { existsSync } from "node:fs";
import { spawnTracked } from "./children.ts";
import { pinnedNode, repoRoot, routerBench } from "./paths.ts";
import { childEnv } from "../targets/launch.ts";
import type { RouterBenchResult } from "./results.ts";

export async function runRouterBench(quick: boolean, timeoutMs: number): Promise<RouterBenchResult> {
  if (!existsSync(routerBench)) return { status: "skipped", reason: "bench/router.bench.ts does not exist yet" };
  const lines: string[] = [];
  const { tracked } = await spawnTracked("router-bench", pinnedNode(), [routerBench], {
    cwd: repoRoot,
    env: childEnv(quick ? { BENCH_QUICK: "1" } : {}),
  });
  tracked.onLine((line) => lines.push(line));
  const timer = setTimeout(() => void tracked.stop(1000), timeoutMs);
  const { code, signal } = await tracked.exited;
  clearTimeout(timer);
  if (code !== 0) {
    return { status: "failed", reason: `exited with ${code ?? signal}${signal === "SIGTERM" ? ` (over ${timeoutMs / 1000} s)` : ""}: ${tracked.tail().slice(-600)}` };
  }
  const output = parseJsonOutput(lines);
  if (output === undefined) return { status: "failed", reason: `printed no JSON: ${lines.join("\n").slice(-600)}` };
  return { status: "ok", output };
}

function parseJsonOutput(lines: readonly string[]): unknown {
  try {
    return JSON.parse(lines.join("\n"));
  } catch {
    for (let i = lines.length - 1; i >= 0; i--) {
      try {
        return JSON.parse(lines[i] as string);
      } catch {
        // Keep looking.
      }
    }
  }
  return undefined;
}
