// Starts a real gateway process (`node src/cli/main.ts run`) for integration tests: every
// port ephemeral on 127.0.0.1, a short drain grace, its own temp dir for the config and the
// ports file. Waits until the process logs "ready" and GET /readyz answers 200.
//
//   const gw = await startGateway({ config: yamlText });
//   t.after(() => gw.stop());
//   const res = await httpRequest(gw.url(8080, "/path"));
//
// `gw.url(8080)` maps a port from the config to the port actually bound. Each process is
// killed on test-runner exit even if a test forgets to stop it.
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtemp, rename, rm, writeFile } from "node:fs/promises";
import { request as httpRequestRaw, type IncomingHttpHeaders } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

export const REPO_ROOT = fileURLToPath(new URL("../../", import.meta.url));
export const CLI_ENTRY = join(REPO_ROOT, "src/cli/main.ts");

export interface StartOptions {
  /** YAML written to `<tempdir>/gateway.yaml` and passed as --config. */
  readonly config?: string;
  /** An existing config file passed as --config (used instead of `config`). */
  readonly configPath?: string;
  /** Run without --config at all, exactly as `npm start` does (cwd decides the file). */
  readonly noConfigFlag?: boolean;
  readonly workers?: number | "auto";
  /** Extra arguments after `run ...`. */
  readonly args?: readonly string[];
  /** Merged over the test defaults; `undefined` removes a variable. */
  readonly env?: Readonly<Record<string, string | undefined>>;
  readonly cwd?: string;
  /** How long to wait for readiness (default 30 s; CI machines are slow). */
  readonly readyTimeoutMs?: number;
  /** Wait for the "ready" log line only, not for /readyz to answer 200 (a gateway that is up but not ready). */
  readonly readyLogOnly?: boolean;
}

export interface LogLine {
  readonly level: string;
  readonly msg: string;
  readonly [field: string]: unknown;
}

export interface ExitStatus {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
}

export interface GatewayProcess {
  readonly child: ChildProcess;
  readonly pid: number;
  /** The temp dir holding the config (when written by the helper) and ports.json. */
  readonly dir: string;
  readonly configPath: string | undefined;
  readonly opsPort: number;
  readonly adminPort: number;
  /** `http://127.0.0.1:<ops port><path>` */
  opsUrl(path?: string): string;
  /** `http://127.0.0.1:<admin port><path>` */
  adminUrl(path?: string): string;
  /** The port bound for a listener port named in the config. */
  port(configPort: number): number;
  /** `http://127.0.0.1:<bound port for configPort><path>` */
  url(configPort: number, path?: string): string;
  /** Every JSON log line so far (the gateway logs JSON lines on stderr). */
  logs(): readonly LogLine[];
  stderr(): string;
  stdout(): string;
  /**
   * Resolves with the first log line at index >= `from` matching `predicate`; rejects after
   * `timeoutMs` or when the process exits first. Take `from` from `logs().length` before
   * acting, to wait for a line the action causes.
   */
  waitForLog(predicate: (line: LogLine) => boolean, options?: { from?: number; timeoutMs?: number }): Promise<LogLine>;
  /** Replaces the config file the way editors do: write a temp file, rename it over. */
  writeConfig(text: string): Promise<void>;
  signal(signal: NodeJS.Signals): void;
  /** Resolves when the process has exited (rejects after `timeoutMs`). */
  waitForExit(timeoutMs?: number): Promise<ExitStatus>;
  /** SIGTERM, wait for the exit (SIGKILL after `timeoutMs`), remove the temp dir. Idempotent. */
  stop(timeoutMs?: number): Promise<ExitStatus>;
}

const live = new Set<ChildProcess>();
process.once("exit", () => {
  for (const child of live) child.kill("SIGKILL");
});

/**
 * Environment defaults: everything ephemeral and local, short drain grace and telemetry
 * shutdown timeout, no inherited TOLLGATE_* / OTEL_* settings (pass them in `env`).
 */
function baseEnv(dir: string): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (v === undefined || k.startsWith("TOLLGATE_") || k.startsWith("OTEL_") || k.startsWith("NODE_TEST")) continue;
    env[k] = v;
  }
  return {
    ...env,
    TOLLGATE_OPS_ADDR: "127.0.0.1:0",
    TOLLGATE_ADMIN_ADDR: "127.0.0.1:0",
    TOLLGATE_LISTENER_HOST: "127.0.0.1",
    TOLLGATE_LISTENER_PORT_OVERRIDE: "*=0",
    TOLLGATE_PORTS_FILE: join(dir, "ports.json"),
    TOLLGATE_DRAIN_GRACE_MS: "100",
    TOLLGATE_DRAIN_TIMEOUT_MS: "10000",
    TOLLGATE_RELOAD_DEBOUNCE_MS: "50",
    // With no collector running, a final export can only fail; don't let every stop() wait
    // the 5 s default for it. Tests that check the flush on shutdown raise it as needed.
    TOLLGATE_TELEMETRY_SHUTDOWN_TIMEOUT_MS: "1000",
  };
}

