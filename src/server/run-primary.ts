// `tollgate run --workers N|auto`: the cluster primary. It serves no gateway traffic. It
// validates the config, forks the workers (each binds the gateway ports; node's cluster
// module shares every port between them), restarts crashed workers with backoff, watches
// the config file and forwards reloads, turns SIGTERM/SIGINT into a drain of every worker,
// and owns the ops and admin listeners:
//   /readyz  200 while at least one worker serves and no drain is under way;
//   /metrics the workers' expositions merged, each sample labelled worker_id="N";
//   /config, /routes answered by the first serving worker to answer.
import cluster, { type Worker } from "node:cluster";
import { createServer } from "node:net";
import { availableParallelism } from "node:os";
import type { FastifyInstance } from "fastify";
import { createAdminApp } from "../admin/admin.ts";
import { mergeExpositions, type LabelledExposition } from "../admin/exposition-merge.ts";
import { renderFamilies } from "../admin/fallback-metrics.ts";
import { OPENMETRICS_CONTENT_TYPE, PROMETHEUS_TEXT_CONTENT_TYPE, wantsOpenMetrics, type MetricsBody } from "../admin/metrics-endpoint.ts";
import { createOpsApp, type Readiness } from "../admin/ops.ts";
import { formatDiagnostic } from "../config/diagnostics.ts";
import { ConfigWatcher } from "./config-watcher.ts";
import { EXIT_STARTUP_FAILED, type RunContext } from "./context.ts";
import { delay } from "./drain.ts";
import { compileConfig, loadConfig } from "./config-stage.ts";
import type { ListenerBinding, ReloadTrigger } from "./gateway.ts";
import { isOurs, PendingRequests, type ToPrimary, type ToWorker, type WorkerQuery } from "./ipc.ts";
import { closeApps, listenOpsAndAdmin, type OpsAndAdmin } from "./ops-admin-listeners.ts";
import { writePortsFile } from "./ports-file.ts";
import { ENV, overriddenPort } from "./settings.ts";
import { DrainSignals, ReloadSignal } from "./signals.ts";

const QUERY_TIMEOUT_MS = 5_000;
const RESTART_BACKOFF_BASE_MS = 100;
const RESTART_BACKOFF_MAX_MS = 10_000;
/** A worker that served this long before dying starts the backoff over. */
const STABLE_AFTER_MS = 10_000;
/** Extra time, beyond a worker's own drain budget, before the primary kills it. */
const DRAIN_KILL_MARGIN_MS = 5_000;

interface Slot {
  readonly id: number;
  worker: Worker | undefined;
  ready: boolean;
  readySinceMs: number;
  failures: number;
  restartTimer: NodeJS.Timeout | undefined;
}

