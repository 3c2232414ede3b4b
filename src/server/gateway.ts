// The gateway runtime of one serving process: the current plan (one reference, swapped
// atomically), the bound gateway ports, the upstream pools, and the reload path
// load → validate → compile → bind → swap. Both a single process and each cluster worker
// run one of these; the ops/admin listeners and the process lifecycle live elsewhere.
import { resolve as resolvePath } from "node:path";
import type { Server } from "node:http";
import { formatDiagnostic, type Diagnostic } from "../config/diagnostics.ts";
import { attachedRuleCount } from "../plan/rule-count.ts";
import type { RuntimePlan } from "../plan/types.ts";
import type { TelemetryRuntime } from "../telemetry/hooks.ts";
import { BoundListener } from "./bound-listener.ts";
import type { Engine, Pools, ProxyDeps } from "./engine.ts";
import { hashFiles } from "./file-hash.ts";
import type { Logger } from "./log.ts";
import type { ProcessStats } from "./stats.ts";

export type ReloadTrigger = "startup" | "file-change" | "SIGHUP" | "primary";

/**
 * Why applying a config failed: the config itself, the machine (a port another process
 * holds, a privileged port), or the gateway's own code. Operators act on each differently,
 * so the log says which.
 */
type FailureCause = "config" | "bind" | "internal";

const FAILURE_MESSAGES: Readonly<Record<FailureCause, { readonly each: string; readonly atStartup: string }>> = {
  config: { each: "config error", atStartup: "config invalid; not starting" },
  bind: { each: "cannot bind a gateway listener", atStartup: "a gateway listener cannot be bound; not starting" },
  internal: { each: "internal error applying the config", atStartup: "internal error applying the config; not starting" },
};

export type ReloadOutcome =
  | { readonly outcome: "success"; readonly generation: number }
  | { readonly outcome: "failure"; readonly errors: readonly string[] }
  /** File content unchanged since the last attempt, or the gateway is draining. */
  | { readonly outcome: "skipped" };

export interface GatewayOptions {
  readonly configPath: string;
  readonly listenerHost: string;
  /** Maps a config listener port to the port actually bound (overrides, worker-shared ports). */
  readonly resolvePort: (configPort: number) => Promise<number>;
  readonly engine: Engine;
  readonly telemetry: TelemetryRuntime;
  readonly stats: ProcessStats;
  readonly log: Logger;
  /** How long a port removed by a reload may take to finish its requests. */
  readonly removedListenerTimeoutMs: number;
  /**
   * A start must bind at least one port: a cluster worker restarted while its siblings serve,
   * which must not come up serving nothing on a file a reload would have refused.
   */
  readonly startNeedsListeners?: boolean;
  /**
   * The protocols the siblings of a restarted cluster worker serve, by config port: its start
   * keeps them, as their reloads do (a port cannot serve HTTP in one worker, HTTPS in another).
   */
  readonly startPortProtocols?: ReadonlyMap<number, ListenerProtocol>;
  /** Called after the set of bound ports changed (start, reloads). */
  readonly onListenersChanged?: (listeners: readonly ListenerBinding[]) => void;
}

export interface ListenerBinding {
  readonly configPort: number;
  readonly host: string;
  readonly port: number;
  readonly protocol: ListenerProtocol;
}

export type ListenerProtocol = "HTTP" | "HTTPS";

export class StartupError extends Error {
  override name = "StartupError";
}

export class Gateway {
  readonly #options: GatewayOptions;
  readonly #listeners = new Map<number, BoundListener>();
  /** Listeners a reload removed, still finishing their requests: a drain waits for them too. */
  readonly #closing = new Set<BoundListener>();
  readonly #pools: Pools;
  readonly #deps: ProxyDeps;
  #plan: RuntimePlan | undefined;
  #loadedAtMs = 0;
  #lastAttemptHash = "";
  #draining = false;
  #reloadRunning: Promise<ReloadOutcome> | undefined;
  #reloadQueued: { trigger: ReloadTrigger; promise: Promise<ReloadOutcome> } | undefined;

