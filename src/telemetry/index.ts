// Telemetry as the server wires it: createTelemetry() reads the OTEL_* environment once,
// and onPlan() (re)compiles per-rule tracing state and (re)configures exporters whenever
// the policy changes. Shared, per-signal pieces (exporter settings, resource, bounded
// queues with drop accounting, rate-limited warnings) live in export/ and resource/ so the
// access-log and metrics signals reuse them.
import type { ReadableSpan } from "@opentelemetry/sdk-trace";
import type { Resource } from "@opentelemetry/resources";
import type { GatewayModel } from "../config/model.ts";
import type { RuntimePlan } from "../plan/types.ts";
import type { Exchange, UpstreamAttempt } from "../proxy/exchange.ts";
import type { GatewayStats, OutgoingHeaders, TelemetryRuntime } from "./hooks.ts";
import { envBool, envList, envString, parseResourceAttributes, type Env } from "./env.ts";
import { TelemetryDrops } from "./export/drops.ts";
import { batchSettingsFromEnv, SignalPipelines } from "./export/pipelines.ts";
import { consoleColors, createConsoleSpanExporter } from "./export/console-span-exporter.ts";
import { createOtlpSpanExporter } from "./export/span-exporter.ts";
import { exportThreadFromEnv, threadedSpanExporter } from "./export/export-thread.ts";
import { stderrWarnSink, type WarnSink } from "./export/warnings.ts";
import { ResourceCache, type ResourceIdentity } from "./resource/resource.ts";
import { headerCaptureFromEnv, MethodNormalizer, spanLimitsFromEnv } from "./trace/attributes.ts";
import { createPropagation, parsePropagators } from "./trace/propagation.ts";
import { RequestTracer, type PlanTracing } from "./trace/request-tracer.ts";
import { compileListenerTracing, compileRuleTracing, gatewayKey, type GatewayTracing, type RuleTracing, type TracingDefaults } from "./trace/rule-tracing.ts";
import { samplerFromEnv } from "./trace/sampler.ts";
import { envValueProblems } from "./env-check.ts";
import { eachSignal } from "./each-signal.ts";
import type { MetricsEndpoint } from "../admin/metrics-endpoint.ts";
import { LogsSignal } from "./logs/index.ts";
import { stdoutWriter } from "./logs/stdout-writer.ts";
import { MetricsSignal } from "./metrics/index.ts";

export interface TelemetryOptions {
  env: NodeJS.ProcessEnv;
  workerId?: number;
  stats?: GatewayStats;
  /** Where configuration problems and rate-limited export failures go; default: JSON lines on stderr. */
  warn?: WarnSink;
}

export interface Telemetry extends TelemetryRuntime {
  /** Dropped items per signal and reason (issue 4's `tollgate.telemetry.dropped`). */
  readonly drops: TelemetryDrops;
  /** The resource of a gateway, identical for every signal. */
  resourceFor(gateway: GatewayModel | undefined): Resource;
  /** Spans handed to exporters and acknowledged, summed over live pipelines (tests, admin). */
  exportedSpans(): number;
  /** Whether OTEL_SDK_DISABLED turned everything off. */
  readonly disabled: boolean;
  /** GET /metrics over the same instruments the OTLP push reads; undefined when disabled. */
  readonly metrics: MetricsEndpoint | undefined;
  /** Access LogRecords acknowledged by their sinks (tests, admin). */
  exportedLogRecords(): number;
  /** Metric data points acknowledged by the OTLP collector (tests, admin). */
  exportedMetricPoints(): number;
}

type ExporterKind = "otlp" | "console";

function tracesExportersFromEnv(env: Env, warn: WarnSink): ExporterKind[] {
  const list = envList(env, "OTEL_TRACES_EXPORTER") ?? ["otlp"];
  const out: ExporterKind[] = [];
  for (const raw of list) {
    const n = raw.toLowerCase();
    if (n === "none") return [];
    if (n === "otlp" || n === "console") {
      if (!out.includes(n)) out.push(n);
    } else warn(`OTEL_TRACES_EXPORTER: unsupported exporter '${raw}' ignored (supported: otlp, console, none)`, { signal: "traces" });
  }
  return out;
}

export function resourceIdentity(gateway: GatewayModel | undefined): ResourceIdentity {
  return {
    gatewayName: gateway?.ref.name,
    gatewayNamespace: gateway?.ref.namespace,
    policyServiceName: gateway?.telemetry.tracing?.serviceName,
    policyAttributes: gateway?.telemetry.resourceAttributes ?? {},
  };
}

