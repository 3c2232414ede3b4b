// `tollgate run` without --workers: one process serves the gateway ports and owns the
// ops and admin listeners.
import type { FastifyInstance } from "fastify";
import { createAdminApp } from "../admin/admin.ts";
import { createOpsApp, type Readiness } from "../admin/ops.ts";
import { ConfigWatcher } from "./config-watcher.ts";
import type { RunContext } from "./context.ts";
import { StartupError } from "./gateway.ts";
import { closeApps, listenOpsAndAdmin, type OpsAndAdmin } from "./ops-admin-listeners.ts";
import { writePortsFile } from "./ports-file.ts";
import { createServingProcess } from "./serving.ts";
import { overriddenPort } from "./settings.ts";
import { DrainSignals, ReloadSignal } from "./signals.ts";

export async function runSingleProcess(context: RunContext): Promise<number> {
  const { settings, log } = context;
  const signals = new DrainSignals(log);
  const reloads = new ReloadSignal(log);
  let bound: OpsAndAdmin | undefined;
  const serving = await createServingProcess(
    context,
    async (configPort) => overriddenPort(settings.portOverrides, configPort),
    (listeners) => {
      if (bound !== undefined) writePortsFile(settings.portsFile, { pid: process.pid, ...bound, listeners });
    },
  );
  const { gateway } = serving;

  const readiness = (): Readiness => {
    if (gateway.draining) return { ready: false, status: "draining" };
    if (gateway.plan === undefined) return { ready: false, status: "starting" };
    // A config without a Gateway listener loads (with a warning) but serves nothing.
    if (gateway.plan.listeners.length === 0) return { ready: false, status: "no_listeners" };
    return { ready: true, status: "ready", detail: { generation: gateway.generation } };
  };
  const opsApp = createOpsApp({ metrics: () => serving.metrics, readiness });
  const adminApp = createAdminApp({ config: async () => gateway.config(), routes: async () => gateway.routes() });
  const apps: FastifyInstance[] = [opsApp, adminApp];

  // The ops listener comes up first so /healthz answers while the config loads.
  bound = await listenOpsAndAdmin(opsApp, adminApp, settings, log);
  if (bound === undefined) return 1;

  try {
    await gateway.start();
  } catch (error) {
    if (!(error instanceof StartupError)) log.error("startup failed", { error });
    await closeApps(apps);
    await serving.telemetry.shutdown(settings.telemetryShutdownTimeoutMs);
    return 1;
  }

  const listeners = gateway.bindings();
  writePortsFile(settings.portsFile, { pid: process.pid, ...bound, listeners });
  log.info("ready", { pid: process.pid, ...bound, listeners, generation: gateway.generation, config: context.configPath });

  // A reload may change which files the config consists of; watch what it loaded.
  const rewatch = (): void => {
    if (settings.watchConfig) watcher.update(gateway.watchedFiles());
  };
  const watcher = new ConfigWatcher(settings.reloadDebounceMs, () => void gateway.reload("file-change").then(rewatch), log);
  rewatch();
  reloads.handle(() => void gateway.reload("SIGHUP").then(rewatch));

  return await new Promise<number>((resolve) => {
    signals.handle(async (signal) => {
      log.info("drain started", { signal });
      reloads.stop();
      watcher.close();
      await serving.drain();
      await closeApps(apps);
      log.info("drained; exiting", { exitCode: 0 });
      resolve(0);
    });
  });
}

