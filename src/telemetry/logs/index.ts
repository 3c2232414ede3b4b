// The access-log signal. One LogRecord per finished (or aborted) request and per enabled
// access log of the request's gateway; with no access-log policy at all a gateway gets the
// default log (env-chosen sink). The end hook copies the facts, evaluates CEL filters, and
// pushes records into bounded queues; bodies and attributes are built at export time.
//
// Sinks: a kgateway openTelemetry backendRef → OTLP to that collector; a fileSink → stdout
// JSON; anything else → OTEL_LOGS_EXPORTER (otlp, console/stdout → stdout JSON, none).
// When OTEL_LOGS_EXPORTER is unset, OTLP is used if an OTLP endpoint is configured in the
// environment, else stdout JSON.
import type { ConditionInput } from "./access-log-conditions.ts";
import type { Resource } from "@opentelemetry/resources";
import type { ReadableLogRecord } from "@opentelemetry/sdk-logs";
import type { AccessLogModel, AccessLogServiceModel, GatewayModel } from "../../config/model.ts";
import type { CompiledListener, RuntimePlan } from "../../plan/types.ts";
import type { Exchange } from "../../proxy/exchange.ts";
import { envList, envNumber, envString, type Env } from "../env.ts";
import type { BatchQueue } from "../export/batch-queue.ts";
import type { TelemetryDrops } from "../export/drops.ts";
import { batchSettingsFromEnv, type Pipeline, SignalPipelines, type BatchSettings } from "../export/pipelines.ts";
import type { WarnSink } from "../export/warnings.ts";
import type { AttributeLimits, MethodNormalizer } from "../trace/attributes.ts";
import { activationOf } from "./cel-activation.ts";
import { forwardedViewOf } from "./logged-request-headers.ts";
import type { AccessLogActivation } from "../../cel/environment.ts";
import { compileGatewayLogs, type CompiledAccessLog, type GatewayLogs } from "./compile.ts";
import { FilterErrors, NotBoolResultError } from "./filter-errors.ts";
import { stdoutWriter } from "./stdout-writer.ts";
import { createOtlpLogExporter, createStdoutLogExporter } from "./exporters.ts";
import { exportThreadFromEnv, threadedLogExporter } from "../export/export-thread.ts";
import { RequestFacts } from "./facts.ts";
import { AccessLogServiceExporter, type AlsNode } from "./als-exporter.ts";
import { TOLLGATE_VERSION } from "../version.ts";
import { AccessLogRecord } from "./record.ts";

type SinkKind = "otlp" | "console";

export function logsExportersFromEnv(env: Env, warn: WarnSink): SinkKind[] {
  const list = envList(env, "OTEL_LOGS_EXPORTER");
  if (list === undefined) {
    const endpoint = envString(env, "OTEL_EXPORTER_OTLP_LOGS_ENDPOINT") ?? envString(env, "OTEL_EXPORTER_OTLP_ENDPOINT");
    return endpoint === undefined ? ["console"] : ["otlp"];
  }
  const out: SinkKind[] = [];
  for (const raw of list) {
    const n = raw.toLowerCase();
    if (n === "none") return [];
    const kind: SinkKind | undefined = n === "otlp" ? "otlp" : n === "console" || n === "stdout" ? "console" : undefined;
    if (kind === undefined) warn(`OTEL_LOGS_EXPORTER: unsupported exporter '${raw}' ignored (supported: otlp, console, stdout, none)`, { signal: "logs" });
    else if (!out.includes(kind)) out.push(kind);
  }
  return out;
}

/** OTEL_LOGRECORD_ATTRIBUTE_* with the OTEL_ATTRIBUTE_* fallbacks. */
export function logLimitsFromEnv(env: Env): AttributeLimits {
  const count = envNumber(env, "OTEL_ATTRIBUTE_COUNT_LIMIT", 128);
  const length = envNumber(env, "OTEL_ATTRIBUTE_VALUE_LENGTH_LIMIT", Number.POSITIVE_INFINITY);
  return {
    countLimit: envNumber(env, "OTEL_LOGRECORD_ATTRIBUTE_COUNT_LIMIT", count),
    valueLengthLimit: envNumber(env, "OTEL_LOGRECORD_ATTRIBUTE_VALUE_LENGTH_LIMIT", length),
  };
}

