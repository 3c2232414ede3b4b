// Process-level settings read from the environment. Everything here is about how the
// process runs (addresses, drain timing, port remapping for tests), never about routing:
// that lives in the config file. Bad values are errors naming the variable.
import type { LogLevel } from "./log.ts";

export interface HostPort {
  readonly host: string;
  readonly port: number;
}

export interface PortOverrides {
  /** Explicit `configPort=boundPort` pairs. */
  readonly byPort: ReadonlyMap<number, number>;
  /** `*=PORT` (only `*=0` makes sense: every listener on its own ephemeral port). */
  readonly wildcard: number | undefined;
}

export interface ServerSettings {
  readonly opsAddr: HostPort;
  readonly adminAddr: HostPort;
  readonly listenerHost: string;
  readonly portOverrides: PortOverrides;
  readonly portsFile: string | undefined;
  readonly drainGraceMs: number;
  readonly drainTimeoutMs: number;
  readonly telemetryShutdownTimeoutMs: number;
  readonly reloadDebounceMs: number;
  readonly watchConfig: boolean;
  readonly logLevel: LogLevel;
  /** 1-based index of this cluster worker; undefined in the primary or a single process. */
  readonly workerId: number | undefined;
  /**
   * Set by the primary on a worker it restarts while its siblings serve gateway ports: that
   * worker's start refuses a config without listeners, as a reload does.
   */
  readonly workerSiblingsServe: boolean;
  /** Set with workerSiblingsServe: the protocol the siblings serve on each config port, which this worker's start keeps. */
  readonly workerSiblingProtocols: ReadonlyMap<number, "HTTP" | "HTTPS">;
}

export class SettingsError extends Error {
  override name = "SettingsError";
}

export const ENV = {
  config: "TOLLGATE_CONFIG",
  opsAddr: "TOLLGATE_OPS_ADDR",
  adminAddr: "TOLLGATE_ADMIN_ADDR",
  listenerHost: "TOLLGATE_LISTENER_HOST",
  portOverride: "TOLLGATE_LISTENER_PORT_OVERRIDE",
  portsFile: "TOLLGATE_PORTS_FILE",
  drainGraceMs: "TOLLGATE_DRAIN_GRACE_MS",
  drainTimeoutMs: "TOLLGATE_DRAIN_TIMEOUT_MS",
  telemetryShutdownTimeoutMs: "TOLLGATE_TELEMETRY_SHUTDOWN_TIMEOUT_MS",
  reloadDebounceMs: "TOLLGATE_RELOAD_DEBOUNCE_MS",
  watch: "TOLLGATE_WATCH",
  logLevel: "TOLLGATE_LOG_LEVEL",
  workerId: "TOLLGATE_WORKER_ID",
  workerSiblingsServe: "TOLLGATE_WORKER_SIBLINGS_SERVE",
  workerSiblingProtocols: "TOLLGATE_WORKER_SIBLING_PROTOCOLS",
} as const;

export const DEFAULTS = {
  opsAddr: "0.0.0.0:15020",
  adminAddr: "127.0.0.1:15000",
  listenerHost: "0.0.0.0",
  drainGraceMs: 5000,
  drainTimeoutMs: 30000,
  telemetryShutdownTimeoutMs: 5000,
  reloadDebounceMs: 200,
} as const;

type Env = Readonly<Record<string, string | undefined>>;

export function readServerSettings(env: Env = process.env): ServerSettings {
  return {
    opsAddr: parseHostPort(env[ENV.opsAddr] ?? DEFAULTS.opsAddr, ENV.opsAddr),
    adminAddr: parseHostPort(env[ENV.adminAddr] ?? DEFAULTS.adminAddr, ENV.adminAddr),
    listenerHost: nonEmpty(env[ENV.listenerHost]) ?? DEFAULTS.listenerHost,
    portOverrides: parsePortOverrides(env[ENV.portOverride] ?? "", ENV.portOverride),
    portsFile: nonEmpty(env[ENV.portsFile]),
    drainGraceMs: parseMs(env[ENV.drainGraceMs], DEFAULTS.drainGraceMs, ENV.drainGraceMs),
    drainTimeoutMs: parseMs(env[ENV.drainTimeoutMs], DEFAULTS.drainTimeoutMs, ENV.drainTimeoutMs),
    telemetryShutdownTimeoutMs: parseMs(
      env[ENV.telemetryShutdownTimeoutMs],
      DEFAULTS.telemetryShutdownTimeoutMs,
      ENV.telemetryShutdownTimeoutMs,
    ),
    reloadDebounceMs: parseMs(env[ENV.reloadDebounceMs], DEFAULTS.reloadDebounceMs, ENV.reloadDebounceMs),
    watchConfig: parseBool(env[ENV.watch], true, ENV.watch),
    logLevel: parseLogLevel(env[ENV.logLevel], ENV.logLevel),
    workerId: parseWorkerId(env[ENV.workerId]),
    workerSiblingsServe: env[ENV.workerSiblingsServe] === "1",
    workerSiblingProtocols: parseSiblingProtocols(env[ENV.workerSiblingProtocols]),
  };
}