export interface FinishedRun {
  readonly status: ExitStatus;
  readonly logs: readonly LogLine[];
  readonly stderr: string;
  readonly stdout: string;
}

/**
 * Runs `tollgate run` expecting it to exit on its own (a start-up failure), without waiting
 * for readiness. Rejects if it is still running after `timeoutMs` (and kills it).
 */
export async function runGatewayToExit(options: StartOptions = {}, timeoutMs = 30_000): Promise<FinishedRun> {
  const { child, state, dir } = await launch(options);
  try {
    const status = await withTimeout(state.exited, timeoutMs, () => `the gateway was still running after ${timeoutMs} ms\n${state.stderr}`);
    return { status, logs: state.logs, stderr: state.stderr, stdout: state.stdout };
  } finally {
    child.kill("SIGKILL");
    await rm(dir, { recursive: true, force: true });
  }
}

async function launch(options: StartOptions): Promise<{ child: ChildProcess; state: ProcessState; dir: string; configPath: string | undefined }> {
  const dir = await mkdtemp(join(tmpdir(), "tollgate-test-"));
  let configPath = options.configPath;
  if (configPath === undefined && options.config !== undefined) {
    configPath = join(dir, "gateway.yaml");
    await writeFile(configPath, options.config);
  }
  const args = [CLI_ENTRY, "run"];
  if (!options.noConfigFlag && configPath !== undefined) args.push("--config", configPath);
  if (options.workers !== undefined) args.push("--workers", String(options.workers));
  args.push(...(options.args ?? []));

  const env = baseEnv(dir);
  for (const [k, v] of Object.entries(options.env ?? {})) {
    if (v === undefined) delete env[k];
    else env[k] = v;
  }

  const child = spawn(process.execPath, args, { cwd: options.cwd ?? REPO_ROOT, env, stdio: ["ignore", "pipe", "pipe"] });
  live.add(child);
  return { child, state: new ProcessState(child), dir, configPath };
}

export async function startGateway(options: StartOptions = {}): Promise<GatewayProcess> {
  const { child, state, dir, configPath } = await launch(options);
  const gateway = await state.untilReady(options.readyTimeoutMs ?? 30_000, options.readyLogOnly === true).catch(async (error: unknown) => {
    child.kill("SIGKILL");
    await state.exited;
    await rm(dir, { recursive: true, force: true });
    throw error;
  });

  let stopping: Promise<ExitStatus> | undefined;
  const handle: GatewayProcess = {
    child,
    pid: child.pid ?? 0,
    dir,
    configPath,
    opsPort: gateway.opsPort,
    adminPort: gateway.adminPort,
    opsUrl: (path = "/") => `http://127.0.0.1:${gateway.opsPort}${path}`,
    adminUrl: (path = "/") => `http://127.0.0.1:${gateway.adminPort}${path}`,
    port(configPort) {
      const port = state.listeners.get(configPort);
      if (port === undefined) throw new Error(`the gateway has no listener for config port ${configPort} (bound: ${[...state.listeners].join(", ")})`);
      return port;
    },
    url(configPort, path = "/") {
      return `http://127.0.0.1:${handle.port(configPort)}${path}`;
    },
    logs: () => state.logs,
    stderr: () => state.stderr,
    stdout: () => state.stdout,
    waitForLog: (predicate, opts) => state.waitForLog(predicate, opts?.from ?? 0, opts?.timeoutMs ?? 15_000),
    async writeConfig(text) {
      if (configPath === undefined) throw new Error("this gateway was not started from a config file the helper can rewrite");
      const tmp = `${configPath}.${Date.now()}.tmp`;
      await writeFile(tmp, text);
      await rename(tmp, configPath);
    },
    signal(sig) {
      child.kill(sig);
    },
    waitForExit: (timeoutMs = 30_000) => withTimeout(state.exited, timeoutMs, () => `the gateway did not exit within ${timeoutMs} ms\n${state.stderr}`),
    stop(timeoutMs = 30_000) {
      stopping ??= (async () => {
        if (state.exitStatus === undefined) child.kill("SIGTERM");
        const timer = setTimeout(() => child.kill("SIGKILL"), timeoutMs);
        const status = await state.exited;
        clearTimeout(timer);
        await rm(dir, { recursive: true, force: true });
        return status;
      })();
      return stopping;
    },
  };
  return handle;
}