function defaultLog(gateway: GatewayModel): AccessLogModel {
  return {
    enabled: true,
    sink: { kind: "otlp", target: undefined },
    filter: undefined,
    fields: [],
    body: undefined,
    logName: undefined,
    attributes: [],
    resourceAttributes: {},
    source: gateway.ref.source,
  };
}

interface PlanLogs {
  readonly plan: RuntimePlan;
  readonly rules: readonly GatewayLogs[];
  readonly listeners: ReadonlyMap<CompiledListener, GatewayLogs>;
}

export interface LogsSignalOptions {
  readonly env: Env;
  readonly drops: TelemetryDrops;
  readonly warn: WarnSink;
  readonly methods: MethodNormalizer;
  readonly resourceFor: (gateway: GatewayModel) => Resource;
}

export class LogsSignal {
  readonly #o: LogsSignalOptions;
  readonly #batch: BatchSettings;
  readonly #limits: AttributeLimits;
  readonly #allowSensitive: ReadonlySet<string>;
  readonly #envPipelines: SignalPipelines<ReadableLogRecord>;
  readonly #stdoutPipelines: SignalPipelines<ReadableLogRecord>;
  readonly #byPlan = new WeakMap<RuntimePlan, PlanLogs>();
  readonly #filterErrors: FilterErrors;
  #current: PlanLogs | undefined = undefined;

  constructor(o: LogsSignalOptions) {
    this.#o = o;
    this.#batch = batchSettingsFromEnv(o.env, "OTEL_BLRP");
    this.#limits = logLimitsFromEnv(o.env);
    this.#filterErrors = new FilterErrors(o.warn);
    this.#allowSensitive = new Set((envList(o.env, "TOLLGATE_LOGS_ALLOW_SENSITIVE_HEADERS") ?? []).map((h) => h.toLowerCase()));
    const common = {
      env: o.env,
      signal: "logs" as const,
      drops: o.drops,
      warn: o.warn,
      batch: this.#batch,
      createOtlp: exportThreadFromEnv(o.env) ? threadedLogExporter : createOtlpLogExporter,
      createConsole: () => createStdoutLogExporter(stdoutWriter(o.env)),
    };
    this.#envPipelines = new SignalPipelines<ReadableLogRecord>({ ...common, envExporters: logsExportersFromEnv(o.env, o.warn) });
    this.#stdoutPipelines = new SignalPipelines<ReadableLogRecord>({ ...common, envExporters: ["console"] });
  }