/** `8080=HTTP,8443=HTTPS`, as the primary writes it for a worker it restarts; anything else is left out. */
function parseSiblingProtocols(value: string | undefined): ReadonlyMap<number, "HTTP" | "HTTPS"> {
  const out = new Map<number, "HTTP" | "HTTPS">();
  for (const entry of (value ?? "").split(",")) {
    const match = /^(\d+)=(HTTPS?)$/.exec(entry.trim());
    if (match !== null) out.set(Number(match[1]), match[2] as "HTTP" | "HTTPS");
  }
  return out;
}

function nonEmpty(value: string | undefined): string | undefined {
  const v = value?.trim();
  return v === undefined || v === "" ? undefined : v;
}

/** `host:port`, `[ipv6]:port` or `:port` (all interfaces). */
export function parseHostPort(value: string, variable: string): HostPort {
  const v = value.trim();
  let host: string;
  let portText: string;
  const bracketed = /^\[([^\]]+)\]:(\d+)$/.exec(v);
  if (bracketed !== null) {
    host = bracketed[1] ?? "";
    portText = bracketed[2] ?? "";
  } else {
    const colon = v.lastIndexOf(":");
    if (colon < 0 || v.indexOf(":") !== colon) {
      throw new SettingsError(`${variable}=${JSON.stringify(value)}: expected host:port, e.g. 0.0.0.0:15020 or [::1]:15020`);
    }
    host = v.slice(0, colon) || "0.0.0.0";
    portText = v.slice(colon + 1);
  }
  return { host, port: parsePort(portText, `${variable}=${JSON.stringify(value)}`) };
}

function parsePort(text: string, what: string): number {
  if (!/^\d{1,5}$/.test(text)) throw new SettingsError(`${what}: port must be a number from 0 to 65535`);
  const port = Number(text);
  if (port > 65535) throw new SettingsError(`${what}: port must be a number from 0 to 65535`);
  return port;
}

/** `8080=0,9090=19090` or `*=0`. */
export function parsePortOverrides(value: string, variable: string): PortOverrides {
  const byPort = new Map<number, number>();
  let wildcard: number | undefined;
  for (const raw of value.split(",")) {
    const item = raw.trim();
    if (item === "") continue;
    const eq = item.indexOf("=");
    if (eq < 0) throw new SettingsError(`${variable}: ${JSON.stringify(item)} is not CONFIG_PORT=BIND_PORT (e.g. 8080=0 or *=0)`);
    const from = item.slice(0, eq).trim();
    const to = parsePort(item.slice(eq + 1).trim(), `${variable}: ${JSON.stringify(item)}`);
    if (from === "*") wildcard = to;
    else byPort.set(parsePort(from, `${variable}: ${JSON.stringify(item)}`), to);
  }
  return { byPort, wildcard };
}

/** The port a config listener port is bound on, after overrides. */
export function overriddenPort(overrides: PortOverrides, configPort: number): number {
  return overrides.byPort.get(configPort) ?? overrides.wildcard ?? configPort;
}

function parseMs(value: string | undefined, fallback: number, variable: string): number {
  const v = nonEmpty(value);
  if (v === undefined) return fallback;
  if (!/^\d+$/.test(v)) throw new SettingsError(`${variable}=${JSON.stringify(value)}: expected a whole number of milliseconds`);
  return Number(v);
}

function parseBool(value: string | undefined, fallback: boolean, variable: string): boolean {
  const v = nonEmpty(value)?.toLowerCase();
  if (v === undefined) return fallback;
  if (v === "true" || v === "1" || v === "on" || v === "yes") return true;
  if (v === "false" || v === "0" || v === "off" || v === "no") return false;
  throw new SettingsError(`${variable}=${JSON.stringify(value)}: expected true or false`);
}

const LOG_LEVELS: readonly LogLevel[] = ["debug", "info", "warn", "error"];

function parseLogLevel(value: string | undefined, variable: string): LogLevel {
  const v = nonEmpty(value)?.toLowerCase();
  if (v === undefined) return "info";
  const level = LOG_LEVELS.find((l) => l === v);
  if (level !== undefined) return level;
  throw new SettingsError(`${variable}=${JSON.stringify(value)}: expected ${LOG_LEVELS.join(", ")}`);
}

function parseWorkerId(value: string | undefined): number | undefined {
  const v = nonEmpty(value);
  if (v === undefined || !/^\d+$/.test(v)) return undefined;
  return Number(v);
}