class ProcessState {
  readonly logs: LogLine[] = [];
  readonly listeners = new Map<number, number>();
  stderr = "";
  stdout = "";
  exitStatus: ExitStatus | undefined;
  readonly exited: Promise<ExitStatus>;
  readonly #waiters = new Set<() => void>();
  #partial = "";

  constructor(child: ChildProcess) {
    child.stdout?.setEncoding("utf8").on("data", (chunk: string) => {
      this.stdout += chunk;
    });
    child.stderr?.setEncoding("utf8").on("data", (chunk: string) => this.#onStderr(chunk));
    this.exited = new Promise((resolve) => {
      child.once("exit", (code, signal) => {
        live.delete(child);
        this.exitStatus = { code, signal };
        resolve(this.exitStatus);
        this.#notify();
      });
    });
  }

  #onStderr(chunk: string): void {
    this.stderr += chunk;
    const text = this.#partial + chunk;
    const lines = text.split("\n");
    this.#partial = lines.pop() ?? "";
    for (const raw of lines) {
      if (!raw.startsWith("{")) continue;
      let line: LogLine;
      try {
        line = JSON.parse(raw) as LogLine;
      } catch {
        continue;
      }
      this.logs.push(line);
      this.#track(line);
    }
    this.#notify();
  }

  #track(line: LogLine): void {
    if (line.msg === "listening" && line["listener"] === "gateway") {
      this.listeners.set(Number(line["configPort"]), Number(line["port"]));
    }
    if (line.msg === "ready" && Array.isArray(line["listeners"])) {
      for (const l of line["listeners"] as { configPort: number; port: number }[]) this.listeners.set(l.configPort, l.port);
    }
  }

  #notify(): void {
    for (const w of [...this.#waiters]) w();
  }

  waitForLog(predicate: (line: LogLine) => boolean, from: number, timeoutMs: number): Promise<LogLine> {
    return new Promise((resolve, reject) => {
      let checked = from;
      const check = (): void => {
        for (; checked < this.logs.length; checked++) {
          const line = this.logs[checked];
          if (line !== undefined && predicate(line)) return finish(() => resolve(line));
        }
        if (this.exitStatus !== undefined) {
          finish(() => reject(new Error(`the gateway exited (${JSON.stringify(this.exitStatus)}) before the expected log line\n${this.stderr}`)));
        }
      };
      const timer = setTimeout(() => finish(() => reject(new Error(`no matching log line within ${timeoutMs} ms\n${this.stderr}`))), timeoutMs);
      const finish = (settle: () => void): void => {
        clearTimeout(timer);
        this.#waiters.delete(check);
        settle();
      };
      this.#waiters.add(check);
      check();
    });
  }

  async untilReady(timeoutMs: number, logOnly: boolean): Promise<{ opsPort: number; adminPort: number }> {
    const ready = await this.waitForLog((l) => l.msg === "ready", 0, timeoutMs);
    const ops = ready["ops"] as { port: number };
    const admin = ready["admin"] as { port: number };
    if (logOnly) return { opsPort: ops.port, adminPort: admin.port };
    // The log line comes first; /readyz is what a load balancer would ask.
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const res = await httpRequest(`http://127.0.0.1:${ops.port}/readyz`).catch(() => undefined);
      if (res?.status === 200) break;
      if (this.exitStatus !== undefined || Date.now() > deadline) {
        throw new Error(`the gateway logged "ready" but /readyz did not answer 200 (last: ${res?.status})\n${this.stderr}`);
      }
      await new Promise((r) => setTimeout(r, 25));
    }
    return { opsPort: ops.port, adminPort: admin.port };
  }
}

function withTimeout<T>(promise: Promise<T>, timeoutMs: number, message: () => string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    promise,
    new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(message())), timeoutMs);
    }),
  ]).finally(() => clearTimeout(timer));
}

export interface HttpResponse {
  readonly status: number;
  readonly headers: IncomingHttpHeaders;
  readonly body: string;
}

/**
 * One HTTP/1.1 request on its own connection (no agent, so no keep-alive state leaks
 * between tests or into a drain). Rejects on connection errors.
 */
/**
 * The lines of a child's output that are complete: a line the child is still writing (a pipe
 * read can end in the middle of one) waits for the next read instead of failing a parse.
 */
export function completeLines(text: string): string[] {
  const end = text.lastIndexOf("\n");
  return end < 0 ? [] : text.slice(0, end).split("\n").filter((l) => l !== "");
}

export function httpRequest(
  url: string,
  options: { method?: string; headers?: Record<string, string>; body?: string | Buffer } = {},
): Promise<HttpResponse> {
  return new Promise((resolve, reject) => {
    const req = httpRequestRaw(url, { method: options.method ?? "GET", headers: options.headers, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (c: Buffer) => chunks.push(c));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString("utf8") }));
      res.on("error", reject);
    });
    req.on("error", reject);
    req.end(options.body);
  });
}
