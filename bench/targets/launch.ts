// Starting the two kinds of processes the bench runs: node scripts of our own that
// announce their port, and foreign programs run on a leash (servers/leash.ts).
import { join } from "node:path";
import { spawnTracked, DEADLINE_ENV, type Tracked } from "../lib/children.ts";
import { pinnedNode, serversDir } from "../lib/paths.ts";

export interface Launched {
  readonly tracked: Tracked;
  /** The process doing the work (for a leashed program, the program, not the leash). */
  readonly pid: number;
  readonly port: number;
  /** The gateway's ops listener (Prometheus /metrics), when the process has one. */
  readonly opsPort?: number;
}

let deadlineMs = 0;

/** Every child started from now on exits by itself at this epoch-ms time. */
export function setChildDeadline(epochMs: number): void {
  deadlineMs = epochMs;
}

/** The runner's environment without its OTEL_* variables (they must never leak into a measured process), plus `extra`. */
export function childEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(process.env)) if (!key.startsWith("OTEL_")) env[key] = value;
  Object.assign(env, extra);
  if (deadlineMs > 0) env[DEADLINE_ENV] = String(deadlineMs);
  return env;
}

export async function launchScript(
  name: string,
  script: string,
  args: readonly string[] = [],
  env: Record<string, string> = {},
): Promise<Launched> {
  const { tracked, ready } = await spawnTracked(name, pinnedNode(), [join(serversDir, script), ...args], {
    env: childEnv(env),
    waitForReadyLine: true,
    readyTimeoutMs: 30_000,
  });
  const port = Number(ready?.port ?? 0);
  const pid = Number(ready?.pid ?? tracked.child.pid ?? 0);
  if (!(port > 0)) throw new Error(`${name} announced no port`);
  return { tracked, pid, port };
}

/** Runs `command` under the leash; the caller knows the port (it chose it) and checks readiness. */
export async function launchLeashed(
  name: string,
  command: string,
  args: readonly string[],
  options: { readonly logFile: string; readonly port: number; readonly env?: Record<string, string>; readonly graceMs?: number },
): Promise<Launched> {
  const leashArgs = [join(serversDir, "leash.ts"), "--log", options.logFile, "--grace", String(options.graceMs ?? 5000), "--", command, ...args];
  const { tracked, ready } = await spawnTracked(name, pinnedNode(), leashArgs, {
    env: childEnv(options.env),
    waitForReadyLine: true,
    readyTimeoutMs: 10_000,
  });
  return { tracked, pid: Number(ready?.childPid ?? 0), port: options.port };
}
