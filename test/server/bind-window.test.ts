// A port bound for a new plan takes connections at once, while the plan's next port may still
// be binding (in a cluster worker each bind is an IPC round trip to the primary, which hands
// over connections as soon as the first port is registered). Such a request is served on the
// new plan, before the swap; it used to crash the process at startup (no plan yet), and to
// get 404 no_listener on a reload (the old plan has no such port).
import assert from "node:assert/strict";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { createServer, request } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type TestContext, test } from "node:test";
import { engine } from "../../src/server/engine.ts";
import { Gateway } from "../../src/server/gateway.ts";
import { type Logger, createLogger } from "../../src/server/log.ts";
import { ProcessStats } from "../../src/server/stats.ts";
import { setUpTelemetry } from "../../src/server/telemetry-setup.ts";
import type { TelemetryRuntime } from "../../src/telemetry/hooks.ts";
import { gatewayConfig, startUpstream } from "./fixtures.ts";

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as AddressInfo).port;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

function get(port: number, path: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: "127.0.0.1", port, path, agent: false }, (res) => {
      let body = "";
      res.setEncoding("utf8");
      res.on("data", (c: string) => (body += c));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on("error", reject);
    req.end();
  });
}

/** A port whose bind the test holds open until it calls `release`. */
interface HeldBind {
  readonly asked: Promise<void>;
  release(): void;
}

function heldBind(port: number): HeldBind & { resolve(): Promise<number> } {
  let asked!: () => void;
  let release!: () => void;
  const askedPromise = new Promise<void>((resolve) => (asked = resolve));
  const released = new Promise<void>((resolve) => (release = resolve));
  return {
    asked: askedPromise,
    release: () => release(),
    resolve: async () => {
      asked();
      await released;
      return port;
    },
  };
}

interface InProcessGateway {
  readonly gateway: Gateway;
  readonly stats: ProcessStats;
  /** Config port → the free port it binds. */
  readonly ports: ReadonlyMap<number, number>;
  /** Writes a config with the one route to the upstream and listeners on `configPorts`. */
  writeConfig(configPorts: number[]): Promise<void>;
}

/**
 * A Gateway in this process (a real upstream, config file, engine and stats), so a test can
 * hold a port's bind open or swap in telemetry; cleaned up when the test ends.
 */
async function inProcessGateway(
  t: TestContext,
  configPorts: number[],
  options: {
    resolvePort?: (configPort: number, ports: ReadonlyMap<number, number>) => Promise<number> | undefined;
    telemetry: (stats: ProcessStats, log: Logger) => Promise<TelemetryRuntime>;
    log?: Logger;
  },
): Promise<InProcessGateway> {
  const upstream = await startUpstream("app");
  const dir = await mkdtemp(join(tmpdir(), "tollgate-in-process-"));
  const configPath = join(dir, "gateway.yaml");
  const ports = new Map<number, number>();
  for (const configPort of configPorts) ports.set(configPort, await freePort());
  const stats = new ProcessStats();
  const log = options.log ?? createLogger({ level: "error" });
  const telemetry = await options.telemetry(stats, log);
  const gateway = new Gateway({
    configPath,
    listenerHost: "127.0.0.1",
    resolvePort: (configPort) => options.resolvePort?.(configPort, ports) ?? Promise.resolve(ports.get(configPort)!),
    engine,
    telemetry,
    stats,
    log,
    removedListenerTimeoutMs: 1_000,
  });
  t.after(async () => {
    gateway.stopAccepting();
    await gateway.finishInFlight(1_000);
    await gateway.closePools();
    await telemetry.shutdown(1_000);
    await upstream.close();
    await rm(dir, { recursive: true, force: true });
  });
  const routes = [{ name: "app", path: "/app", upstreamPort: upstream.port }];
  return { gateway, stats, ports, writeConfig: (listenerPorts) => writeFile(configPath, gatewayConfig(routes, listenerPorts)) };
}