export async function runPrimary(context: RunContext, workersFlag: number | "auto"): Promise<number> {
  const { settings, log, configPath } = context;
  const signals = new DrainSignals(log);
  const reloads = new ReloadSignal(log);
  const count = workersFlag === "auto" ? availableParallelism() : workersFlag;
  log.info("starting", { version: context.version, node: process.version, config: configPath, mode: "cluster", workers: count });

  // Validate once here, so a bad file fails fast instead of as N crash-looping workers.
  const files = await validateConfig(context);
  if (files === undefined) return 1;

  const slots = new Map<number, Slot>();
  const queries = new PendingRequests();
  const ports = new Map<number, Promise<number>>();
  let draining = false;
  let listeners: readonly ListenerBinding[] = [];
  let announced = false;
  let restarts = 0;
  let bound: OpsAndAdmin | undefined;
  let finish: ((code: number) => void) | undefined;
  const finished = new Promise<number>((resolve) => (finish = resolve));

  const readyWorkers = (): Slot[] => [...slots.values()].filter((s) => s.ready && s.worker !== undefined);
  const send = (slot: Slot, message: ToWorker): void => {
    if (slot.worker?.isConnected() === true) slot.worker.send(message);
  };
  const query = async (slot: Slot, kind: WorkerQuery, accept?: string): Promise<unknown> => {
    const { id, result } = queries.open(QUERY_TIMEOUT_MS);
    send(slot, { tollgate: 1, t: "request", id, kind, accept });
    return result;
  };
  const broadcastReload = (trigger: ReloadTrigger): void => {
    log.info("forwarding reload to workers", { trigger, workers: readyWorkers().length });
    for (const slot of slots.values()) send(slot, { tollgate: 1, t: "reload", trigger });
  };
  const publishPorts = (): void => {
    if (bound !== undefined) writePortsFile(settings.portsFile, { pid: process.pid, ...bound, listeners });
  };

  // Ephemeral (0) overrides are picked here once, so every worker binds the same port.
  const resolvePort = (configPort: number): Promise<number> => {
    const wanted = overriddenPort(settings.portOverrides, configPort);
    if (wanted !== 0) return Promise.resolve(wanted);
    let port = ports.get(configPort);
    if (port === undefined) {
      port = freePort(settings.listenerHost);
      ports.set(configPort, port);
    }
    return port;
  };

  const readiness = (): Readiness => {
    const ready = readyWorkers().length;
    const detail = { workers: { ready, configured: count } };
    if (draining) return { ready: false, status: "draining", detail };
    if (ready === 0) return { ready: false, status: "starting", detail };
    // A config without a Gateway listener loads (with a warning) but serves nothing.
    if (listeners.length === 0) return { ready: false, status: "no_listeners", detail };
    return { ready: true, status: "ready", detail };
  };
  const opsApp = createOpsApp({
    metrics: () => ({ render: (accept) => renderClusterMetrics(accept) }),
    readiness,
  });
  // Every ready worker is asked at once and the first answer wins: one wedged worker must
  // not turn the admin API into a 500 after the query timeout while the others serve.
  const fromAWorker = async (kind: WorkerQuery): Promise<unknown> => {
    const ready = readyWorkers();
    if (ready.length === 0) return undefined;
    try {
      return await Promise.any(ready.map((slot) => query(slot, kind)));
    } catch (error) {
      throw error instanceof AggregateError ? error.errors[0] : error;
    }
  };
  const adminApp = createAdminApp({ config: () => fromAWorker("config"), routes: () => fromAWorker("routes") });
  const apps: FastifyInstance[] = [opsApp, adminApp];

  const renderClusterMetrics = async (accept: string | undefined): Promise<MetricsBody> => {
    const openMetrics = wantsOpenMetrics(accept);
    const own = renderFamilies(
      [
        {
          name: "tollgate_cluster_workers",
          type: "gauge",
          help: "Cluster workers by state.",
          samples: [
            { labels: { state: "ready" }, value: readyWorkers().length },
            { labels: { state: "configured" }, value: count },
          ],
        },
        { name: "tollgate_cluster_worker_restarts", type: "counter", help: "Worker restarts since start.", samples: [{ labels: {}, value: restarts }] },
      ],
      openMetrics,
    );
    const parts: LabelledExposition[] = [{ labelValue: undefined, body: own.body }];
    const answers = await Promise.allSettled(readyWorkers().map(async (slot) => ({ slot, body: (await query(slot, "metrics", accept)) as MetricsBody })));
    for (const answer of answers) {
      if (answer.status === "fulfilled") parts.push({ labelValue: String(answer.value.slot.id), body: answer.value.body.body });
      else log.warn("a worker did not answer the metrics query", { error: answer.reason });
    }
    return {
      contentType: openMetrics ? OPENMETRICS_CONTENT_TYPE : PROMETHEUS_TEXT_CONTENT_TYPE,
      body: mergeExpositions(parts, "worker_id", openMetrics),
    };
  };

  // Workers refuse a reload that would close every port, but one restarted onto such a file
  // loads it (startup has nothing to keep) and serves nothing: its empty list must not
  // replace what the others still serve, in the ports file or for /readyz.
  const takeListeners = (reported: readonly ListenerBinding[]): void => {
    if (reported.length > 0 || listeners.length === 0) listeners = reported;
  };

  const onMessage = (slot: Slot, message: unknown): void => {
    if (!isOurs<ToPrimary>(message)) return;
    switch (message.t) {
      case "ready":
        slot.ready = true;
        slot.readySinceMs = Date.now();
        takeListeners(message.listeners);
        log.info("worker ready", { worker: slot.id, workerPid: slot.worker?.process.pid, generation: message.generation });
        publishPorts();
        if (!announced && readyWorkers().length === count) {
          announced = true;
          log.info("ready", { pid: process.pid, ...bound, listeners, workers: count, config: configPath });
        }
        return;
      case "listeners":
        takeListeners(message.listeners);
        for (const l of listeners) log.info("listening", { listener: "gateway", configPort: l.configPort, host: l.host, port: l.port, protocol: l.protocol });
        publishPorts();
        return;
      case "response":
        queries.settle(message.id, message.value, message.error);
        return;
      case "port?":
        resolvePort(message.configPort).then(
          (port) => send(slot, { tollgate: 1, t: "port", id: message.id, port }),
          (error: unknown) => send(slot, { tollgate: 1, t: "port", id: message.id, port: undefined, error: String(error) }),
        );
        return;
    }
  };

  const fork = (slot: Slot): void => {
    slot.restartTimer = undefined;
    // A worker restarted while its siblings serve must not come up on a listener-less file
    // (one changed since they loaded it) and count as serving while it binds nothing, nor
    // serve a port in another protocol than they do.
    const siblingsServe = listeners.length > 0 && readyWorkers().some((s) => s !== slot);
    const siblings = siblingsServe
      ? { [ENV.workerSiblingsServe]: "1", [ENV.workerSiblingProtocols]: listeners.map((l) => `${l.configPort}=${l.protocol}`).join(",") }
      : {};
    const worker = cluster.fork({ [ENV.workerId]: String(slot.id), ...siblings });
    slot.worker = worker;
    slot.ready = false;
    worker.on("message", (message: unknown) => onMessage(slot, message));
    log.info("worker started", { worker: slot.id, workerPid: worker.process.pid });
  };

  cluster.setupPrimary({ args: ["run", "--config", configPath] });
  cluster.on("exit", (worker, code, signal) => {
    const slot = [...slots.values()].find((s) => s.worker === worker);
    if (slot === undefined) return;
    const servedMs = slot.ready ? Date.now() - slot.readySinceMs : 0;
    const wasReady = slot.ready;
    slot.worker = undefined;
    slot.ready = false;
    if (draining) {
      log.info("worker exited", { worker: slot.id, workerPid: worker.process.pid, code, signal });
      if ([...slots.values()].every((s) => s.worker === undefined)) finish?.(0);
      return;
    }
    if (!wasReady && code === EXIT_STARTUP_FAILED && readyWorkers().length === 0) {
      log.error("worker could not start and no worker is serving; stopping", { worker: slot.id, code });
      void shutdown("startup-failed", 1);
      return;
    }
    if (servedMs >= STABLE_AFTER_MS) slot.failures = 0;
    const backoffMs = Math.min(RESTART_BACKOFF_BASE_MS * 2 ** slot.failures, RESTART_BACKOFF_MAX_MS);
    slot.failures++;
    restarts++;
    log.warn("worker exited unexpectedly; restarting", { worker: slot.id, workerPid: worker.process.pid, code, signal, restartInMs: backoffMs });
    slot.restartTimer = setTimeout(() => fork(slot), backoffMs);
  });

  let stopWatching = (): void => {};
  let stop: ((exitCode: number) => void) | undefined;
  const stopped = new Promise<number>((resolve) => (stop = resolve));
  const shutdown = async (reason: string, exitCode: number): Promise<void> => {
    if (draining) return;
    draining = true;
    stopWatching();
    for (const slot of slots.values()) {
      if (slot.restartTimer !== undefined) clearTimeout(slot.restartTimer);
      slot.restartTimer = undefined;
    }
    const alive = [...slots.values()].filter((s) => s.worker !== undefined);
    log.info("drain started", { signal: reason, workers: alive.length });
    // A signal rather than a message: a worker still loading has no message listener yet,
    // and one that has not installed its handlers simply ends, which is just as good.
    for (const slot of alive) slot.worker?.process.kill("SIGTERM");
    const budgetMs = settings.drainGraceMs + settings.drainTimeoutMs + settings.telemetryShutdownTimeoutMs + DRAIN_KILL_MARGIN_MS;
    const allExited = alive.length === 0 ? Promise.resolve(0) : finished;
    const outcome = await Promise.race([allExited.then(() => "exited" as const), delay(budgetMs).then(() => "timeout" as const)]);
    if (outcome === "timeout") {
      for (const slot of slots.values()) {
        if (slot.worker === undefined) continue;
        log.warn("worker did not finish draining in time; killing it", { worker: slot.id, workerPid: slot.worker.process.pid });
        slot.worker.process.kill("SIGKILL");
      }
    }
    queries.rejectAll("shutting down");
    await closeApps(apps);
    log.info(exitCode === 0 ? "drained; exiting" : "stopped", { exitCode });
    stop?.(exitCode);
  };
  bound = await listenOpsAndAdmin(opsApp, adminApp, settings, log);
  if (bound === undefined) return 1;

  for (let id = 1; id <= count; id++) {
    const slot: Slot = { id, worker: undefined, ready: false, readySinceMs: 0, failures: 0, restartTimer: undefined };
    slots.set(id, slot);
    fork(slot);
  }

  const watcher = new ConfigWatcher(settings.reloadDebounceMs, () => broadcastReload("file-change"), log);
  if (settings.watchConfig) watcher.update(files);
  reloads.handle(() => broadcastReload("SIGHUP"));
  stopWatching = () => {
    reloads.stop();
    watcher.close();
  };

  signals.handle((signal) => shutdown(signal, 0));
  return stopped;
}

async function validateConfig(context: RunContext): Promise<string[] | undefined> {
  const { log, configPath } = context;
  const { config, diagnostics } = await loadConfig(configPath);
  for (const d of diagnostics) {
    const line = { diagnostic: formatDiagnostic(d) };
    if (d.severity === "error") log.error("config error", line);
    else if (d.severity === "warning") log.warn("config warning", line);
    else log.info("config note", line);
  }
  const compiled = config !== undefined && !diagnostics.some((d) => d.severity === "error") ? compileConfig(config, 1) : undefined;
  if (compiled?.error !== undefined) log.error("config error", { diagnostic: compiled.error });
  if (config === undefined || compiled?.plan === undefined) {
    log.error("config invalid; not starting", { file: configPath });
    return undefined;
  }
  return [...new Set([configPath, ...config.files])];
}

/** A port the OS considers free right now, for a `0` override shared by every worker. */
function freePort(host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once("error", reject);
    probe.listen({ host, port: 0 }, () => {
      const address = probe.address();
      const port = typeof address === "object" && address !== null ? address.port : 0;
      probe.close(() => resolve(port));
    });
  });
}
