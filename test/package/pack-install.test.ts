// What the container image runs, without a Docker engine: `npm pack` the project, install
// the tarball with production dependencies only into an empty directory, start
// `tollgate run` there from env vars and a config file alone, proxy a request to a real
// upstream, receive its span over OTLP, then SIGTERM and expect a drained exit 0.
// A runtime dependency declared as dev, or a file missing from package.json `files`, fails
// here. The checkout is packed from a copy so its own tree never gains a stale dist/.
import assert from "node:assert/strict";
import { execFile, spawn } from "node:child_process";
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { basename, dirname, join } from "node:path";
import { after, before, describe, it } from "node:test";
import { promisify } from "node:util";
import { startOtlpReceiver, type OtlpReceiver } from "../support/otlp-receiver.ts";
import { httpRequest } from "../support/gateway-process.ts";

const REPO = new URL("../../", import.meta.url).pathname;
const run = promisify(execFile);
const NOT_PACKED = new Set(["node_modules", "dist", ".git", "test", "bench", "deploy", "docs", "scripts", ".ci"]);

const work = mkdtempSync(join(tmpdir(), "tollgate-pack-"));
let tarball = "";
let installDir = "";

function npm(args: readonly string[], cwd: string, env: NodeJS.ProcessEnv = process.env): Promise<{ stdout: string; stderr: string }> {
  return run("npm", [...args], { cwd, env, maxBuffer: 64 * 1024 * 1024 }).catch((error: unknown) => {
    const e = error as { stdout?: string; stderr?: string; message: string };
    throw new Error(`npm ${args.join(" ")} failed in ${cwd}:\n${e.stderr ?? ""}${e.stdout ?? ""}${e.message}`);
  });
}

function gatewayConfig(upstreamPort: number): string {
  return `apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata:
  name: packed
  namespace: default
spec:
  gatewayClassName: tollgate
  listeners:
    - name: http
      protocol: HTTP
      port: 8080
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata:
  name: echo
  namespace: default
spec:
  parentRefs:
    - name: packed
  rules:
    - matches:
        - path:
            type: PathPrefix
            value: /echo
      backendRefs:
        - group: gateway.tollgate.dev
          kind: Backend
          name: echo
---
apiVersion: gateway.tollgate.dev/v1alpha1
kind: Backend
metadata:
  name: echo
  namespace: default
spec:
  endpoints:
    - ip:
        address: 127.0.0.1
        port: ${upstreamPort}
`;
}

/** Env of a fresh container: nothing inherited from this test process but PATH and HOME. */
function containerEnv(extra: Record<string, string>): NodeJS.ProcessEnv {
  // The pinned Node 24 first on PATH, so the installed `tollgate` bin's `#!/usr/bin/env node`
  // finds it, as it finds /nodejs/bin/node in the image.
  const path = `${dirname(process.execPath)}:${process.env["PATH"] ?? ""}`;
  return { PATH: path, HOME: process.env["HOME"] ?? work, ...extra };
}