export function createTelemetry(options: TelemetryOptions): Telemetry {
  const env: Env = options.env;
  const warn = options.warn ?? stderrWarnSink;
  const drops = new TelemetryDrops();
  const resources = new ResourceCache(env, options.workerId);
  const disabled = envBool(env, "OTEL_SDK_DISABLED", false);

  if (disabled) {
    return {
      disabled,
      drops,
      resourceFor: (g) => resources.get(resourceIdentity(g)),
      exportedSpans: () => 0,
      metrics: undefined,
      exportedLogRecords: () => 0,
      exportedMetricPoints: () => 0,
      onPlan() {},
      onRequestStart() {},
      onAttemptStart() {},
      onAttemptEnd() {},
      onRequestEnd() {},
      async flush() {},
      async shutdown() {},
    };
  }

  const report = (problems: readonly string[]): void => {
    for (const p of problems) warn(p, { signal: "traces" });
  };
  const resourceProblem = parseResourceAttributes(envString(env, "OTEL_RESOURCE_ATTRIBUTES")).problem;
  if (resourceProblem !== undefined) warn(resourceProblem, {});
  for (const p of envValueProblems(env)) warn(p, {});
  const propagators = parsePropagators(envList(env, "OTEL_PROPAGATORS"));
  report(propagators.problems);
  const sampler = samplerFromEnv(envString(env, "OTEL_TRACES_SAMPLER"), envString(env, "OTEL_TRACES_SAMPLER_ARG"));
  report(sampler.problems);
  const capture = headerCaptureFromEnv(env);
  report(capture.problems);

  const defaults: TracingDefaults = {
    env,
    envSampler: sampler.sampler,
    capture: capture.capture,
    limits: spanLimitsFromEnv(env),
    exporting: true,
  };
  const batch = batchSettingsFromEnv(env, "OTEL_BSP");
  const spans = new SignalPipelines<ReadableSpan>({
    env,
    signal: "traces",
    drops,
    warn,
    batch,
    createOtlp: exportThreadFromEnv(env) ? threadedSpanExporter : createOtlpSpanExporter,
    createConsole: () => createConsoleSpanExporter(stdoutWriter(env), consoleColors(process.stdout)),
    envExporters: tracesExportersFromEnv(env, warn),
  });

  const compile = (plan: RuntimePlan, inUse: Set<string>): PlanTracing => {
    const perGateway = new Map<string, GatewayTracing>();
    const forGateway = (g: GatewayModel): GatewayTracing => {
      const key = gatewayKey(g);
      let gt = perGateway.get(key);
      if (gt === undefined) {
        const tracing = g.telemetry.tracing;
        const queues = tracing !== undefined && !tracing.enabled ? [] : spans.resolve(tracing?.provider, inUse).map((p) => p.queue);
        gt = { resource: resources.get(resourceIdentity(g)), queues };
        perGateway.set(key, gt);
      }
      return gt;
    };
    const rules: RuleTracing[] = plan.rules.map((r) => compileRuleTracing(r, forGateway(r.gateway), defaults));
    const listeners = new Map<PlanTracing["plan"]["listeners"][number], RuleTracing>();
    for (const l of plan.listeners) {
      const g = l.gateways[0];
      if (g === undefined) continue;
      const rt = compileListenerTracing(l, forGateway(g), defaults);
      if (rt !== undefined) listeners.set(l, rt);
    }
    return { plan, rules, listeners };
  };

  const tracer = new RequestTracer(createPropagation(propagators.names), new MethodNormalizer(env), (plan) => compile(plan, new Set()));

  const signalOptions = { env, drops, warn, methods: new MethodNormalizer(env), resourceFor: (g: GatewayModel | undefined) => resources.get(resourceIdentity(g)) };
  const logs = new LogsSignal(signalOptions);
  const metrics = new MetricsSignal({ ...signalOptions, stats: options.stats, logFilterErrors: () => logs.filterErrors() });

  // A RequestMirror copy may end after its request: the metrics hold the request's resource
  // exported until it does, as for a request in flight.
  const mirrorStart = eachSignal([
    (ex: Exchange, attempt: UpstreamAttempt, headers: OutgoingHeaders) => tracer.onAttemptStart(ex, attempt, headers),
    (ex: Exchange) => metrics.onMirrorStart(ex),
  ]);
  return {
    disabled,
    drops,
    resourceFor: (g) => resources.get(resourceIdentity(g)),
    exportedSpans: () => spans.pipelines().reduce((n, p) => n + p.queue.exported, 0),
    metrics: metrics.endpoint,
    exportedLogRecords: () => logs.exported(),
    exportedMetricPoints: () => metrics.exportedPoints(),
    onPlan(plan: RuntimePlan): void {
      const inUse = new Set<string>();
      const compiled = compile(plan, inUse);
      tracer.onPlan(plan, compiled);
      logs.onPlan(plan);
      metrics.onPlan(plan);
      spans.retire(inUse, batch.exportTimeoutMs);
    },
    onRequestStart: eachSignal([(ex: Exchange) => tracer.onRequestStart(ex), (ex: Exchange) => metrics.onRequestStart(ex)]),
    onAttemptStart: (ex: Exchange, attempt: UpstreamAttempt, headers: OutgoingHeaders) =>
      attempt.mirror ? mirrorStart(ex, attempt, headers) : tracer.onAttemptStart(ex, attempt, headers),
    onAttemptEnd: eachSignal([
      (ex: Exchange, attempt: UpstreamAttempt) => tracer.onAttemptEnd(ex, attempt),
      (ex: Exchange, attempt: UpstreamAttempt) => metrics.onAttemptEnd(ex, attempt),
    ]),
    onRequestEnd: eachSignal([(ex: Exchange) => tracer.onRequestEnd(ex), (ex: Exchange) => logs.onRequestEnd(ex), (ex: Exchange) => metrics.onRequestEnd(ex)]),
    flush: async (timeoutMs: number) => {
      await Promise.all([spans.flush(timeoutMs), logs.flush(timeoutMs), metrics.flush(timeoutMs)]);
    },
    shutdown: async (timeoutMs: number) => {
      await Promise.all([spans.shutdown(timeoutMs), logs.shutdown(timeoutMs), metrics.shutdown(timeoutMs)]);
    },
  };
}