test("a port bound for a plan serves it while the plan's next port is still binding, at startup and on a reload", { timeout: 60_000 }, async (t) => {
  let held: (HeldBind & { resolve(): Promise<number> }) | undefined;
  let heldConfigPort = 8081;
  const { gateway, ports, writeConfig } = await inProcessGateway(t, [8080, 8081, 8082, 8083], {
    resolvePort: (configPort) => (held !== undefined && configPort === heldConfigPort ? held.resolve() : undefined),
    // Real telemetry with nothing exported: its hooks see the pending plan before onPlan does.
    telemetry: async (stats, log) =>
      (
        await setUpTelemetry({
          stats,
          workerId: undefined,
          version: "test",
          log,
          env: { OTEL_TRACES_EXPORTER: "none", OTEL_METRICS_EXPORTER: "none", OTEL_LOGS_EXPORTER: "none" },
        })
      ).runtime,
  });

  await writeConfig([8080, 8081]);
  held = heldBind(ports.get(8081)!);
  const started = gateway.start();
  await held.asked;
  assert.equal(gateway.generation, 0, "no plan is swapped in before every port is bound");
  assert.deepEqual(await get(ports.get(8080)!, "/app/at-startup"), { status: 200, body: "app /app/at-startup" });
  held.release();
  await started;
  assert.equal(gateway.generation, 1);

  // A reload that adds two ports: the first serves the new plan while the second binds.
  await writeConfig([8080, 8081, 8082, 8083]);
  heldConfigPort = 8083;
  held = heldBind(ports.get(8083)!);
  const reloaded = gateway.reload("SIGHUP");
  await held.asked;
  assert.equal(gateway.generation, 1);
  assert.deepEqual(await get(ports.get(8082)!, "/app/on-reload"), { status: 200, body: "app /app/on-reload" });
  held.release();
  assert.equal((await reloaded).outcome, "success");
  assert.equal(gateway.generation, 2);
  for (const configPort of [8080, 8081, 8082, 8083]) {
    assert.equal((await get(ports.get(configPort)!, `/app/after-${configPort}`)).status, 200);
  }
});

test("telemetry that throws on a new plan fails the reload: the ports it bound close, the old plan keeps serving", { timeout: 60_000 }, async (t) => {
  const logged: string[] = [];
  const { gateway, stats, ports, writeConfig } = await inProcessGateway(t, [8080, 8081], {
    log: createLogger({ level: "error", sink: { write: (line: string) => (logged.push(line), true) } }),
    telemetry: async (stats, log) => {
      const real = (await setUpTelemetry({ stats, workerId: undefined, version: "test", log, env: { OTEL_SDK_DISABLED: "true" } })).runtime;
      // Fault injection: no config makes onPlan throw; a bug in it is what is under test.
      return {
        ...real,
        onPlan(plan: Parameters<typeof real.onPlan>[0]): void {
          if (plan.generation > 1) throw new Error("a telemetry bug");
          real.onPlan(plan);
        },
      };
    },
  });
  await writeConfig([8080]);
  await gateway.start();
  await writeConfig([8080, 8081]);
  const outcome = await gateway.reload("SIGHUP");
  assert.equal(outcome.outcome, "failure");
  assert.match(outcome.outcome === "failure" ? outcome.errors[0]! : "", /telemetry could not take the new config: a telemetry bug$/);
  assert.equal(stats.reloads.failure, 1);
  assert.equal(gateway.generation, 1);
  assert.deepEqual(gateway.bindings().map((b) => b.configPort), [8080]);
  await assert.rejects(get(ports.get(8081)!, "/app/x"), /ECONNREFUSED/, "the port bound for the failed plan is closed");
  assert.equal((await get(ports.get(8080)!, "/app/still")).status, 200);
  assert.ok(logged.some((line) => line.includes("config reload failed; the previous config keeps serving")), logged.join(""));
});