describe("the npm package, installed with --omit=dev", { timeout: 600_000 }, () => {
  before(async () => {
    assert.match(process.versions.node, /^24\./, "run under the project's pinned Node 24");
    const source = join(work, "source");
    const root = REPO.replace(/\/$/, "");
    cpSync(root, source, {
      recursive: true,
      filter: (src) => dirname(src) !== root || !(NOT_PACKED.has(basename(src)) || src.endsWith(".tgz")),
    });
    symlinkSync(join(REPO, "node_modules"), join(source, "node_modules"), "dir");
    const packDir = join(work, "pack");
    mkdirSync(packDir);
    const { stdout } = await npm(["pack", "--json", "--pack-destination", packDir], source, { ...process.env, PATH: `${join(REPO, "node_modules/.bin")}:${process.env["PATH"] ?? ""}` });
    const packed = JSON.parse(stdout) as { filename: string }[];
    tarball = join(packDir, basename(packed[0]?.filename ?? ""));
    assert.ok(existsSync(tarball), `npm pack produced ${tarball}`);
    installDir = join(work, "install");
    mkdirSync(installDir);
    await npm(["install", "--omit=dev", "--no-audit", "--no-fund", "--prefer-offline", tarball], installDir);
  });
  after(() => rmSync(work, { recursive: true, force: true }));

  it("ships a built dist/, the bin, the default config and the licence, and leaves dev tooling out", () => {
    const pkgDir = join(installDir, "node_modules", "tollgate");
    for (const file of ["bin/tollgate.js", "dist/cli/main.js", "config/gateway.yaml", "package.json", "LICENSE"]) {
      assert.ok(existsSync(join(pkgDir, file)), `${file} is in the package`);
    }
    assert.ok(!existsSync(join(pkgDir, "src")), "sources are not shipped; dist/ runs");
    // The pinned Node binary and the compiler are build-time only; neither is a transitive
    // runtime dependency, so finding one means --omit=dev did not hold.
    const installed = readdirSync(join(installDir, "node_modules"));
    assert.ok(!installed.includes("node"), "the pinned node devDependency stays out of the runtime");
    assert.ok(!installed.includes("typescript"), "typescript stays out of the runtime");
  });

  it("serves from env and a config file, exports the request's span over OTLP, and drains on SIGTERM", async (t) => {
    const upstream: Server = createServer((req, res) => {
      res.setHeader("content-type", "text/plain");
      res.end(`upstream saw ${req.method} ${req.url} traceparent=${String(req.headers["traceparent"] ?? "")}`);
    });
    await new Promise<void>((resolve) => upstream.listen(0, "127.0.0.1", resolve));
    t.after(() => upstream.close());
    const receiver: OtlpReceiver = await startOtlpReceiver("http");
    t.after(() => receiver.close());

    const configPath = join(work, "gateway.yaml");
    writeFileSync(configPath, gatewayConfig((upstream.address() as AddressInfo).port));
    const portsFile = join(work, "ports.json");
    const child = spawn(join(installDir, "node_modules", ".bin", "tollgate"), ["run"], {
      cwd: installDir,
      stdio: ["ignore", "pipe", "pipe"],
      env: containerEnv({
        TOLLGATE_CONFIG: configPath,
        TOLLGATE_OPS_ADDR: "127.0.0.1:0",
        TOLLGATE_ADMIN_ADDR: "127.0.0.1:0",
        TOLLGATE_LISTENER_HOST: "127.0.0.1",
        TOLLGATE_LISTENER_PORT_OVERRIDE: "*=0",
        TOLLGATE_PORTS_FILE: portsFile,
        TOLLGATE_DRAIN_GRACE_MS: "100",
        OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url,
        OTEL_EXPORTER_OTLP_PROTOCOL: "http/protobuf",
        OTEL_SERVICE_NAME: "packed-gateway",
        OTEL_BSP_SCHEDULE_DELAY: "100",
      }),
    });
    let stderr = "";
    child.stderr.setEncoding("utf8").on("data", (c: string) => (stderr += c));
    const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.once("exit", (code, signal) => resolve({ code, signal })));
    t.after(() => {
      if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
    });

    const ports = await waitForPorts(portsFile, exited, () => stderr);
    const listener = ports.listeners.find((l) => l.configPort === 8080);
    assert.ok(listener, `listener 8080 bound: ${JSON.stringify(ports)}`);

    const ready = await httpRequest(`http://127.0.0.1:${ports.ops.port}/readyz`);
    assert.equal(ready.status, 200, ready.body);
    const res = await httpRequest(`http://127.0.0.1:${listener.port}/echo/hello`);
    assert.equal(res.status, 200, `${res.body}\n${stderr}`);
    assert.match(res.body, /^upstream saw GET \/echo\/hello traceparent=00-[0-9a-f]{32}-[0-9a-f]{16}-[0-9a-f]{2}$/);
    const upstreamTraceId = /traceparent=00-([0-9a-f]{32})-/.exec(res.body)?.[1];

    const spans = await receiver.waitForSpans((s) => s.some((x) => x.kind === 2 && x.traceId === upstreamTraceId), 20_000);
    const server = spans.find((s) => s.kind === 2 && s.traceId === upstreamTraceId);
    assert.ok(server);
    assert.equal(server.attributes["http.response.status_code"], 200);
    assert.equal(server.resource.attributes["service.name"], "packed-gateway");
    assert.ok(receiver.requests.every((r) => r.transport === "http" && r.contentType.startsWith("application/x-protobuf")));

    child.kill("SIGTERM");
    assert.deepEqual(await exited, { code: 0, signal: null }, stderr);
  });
});

interface PortsFile {
  readonly ops: { port: number };
  readonly listeners: readonly { configPort: number; port: number }[];
}

async function waitForPorts(file: string, exited: Promise<unknown>, stderr: () => string): Promise<PortsFile> {
  let done = false;
  void exited.then(() => (done = true));
  for (let i = 0; i < 600; i++) {
    if (done) throw new Error(`tollgate exited before binding its ports:\n${stderr()}`);
    if (existsSync(file)) {
      const ports = JSON.parse(readFileSync(file, "utf8")) as PortsFile;
      if (ports.listeners.length > 0) return ports;
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`no ports file after 30 s:\n${stderr()}`);
}