  constructor(options: GatewayOptions) {
    this.#options = options;
    const pools = options.engine.createPools();
    this.#pools = pools;
    options.stats.attachUpstreams({
      openConnections: () => options.engine.openConnections(pools, this.#plan),
      pendingRequests: () => options.engine.pendingRequests(pools, this.#plan),
    });
    this.#deps = {
      currentPlan: () => this.#plan as RuntimePlan,
      telemetry: options.telemetry,
      stats: options.stats,
      warn: (message, fields) => options.log.warn(message, fields),
    };
  }

  get plan(): RuntimePlan | undefined {
    return this.#plan;
  }

  get generation(): number {
    return this.#plan?.generation ?? 0;
  }

  get draining(): boolean {
    return this.#draining;
  }

  /** Files whose change should trigger a reload (the config path plus whatever it loaded). */
  watchedFiles(): string[] {
    const files = new Set<string>([resolvePath(this.#options.configPath)]);
    for (const f of this.#plan?.config.files ?? []) files.add(f);
    return [...files];
  }

  bindings(): ListenerBinding[] {
    return [...this.#listeners.values()].map((l) => ({ configPort: l.configPort, host: l.host, port: l.port, protocol: this.#protocolOf(l.server) ?? "HTTP" }));
  }

  #protocolOf(server: Server | undefined): ListenerProtocol | undefined {
    if (server === undefined) return undefined;
    return this.#options.engine.servesTls(server) ? "HTTPS" : "HTTP";
  }

  /** Loads and serves the first plan; throws StartupError (after logging every diagnostic) when it cannot. */
  async start(): Promise<void> {
    const result = await this.#attempt("startup");
    if (result.outcome !== "success") throw new StartupError("the config could not be loaded; see the errors above");
  }

  /**
   * Reloads the config. Reloads never overlap: one that arrives while another runs is
   * queued (and coalesced with any other queued one), so the last file state always wins.
   */
  reload(trigger: ReloadTrigger): Promise<ReloadOutcome> {
    if (this.#draining) return Promise.resolve({ outcome: "skipped" });
    if (this.#reloadRunning === undefined) {
      this.#reloadRunning = this.#attempt(trigger).finally(() => this.#afterReload());
      return this.#reloadRunning;
    }
    if (this.#reloadQueued === undefined) {
      const running = this.#reloadRunning;
      const promise = running.then(
        () => this.reload(trigger),
        () => this.reload(trigger),
      );
      this.#reloadQueued = { trigger, promise };
    }
    return this.#reloadQueued.promise;
  }

  #afterReload(): void {
    this.#reloadRunning = undefined;
    this.#reloadQueued = undefined;
  }

  async #attempt(trigger: ReloadTrigger): Promise<ReloadOutcome> {
    const { engine, log, stats, configPath } = this.#options;
    const hash = await hashFiles(this.watchedFiles());
    if (trigger === "file-change" && hash === this.#lastAttemptHash) {
      log.debug("config files unchanged; nothing to reload");
      return { outcome: "skipped" };
    }
    this.#lastAttemptHash = hash;
    const started = performance.now();
    const isStartup = trigger === "startup";

    let loaded: Awaited<ReturnType<Engine["load"]>>;
    try {
      loaded = await engine.load(configPath);
    } catch (error) {
      return this.#failed(trigger, [`${configPath}:1:1: -: loading the config failed: ${error instanceof Error ? error.message : String(error)}`], []);
    }
    const errors = loaded.diagnostics.filter((d) => d.severity === "error");
    const others = loaded.diagnostics.filter((d) => d.severity !== "error");
    if (loaded.config === undefined || errors.length > 0) {
      const lines = errors.map(formatDiagnostic);
      if (lines.length === 0) lines.push(`${configPath}:1:1: -: the config did not load and reported no error`);
      return this.#failed(trigger, lines, others);
    }

    const generation = this.generation + 1;
    const compiled = engine.compile(loaded.config, generation, this.#plan);
    if (compiled.plan === undefined) return this.#failed(trigger, [compiled.error], others);
    const plan = compiled.plan;
    // A file caught half-written (truncated, then filled) or one that lost its Gateway would
    // close every port of a working gateway: the old plan keeps serving instead.
    if (!isStartup && plan.listeners.length === 0 && (this.#plan?.listeners.length ?? 0) > 0) {
      return this.#failed(trigger, [`${configPath}:1:1: -: the new config has no Gateway listener, and applying it would close every port (restart the gateway to run one without)`], others);
    }
    if (isStartup && plan.listeners.length === 0 && this.#options.startNeedsListeners === true) {
      return this.#failed(trigger, [`${configPath}:1:1: -: the config has no Gateway listener while the other workers serve ports; this worker starts once the file has one again`], others);
    }

    const served = (port: number): ListenerProtocol | undefined =>
      this.#protocolOf(this.#listeners.get(port)?.server) ?? (isStartup ? this.#options.startPortProtocols?.get(port) : undefined);
    const switched = protocolSwitches(plan, served);
    if (switched.length > 0) return this.#failed(trigger, switched, others);

    // Bind new ports before the swap: if one cannot be bound the old plan keeps serving untouched.
    // A port bound here may take requests while the next one binds (an IPC round trip in a
    // cluster worker); until the swap it serves this plan, the only one that has it.
    const added: BoundListener[] = [];
    const deps: ProxyDeps = { ...this.#deps, currentPlan: () => this.#planFrom(plan) };
    let binding = 0;
    try {
      for (const listener of plan.listeners) {
        if (this.#listeners.has(listener.port)) continue;
        binding = listener.port;
        const bound = new BoundListener(listener.port, this.#options.listenerHost);
        const handlers = bound.track(engine.createHandlers({ ...deps, responseClosed: bound.responseClosed, draining: bound.isDraining }, this.#pools, listener.port));
        const server = engine.createServer(listener, handlers);
        await bound.listen(server, await this.#options.resolvePort(listener.port));
        added.push(bound);
      }
    } catch (error) {
      for (const bound of added) {
        bound.stopAccepting();
        bound.forceClose();
      }
      const reason = error instanceof Error ? error.message : String(error);
      return this.#failed(trigger, [`binding gateway listener port ${binding} failed: ${reason}`], others, "bind");
    }

    // Telemetry and pools learn the plan before the first request can see it.
    try {
      this.#options.telemetry.onPlan(plan);
    } catch (error) {
      // A bug, not a config error (the config was validated); the old plan keeps serving.
      for (const bound of added) {
        bound.stopAccepting();
        bound.forceClose();
      }
      const reason = error instanceof Error ? error.message : String(error);
      return this.#failed(trigger, [`telemetry could not take the new config: ${reason}`], others, "internal");
    }
    this.#plan = plan;
    engine.retainPools(this.#pools, plan);
    this.#loadedAtMs = Date.now();

    for (const bound of added) {
      this.#listeners.set(bound.configPort, bound);
      log.info("listening", { listener: "gateway", configPort: bound.configPort, host: bound.host, port: bound.port, protocol: this.#protocolOf(bound.server) });
    }
    for (const listener of plan.listeners) {
      const bound = this.#listeners.get(listener.port);
      if (bound?.server === undefined || added.includes(bound)) continue;
      try {
        engine.applySettings(bound.server, listener);
      } catch (error) {
        // The plan is swapped already; a port keeps its old limits or certificates rather than take the process down.
        log.error("applying a reloaded listener's settings failed; the port keeps its previous ones", { configPort: listener.port, error: error instanceof Error ? error.message : String(error) });
      }
    }
    const removed = [...this.#listeners.values()].filter((l) => !plan.listenerByPort.has(l.configPort));
    for (const bound of removed) {
      this.#listeners.delete(bound.configPort);
      log.info("closing listener removed from the config", { configPort: bound.configPort, port: bound.port, inFlight: bound.inFlight });
      this.#closing.add(bound);
      void bound.close(this.#options.removedListenerTimeoutMs).then((clean) => {
        this.#closing.delete(bound);
        log.info("listener closed", { configPort: bound.configPort, port: bound.port, clean });
      });
    }
    if (added.length > 0 || removed.length > 0) this.#options.onListenersChanged?.(this.bindings());

    if (!isStartup) stats.reloads.success++;
    this.#logDiagnostics(others);
    log.info(isStartup ? "config loaded" : "config reloaded", {
      trigger,
      generation,
      file: configPath,
      listeners: plan.listeners.map((l) => l.port),
      routes: attachedRuleCount(plan),
      diagnostics: others.length,
      durationMs: Math.round(performance.now() - started),
    });
    return { outcome: "success", generation };
  }

  /** The plan a port first bound for `pending` serves: `pending` until the swap, then whatever is current. */
  #planFrom(pending: RuntimePlan): RuntimePlan {
    const current = this.#plan;
    return current !== undefined && current.generation >= pending.generation ? current : pending;
  }

  #failed(trigger: ReloadTrigger, errors: readonly string[], others: readonly Diagnostic[], cause: FailureCause = "config"): ReloadOutcome {
    const { log, stats } = this.#options;
    if (trigger !== "startup") stats.reloads.failure++;
    this.#logDiagnostics(others);
    const messages = FAILURE_MESSAGES[cause];
    for (const line of errors) log.error(messages.each, { diagnostic: line });
    if (trigger === "startup") {
      log.error(messages.atStartup, { file: this.#options.configPath, errors: errors.length });
    } else {
      log.error("config reload failed; the previous config keeps serving", {
        trigger,
        file: this.#options.configPath,
        errors: errors.length,
        generation: this.generation,
      });
    }
    return { outcome: "failure", errors };
  }

  #logDiagnostics(diagnostics: readonly Diagnostic[]): void {
    for (const d of diagnostics) {
      const fields = { diagnostic: formatDiagnostic(d) };
      if (d.severity === "warning") this.#options.log.warn("config warning", fields);
      else this.#options.log.info("config note", fields);
    }
  }

  /** Admin /routes: the compiled table of the plan serving now. */
  routes(): unknown {
    const plan = this.#plan;
    if (plan === undefined) return undefined;
    return {
      generation: plan.generation,
      listeners: plan.listeners.map((l) => ({
        port: l.port,
        boundPort: this.#listeners.get(l.port)?.port,
        gateways: l.gateways.map((g) => `${g.ref.namespace}/${g.ref.name}`),
        entries: l.router.size,
        routes: l.router.describe(),
      })),
    };
  }

  /** Admin /config: the effective config, secrets redacted. */
  config(): unknown {
    const plan = this.#plan;
    if (plan === undefined) return undefined;
    return {
      generation: plan.generation,
      loadedAt: new Date(this.#loadedAtMs).toISOString(),
      files: plan.config.files,
      config: this.#options.engine.redact(plan.config),
    };
  }

  // ---------------------------------------------------------------- drain steps

  /** Drain step 1 (with /readyz turning 503): responses from now on carry `Connection: close`. */
  beginDrain(): void {
    this.#draining = true;
    for (const l of this.#everyListener()) l.markDraining();
  }

  /** The serving listeners and those a reload removed that still finish requests. */
  #everyListener(): BoundListener[] {
    return [...this.#listeners.values(), ...this.#closing];
  }

  /** Drain step 2: stop accepting connections on every gateway port. */
  stopAccepting(): void {
    for (const l of this.#listeners.values()) l.stopAccepting();
  }

  inFlight(): number {
    let n = 0;
    for (const l of this.#everyListener()) n += l.inFlight;
    return n;
  }

  /** Drain steps 3-4: wait for in-flight requests, then cut whatever is left. True when nothing had to be cut. */
  async finishInFlight(timeoutMs: number): Promise<boolean> {
    const listeners = this.#everyListener();
    const results = await Promise.all(listeners.map((l) => l.waitIdle(timeoutMs)));
    const clean = results.every(Boolean);
    for (const l of listeners) l.forceClose();
    return clean;
  }

  async closePools(): Promise<void> {
    await this.#pools.close();
  }
}

/**
 * A port serving HTTP that the new plan makes HTTPS, or the other way: refused, as the port
 * would have to be closed and bound again, dropping its connections (and a port closed
 * for a moment can be taken). The errors point at the listener that asks for the change.
 */
function protocolSwitches(plan: RuntimePlan, served: (port: number) => ListenerProtocol | undefined): string[] {
  const errors: string[] = [];
  for (const listener of plan.listeners) {
    const from = served(listener.port);
    const to: ListenerProtocol = listener.tls !== undefined ? "HTTPS" : "HTTP";
    if (from === undefined || from === to) continue;
    const model = listener.gateways.flatMap((g) => g.listeners).find((l) => l.port === listener.port)!;
    errors.push(
      formatDiagnostic({
        severity: "error",
        file: model.source.file,
        line: model.source.line,
        col: model.source.col,
        path: `${model.source.path}.protocol`,
        message: `port ${listener.port} serves ${from} and would become ${to}; a running gateway keeps a port's protocol`,
        hint: `restart the gateway to apply this, or serve ${to} on another port`,
      }),
    );
  }
  return errors;
}