  #compile(plan: RuntimePlan, inUseEnv: Set<string>, inUseStdout: Set<string>): PlanLogs {
    const byGateway = new Map<GatewayModel, GatewayLogs>();
    const queuesFor = (m: AccessLogModel, resource: Resource): BatchQueue<ReadableLogRecord>[] => {
      if (m.sink.kind === "stdout") return this.#stdoutPipelines.resolve(undefined, inUseStdout).map((p) => p.queue);
      if (m.sink.kind === "grpc") return [this.#accessLogService(m.sink.target, resource, inUseEnv).queue];
      return this.#envPipelines.resolve(m.sink.target, inUseEnv).map((p) => p.queue);
    };
    const forGateway = (g: GatewayModel): GatewayLogs => {
      let gl = byGateway.get(g);
      if (gl === undefined) {
        const models = g.telemetry.accessLogs.length === 0 ? [defaultLog(g)] : g.telemetry.accessLogs;
        gl = compileGatewayLogs(g, models, { resourceFor: this.#o.resourceFor, queuesFor, allowSensitive: this.#allowSensitive, filterErrors: this.#filterErrors });
        byGateway.set(g, gl);
      }
      return gl;
    };
    const rules = plan.rules.map((r) => forGateway(r.gateway));
    const listeners = new Map<CompiledListener, GatewayLogs>();
    for (const l of plan.listeners) {
      const g = l.gateways[0];
      if (g !== undefined) listeners.set(l, forGateway(g));
    }
    return { plan, rules, listeners };
  }

  /** One pipeline per service, log name and sending node (a gateway's service.name). */
  #accessLogService(service: AccessLogServiceModel, resource: Resource, inUse: Set<string>): Pipeline<ReadableLogRecord> {
    const attributes = resource.attributes;
    const node: AlsNode = { id: String(attributes["service.instance.id"] ?? ""), cluster: String(attributes["service.name"] ?? ""), userAgentVersion: TOLLGATE_VERSION };
    // What the exporter reads: a change of the headers to log keeps the stream's channel.
    const key = `als:${JSON.stringify([service.address, service.logName, service.authority, service.metadata, service.timeoutMs, service.reconnectBackoffMs, node])}`;
    const timeoutMs = service.timeoutMs ?? this.#batch.exportTimeoutMs;
    return this.#envPipelines.resolveWith(key, `grpc://${service.address} (access log service)`, () => new AccessLogServiceExporter(service, node, timeoutMs), inUse, timeoutMs);
  }

  onPlan(plan: RuntimePlan): void {
    const inUseEnv = new Set<string>();
    const inUseStdout = new Set<string>();
    const pl = this.#compile(plan, inUseEnv, inUseStdout);
    this.#byPlan.set(plan, pl);
    this.#current = pl;
    this.#envPipelines.retire(inUseEnv, this.#batch.exportTimeoutMs);
    this.#stdoutPipelines.retire(inUseStdout, this.#batch.exportTimeoutMs);
  }

  onRequestEnd(ex: Exchange): void {
    let pl = this.#current;
    if (pl === undefined || pl.plan !== ex.plan) {
      pl = this.#byPlan.get(ex.plan);
      if (pl === undefined) {
        pl = this.#compile(ex.plan, new Set(), new Set());
        this.#byPlan.set(ex.plan, pl);
      }
    }
    const m = ex.match;
    const gl = m !== undefined ? pl.rules[m.rule.id] : pl.listeners.get(ex.listener);
    if (gl === undefined || gl.logs.length === 0) return;
    // Built once: the facts keep only the values they name, the CEL activation reads it whole.
    const forwarded = forwardedViewOf(ex);
    const facts = new RequestFacts(ex, forwarded, gl.requestHeaders, gl.responseHeaders);
    let activation = gl.needsActivation ? activationOf(ex, facts, forwarded) : undefined;
    let input: ConditionInput | undefined;
    for (let i = 0; i < gl.logs.length; i++) {
      const log = gl.logs[i]!;
      if (log.filter !== undefined && !this.#keep(gl, log, activation!)) continue;
      if (log.condition !== undefined) {
        input ??= {
          facts,
          exchange: ex,
          forwarded,
          activation: () => (activation ??= activationOf(ex, facts, forwarded)),
          celFailed: (expression, error) => this.#filterErrors.failed(gl.filterErrors, expression, error),
        };
        if (!log.condition(input)) continue;
      }
      const record = new AccessLogRecord(facts, log, gl.gatewayName, this.#o.methods, this.#limits);
      for (let q = 0; q < log.queues.length; q++) log.queues[q]!.push(record);
    }
  }

  /** A filter that throws or yields a non-bool logs nothing, and is counted and reported. */
  #keep(gl: GatewayLogs, log: CompiledAccessLog, activation: AccessLogActivation): boolean {
    let result: unknown;
    try {
      result = log.filter!(activation);
    } catch (err) {
      this.#filterErrors.failed(gl.filterErrors, log.filterExpression, err);
      return false;
    }
    if (typeof result === "boolean") return result;
    this.#filterErrors.failed(gl.filterErrors, log.filterExpression, new NotBoolResultError(result));
    return false;
  }

  /** Access-log filter evaluations that failed, per gateway name (the `tollgate.access_log.filter.errors` metric). */
  filterErrors(): Array<readonly [gatewayName: string, count: number]> {
    return this.#filterErrors.snapshot();
  }

  /** Records handed to exporters and acknowledged. */
  exported(): number {
    return [...this.#envPipelines.pipelines(), ...this.#stdoutPipelines.pipelines()].reduce((n, p) => n + p.queue.exported, 0);
  }

  async flush(timeoutMs: number): Promise<void> {
    await Promise.all([this.#envPipelines.flush(timeoutMs), this.#stdoutPipelines.flush(timeoutMs)]);
  }

  async shutdown(timeoutMs: number): Promise<void> {
    await Promise.all([this.#envPipelines.shutdown(timeoutMs), this.#stdoutPipelines.shutdown(timeoutMs)]);
  }
}
