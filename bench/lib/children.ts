// Every process the bench starts goes through here, so that all of them die with the
// runner: on normal exit, on SIGINT/SIGTERM/SIGHUP, and on any uncaught error. Each child
// also watches its stdin (a pipe from the runner) and a deadline, so even a runner killed
// with SIGKILL leaves nothing behind: the pipe closes and the child exits on its own.
import { spawn, type ChildProcess } from "node:child_process";
import { createInterface } from "node:readline";

export interface ReadyInfo {
  readonly ready: true;
  readonly port?: number;
  readonly pid?: number;
  readonly [key: string]: unknown;
}

export interface Tracked {
  readonly name: string;
  readonly child: ChildProcess;
  /** Resolves once the child has exited, with its code or signal. */
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  hasExited(): boolean;
  /** The last few KiB of stdout and stderr, for error messages. */
  tail(): string;
  /** Called for every stdout line after the ready line. */
  onLine(listener: (line: string) => void): void;
  /** Writes one command line to the child's stdin. */
  send(line: string): void;
  /** SIGTERM, then SIGKILL after graceMs. */
  stop(graceMs?: number): Promise<void>;
}

export interface SpawnOptions {
  readonly env?: NodeJS.ProcessEnv;
  readonly cwd?: string;
  /** Wait for a JSON line `{"ready":true,...}` on stdout; otherwise resolve as soon as spawned. */
  readonly waitForReadyLine?: boolean;
  readonly readyTimeoutMs?: number;
}

const TAIL_BYTES = 8192;
const live = new Set<Tracked>();
let cleanupInstalled = false;

/** Absolute epoch ms after which every child exits by itself (see servers/guard.ts). */
export const DEADLINE_ENV = "BENCH_DEADLINE_MS";

export async function spawnTracked(
  name: string,
  command: string,
  args: readonly string[],
  options: SpawnOptions = {},
): Promise<{ tracked: Tracked; ready: ReadyInfo | undefined }> {
  installCleanup();
  const child = spawn(command, args, {
    cwd: options.cwd,
    env: options.env ?? process.env,
    stdio: ["pipe", "pipe", "pipe"],
  });
  let tailText = "";
  const appendTail = (chunk: string): void => {
    tailText = (tailText + chunk).slice(-TAIL_BYTES);
  };
  const listeners: ((line: string) => void)[] = [];
  let exitedFlag = false;
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    child.once("exit", (code, signal) => {
      exitedFlag = true;
      live.delete(tracked);
      resolve({ code, signal });
    });
  });
  // A child that fails to spawn emits 'error' and never 'exit'.
  const spawnFailed = new Promise<Error>((resolve) => child.once("error", resolve));
  child.stderr?.setEncoding("utf8").on("data", appendTail);
  child.stdin?.on("error", () => {});

  const tracked: Tracked = {
    name,
    child,
    exited,
    hasExited: () => exitedFlag,
    tail: () => tailText,
    onLine: (listener) => void listeners.push(listener),
    send: (line) => {
      if (!exitedFlag) child.stdin?.write(line + "\n");
    },
    stop: async (graceMs = 5000) => {
      if (exitedFlag) return;
      child.stdin?.end();
      child.kill("SIGTERM");
      const timer = setTimeout(() => child.kill("SIGKILL"), graceMs);
      await exited;
      clearTimeout(timer);
    },
  };
  live.add(tracked);

  let resolveReady: (info: ReadyInfo) => void = () => {};
  const readyLine = new Promise<ReadyInfo>((resolve) => (resolveReady = resolve));
  let sawReady = false;
  const lines = createInterface({ input: child.stdout! });
  lines.on("line", (line) => {
    appendTail(line + "\n");
    if (!sawReady && options.waitForReadyLine === true) {
      const info = parseReady(line);
      if (info !== undefined) {
        sawReady = true;
        resolveReady(info);
        return;
      }
    }
    for (const listener of listeners) listener(line);
  });

  if (options.waitForReadyLine !== true) {
    const failed = await Promise.race([spawnFailed, new Promise<undefined>((r) => child.once("spawn", () => r(undefined)))]);
    if (failed !== undefined) throw new Error(`${name}: could not start ${command}: ${failed.message}`);
    return { tracked, ready: undefined };
  }

  const timeoutMs = options.readyTimeoutMs ?? 30_000;
  let timer: NodeJS.Timeout | undefined;
  const outcome = await Promise.race([
    readyLine.then((info) => ({ kind: "ready" as const, info })),
    exited.then((e) => ({ kind: "exited" as const, e })),
    spawnFailed.then((error) => ({ kind: "spawn-error" as const, error })),
    new Promise<{ kind: "timeout" }>((resolve) => (timer = setTimeout(() => resolve({ kind: "timeout" }), timeoutMs))),
  ]);
  clearTimeout(timer);
  if (outcome.kind === "ready") return { tracked, ready: outcome.info };
  await tracked.stop(1000);
  const why =
    outcome.kind === "exited"
      ? `exited (code ${outcome.e.code}, signal ${outcome.e.signal}) before it was ready`
      : outcome.kind === "spawn-error"
        ? `could not start: ${outcome.error.message}`
        : `not ready after ${timeoutMs} ms`;
  throw new Error(`${name} ${why}\n--- output tail ---\n${tracked.tail()}`);
}

function parseReady(line: string): ReadyInfo | undefined {
  if (!line.startsWith("{")) return undefined;
  try {
    const value: unknown = JSON.parse(line);
    if (typeof value === "object" && value !== null && (value as { ready?: unknown }).ready === true) {
      return value as ReadyInfo;
    }
  } catch {
    // Not our line.
  }
  return undefined;
}

/** Stops every child still running, in parallel. */
export async function stopAll(graceMs = 5000): Promise<void> {
  await Promise.all([...live].map((t) => t.stop(graceMs)));
}

function killAllNow(): void {
  for (const t of live) {
    try {
      t.child.kill("SIGKILL");
    } catch {
      // Already gone.
    }
  }
}

function installCleanup(): void {
  if (cleanupInstalled) return;
  cleanupInstalled = true;
  // 'exit' handlers must be synchronous: nothing left to do but SIGKILL.
  process.on("exit", killAllNow);
  const onSignal = (signal: NodeJS.Signals, code: number): void => {
    process.stderr.write(`\nbench: ${signal}, stopping ${live.size} child process(es)\n`);
    const hard = setTimeout(() => process.exit(code), 8000);
    hard.unref();
    void stopAll(3000).finally(() => process.exit(code));
  };
  process.once("SIGINT", () => onSignal("SIGINT", 130));
  process.once("SIGTERM", () => onSignal("SIGTERM", 143));
  process.once("SIGHUP", () => onSignal("SIGHUP", 129));
  const onFatal = (error: unknown): void => {
    process.stderr.write(`\nbench: fatal: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    const hard = setTimeout(() => process.exit(1), 8000);
    hard.unref();
    void stopAll(3000).finally(() => process.exit(1));
  };
  process.on("uncaughtException", onFatal);
  process.on("unhandledRejection", onFatal);
}

/** Kills everything and exits if the whole run overruns its time budget. */
export function armGlobalDeadline(budgetMs: number): NodeJS.Timeout {
  const timer = setTimeout(() => {
    process.stderr.write(`\nbench: over the time budget of ${Math.round(budgetMs / 1000)} s, aborting\n`);
    void stopAll(2000).finally(() => process.exit(1));
  }, budgetMs);
  timer.unref();
  return timer;
}
