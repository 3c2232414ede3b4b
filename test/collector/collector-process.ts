// Runs the real OpenTelemetry Collector (built by scripts/build-collector.sh) on 127.0.0.1
// with gRPC and HTTP OTLP receivers, plain and behind the bearertokenauth extension, and
// one file exporter per signal writing OTLP JSON lines into a temp directory.
import { execFile, spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync, existsSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";

const BUILD_SCRIPT = new URL("../../scripts/build-collector.sh", import.meta.url).pathname;

export type Signal = "traces" | "logs" | "metrics";
export const SIGNALS: readonly Signal[] = ["traces", "logs", "metrics"];

export interface CollectorEndpoints {
  /** `http://127.0.0.1:PORT` of the gRPC receiver without auth. */
  readonly grpc: string;
  /** `http://127.0.0.1:PORT` of the HTTP receiver without auth (signal paths are appended by clients). */
  readonly http: string;
  /** The same two receivers, but requests must carry `Authorization: Bearer <token>`. */
  readonly grpcAuth: string;
  readonly httpAuth: string;
}

export interface RunningCollector {
  readonly endpoints: CollectorEndpoints;
  readonly token: string;
  readonly dir: string;
  /** Every JSON line the file exporter has written for a signal so far, parsed. */
  read(signal: Signal): unknown[];
  /** Collector stdout+stderr so far, for failure messages. */
  output(): string;
  stop(): Promise<void>;
}

/** The binary's path; builds it on first use (slow), instant when cached. */
export async function collectorBinary(): Promise<string> {
  try {
    const { stdout } = await promisify(execFile)(BUILD_SCRIPT, [], { maxBuffer: 64 * 1024 * 1024 });
    const path = stdout.trim().split("\n").at(-1) ?? "";
    if (!existsSync(path)) throw new Error(`build-collector.sh printed ${JSON.stringify(path)}, which does not exist`);
    return path;
  } catch (error) {
    const stderr = (error as { stderr?: string }).stderr ?? "";
    throw new Error(`cannot get the OpenTelemetry Collector binary:\n${stderr}`, { cause: error });
  }
}

async function freePort(): Promise<number> {
  return await new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      server.close(() => (typeof address === "object" && address !== null ? resolve(address.port) : reject(new Error("no port"))));
    });
  });
}

function configYaml(dir: string, ports: readonly number[], token: string): string {
  const [grpc, http, grpcAuth, httpAuth] = ports;
  const files = SIGNALS.map((s) => `  file/${s}:\n    path: ${join(dir, `${s}.jsonl`)}\n    format: json\n    flush_interval: 100ms\n`).join("");
  const pipelines = SIGNALS.map((s) => `    ${s}:\n      receivers: [otlp, otlp/auth]\n      exporters: [file/${s}]\n`).join("");
  return `extensions:
  bearertokenauth:
    scheme: Bearer
    token: ${JSON.stringify(token)}
receivers:
  otlp:
    protocols:
      grpc:
        endpoint: 127.0.0.1:${grpc}
      http:
        endpoint: 127.0.0.1:${http}
  otlp/auth:
    protocols:
      grpc:
        endpoint: 127.0.0.1:${grpcAuth}
        auth:
          authenticator: bearertokenauth
      http:
        endpoint: 127.0.0.1:${httpAuth}
        auth:
          authenticator: bearertokenauth
exporters:
${files}service:
  extensions: [bearertokenauth]
  telemetry:
    metrics:
      level: none
  pipelines:
${pipelines}`;
}

const READY_LINE = "Everything is ready";
const STARTUP_TIMEOUT_MS = 60_000;

async function startOnce(binary: string, token: string): Promise<RunningCollector | "port-taken"> {
  const dir = mkdtempSync(join(tmpdir(), "tollgate-otelcol-"));
  const ports = [await freePort(), await freePort(), await freePort(), await freePort()];
  const configPath = join(dir, "config.yaml");
  writeFileSync(configPath, configYaml(dir, ports, token));
  const child: ChildProcess = spawn(binary, ["--config", configPath], { stdio: ["ignore", "pipe", "pipe"] });
  let out = "";
  child.stdout?.on("data", (chunk: Buffer) => (out += chunk.toString()));
  child.stderr?.on("data", (chunk: Buffer) => (out += chunk.toString()));
  const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));

  const outcome = await new Promise<"ready" | "exited" | "hung">((resolve) => {
    const onData = (): void => {
      if (out.includes(READY_LINE)) resolve("ready");
    };
    child.stdout?.on("data", onData);
    child.stderr?.on("data", onData);
    void exited.then(() => resolve("exited"));
    setTimeout(() => resolve("hung"), STARTUP_TIMEOUT_MS).unref();
  });
  if (outcome === "hung") {
    child.kill("SIGKILL");
    await exited;
    rmSync(dir, { recursive: true, force: true });
    throw new Error(`the collector was not ready after ${STARTUP_TIMEOUT_MS} ms:\n${out}`);
  }
  if (outcome === "exited") {
    rmSync(dir, { recursive: true, force: true });
    if (/address already in use/.test(out)) return "port-taken";
    throw new Error(`the collector exited during start-up:\n${out}`);
  }

  const base = (port: number | undefined): string => `http://127.0.0.1:${String(port)}`;
  return {
    endpoints: { grpc: base(ports[0]), http: base(ports[1]), grpcAuth: base(ports[2]), httpAuth: base(ports[3]) },
    token,
    dir,
    read(signal) {
      const file = join(dir, `${signal}.jsonl`);
      if (!existsSync(file)) return [];
      return readFileSync(file, "utf8")
        .split("\n")
        .filter((line) => line.trim() !== "")
        .map((line) => JSON.parse(line) as unknown);
    },
    output: () => out,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill("SIGTERM");
        const timer = setTimeout(() => child.kill("SIGKILL"), 10_000);
        await exited;
        clearTimeout(timer);
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

export async function startCollector(token = "tollgate-e2e-token"): Promise<RunningCollector> {
  const binary = await collectorBinary();
  // Free ports are picked, released, then bound by the collector; another process can grab
  // one in between, so a bind failure retries with fresh ports.
  for (let attempt = 0; attempt < 5; attempt++) {
    const started = await startOnce(binary, token);
    if (started !== "port-taken") return started;
  }
  throw new Error("the collector could not bind free ports after 5 attempts");
}
