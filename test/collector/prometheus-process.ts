// Runs Prometheus from Debian's `prometheus` package on 127.0.0.1 with a temp config and
// TSDB, and queries it through its HTTP API. Installs nothing: .ci/run installs the package.
import { execFileSync, spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";

export interface RunningPrometheus {
  readonly url: string;
  query(promql: string): Promise<PromSample[]>;
  queryExemplars(promql: string, startSec: number, endSec: number): Promise<ExemplarSeries[]>;
  output(): string;
  stop(): Promise<void>;
}

export interface PromSample {
  readonly metric: Record<string, string>;
  readonly value: number;
}

export interface ExemplarSeries {
  readonly seriesLabels: Record<string, string>;
  readonly exemplars: readonly { readonly labels: Record<string, string>; readonly value: string }[];
}

function prometheusBinary(): string {
  try {
    return execFileSync("sh", ["-c", "command -v prometheus"], { encoding: "utf8" }).trim();
  } catch {
    throw new Error("the `prometheus` binary is not installed: `apt-get install -y prometheus` (Debian's package; .ci/run installs it)");
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

async function api<T>(url: string): Promise<T> {
  const res = await fetch(url);
  const body = (await res.json()) as { status: string; data: T; error?: string };
  if (body.status !== "success") throw new Error(`${url}: ${body.error ?? res.status}`);
  return body.data;
}

export async function startPrometheus(configYaml: string): Promise<RunningPrometheus> {
  const binary = prometheusBinary();
  const dir = mkdtempSync(join(tmpdir(), "tollgate-prometheus-"));
  const configPath = join(dir, "prometheus.yml");
  writeFileSync(configPath, configYaml);
  for (let attempt = 0; attempt < 5; attempt++) {
    const port = await freePort();
    const child: ChildProcess = spawn(
      binary,
      [
        `--config.file=${configPath}`,
        `--storage.tsdb.path=${join(dir, "data")}`,
        `--web.listen-address=127.0.0.1:${port}`,
        "--enable-feature=exemplar-storage",
        "--log.level=warn",
      ],
      { stdio: ["ignore", "pipe", "pipe"] },
    );
    let out = "";
    child.stdout?.on("data", (c: Buffer) => (out += c.toString()));
    child.stderr?.on("data", (c: Buffer) => (out += c.toString()));
    const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
    let gone = false;
    void exited.then(() => (gone = true));
    const url = `http://127.0.0.1:${port}`;
    let ready = false;
    for (let i = 0; i < 300 && !gone; i++) {
      ready = await fetch(`${url}/-/ready`).then((r) => r.ok, () => false);
      if (ready) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    if (!ready) {
      child.kill("SIGKILL");
      await exited;
      if (/address already in use/.test(out)) continue;
      rmSync(dir, { recursive: true, force: true });
      throw new Error(`prometheus did not become ready:\n${out}`);
    }
    return {
      url,
      async query(promql) {
        const data = await api<{ result: { metric: Record<string, string>; value: [number, string] }[] }>(`${url}/api/v1/query?query=${encodeURIComponent(promql)}`);
        return data.result.map((r) => ({ metric: r.metric, value: Number(r.value[1]) }));
      },
      async queryExemplars(promql, startSec, endSec) {
        return await api<ExemplarSeries[]>(`${url}/api/v1/query_exemplars?query=${encodeURIComponent(promql)}&start=${startSec}&end=${endSec}`);
      },
      output: () => out,
      async stop() {
        if (!gone) {
          child.kill("SIGTERM");
          const timer = setTimeout(() => child.kill("SIGKILL"), 10_000);
          await exited;
          clearTimeout(timer);
        }
        rmSync(dir, { recursive: true, force: true });
      },
    };
  }
  throw new Error("prometheus could not bind a free port after 5 attempts");
}
