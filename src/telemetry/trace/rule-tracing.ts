// Compiles a plan's tracing policy into one RuleTracing per rule (and one per listener for
// requests no rule matched): the sampler, the static attribute block, the dynamic custom
// attribute sources, the resource and the export queues. Done once per plan in onPlan, so
// the request hooks only index an array by rule id.
import type { AttributeValue } from "@opentelemetry/api";
import type { Resource } from "@opentelemetry/resources";
import type { ReadableSpan } from "@opentelemetry/sdk-trace";
import type { CustomAttributeModel, GatewayModel, RouteTracingModel, TracingModel } from "../../config/model.ts";
import type { CompiledListener, CompiledRule } from "../../plan/types.ts";
import { envString, type Env } from "../env.ts";
import type { BatchQueue } from "../export/batch-queue.ts";
import type { AttributeLimits, HeaderCapture } from "./attributes.ts";
import { metadataSource } from "../metrics/value-sources.ts";
import { isSensitiveHeader } from "../../config/sensitive.ts";
import { envoySampler, samplerFromModel, type TraceSampler } from "./sampler.ts";

export interface HeaderAttr {
  readonly name: string;
  /** Lower-case header name. */
  readonly header: string;
  readonly defaultValue: string | undefined;
}

export interface RuleTracing {
  /** false: no spans for this rule; the incoming context is forwarded unchanged. */
  readonly enabled: boolean;
  readonly sampler: TraceSampler;
  readonly upstreamSpans: boolean;
  readonly httpRoute: string | undefined;
  /** Precomputed [key, value] pairs every SERVER span of this rule carries. */
  readonly serverStatic: ReadonlyArray<readonly [string, AttributeValue]>;
  readonly clientStatic: ReadonlyArray<readonly [string, AttributeValue]>;
  readonly requestHeaderAttrs: readonly HeaderAttr[];
  readonly responseHeaderAttrs: readonly HeaderAttr[];
  /** Custom attribute names whose value is the chosen backend (metadata key `backend`). */
  readonly backendMetadataAttrs: readonly string[];
  readonly resource: Resource;
  readonly queues: readonly BatchQueue<ReadableSpan>[];
  readonly capture: HeaderCapture;
  readonly limits: AttributeLimits;
}

export interface TracingDefaults {
  readonly env: Env;
  /** From OTEL_TRACES_SAMPLER when no policy sets sampling. */
  readonly envSampler: TraceSampler;
  readonly capture: HeaderCapture;
  readonly limits: AttributeLimits;
  /** False when OTEL_SDK_DISABLED or no exporter at all: spans are not recorded. */
  readonly exporting: boolean;
}

export interface GatewayTracing {
  readonly resource: Resource;
  readonly queues: readonly BatchQueue<ReadableSpan>[];
}

export const MAX_ROUTE_ATTRIBUTES = 16;

/** Metadata keys a custom attribute can read, and their namespace-qualified aliases. */
export function gatewayKey(g: GatewayModel): string {
  return `${g.ref.namespace}/${g.ref.name}`;
}

export function compileRuleTracing(
  rule: CompiledRule,
  gatewayTracing: GatewayTracing,
  defaults: TracingDefaults,
): RuleTracing {
  return compile(rule.gateway, rule.listener.name, rule, rule.tracing, gatewayTracing, defaults);
}

export function compileListenerTracing(listener: CompiledListener, gatewayTracing: GatewayTracing, defaults: TracingDefaults): RuleTracing | undefined {
  const gateway = listener.gateways[0];
  if (gateway === undefined) return undefined;
  return compile(gateway, undefined, undefined, undefined, gatewayTracing, defaults);
}

function compile(
  gateway: GatewayModel,
  listenerName: string | undefined,
  rule: CompiledRule | undefined,
  routeTracing: RouteTracingModel | undefined,
  gt: GatewayTracing,
  defaults: TracingDefaults,
): RuleTracing {
  const tracing: TracingModel | undefined = gateway.telemetry.tracing;
  const enabled = defaults.exporting && (tracing === undefined || tracing.enabled) && routeTracing?.disabled !== true;

  const attrs = mergeAttributes(tracing?.attributes ?? [], routeTracing?.attributes ?? []);
  const gatewayName = gatewayKey(gateway);
  const common: Array<readonly [string, AttributeValue]> = [["tollgate.gateway.name", gatewayName]];
  if (rule !== undefined) {
    common.push(["tollgate.route.name", rule.routeKey], ["tollgate.rule.name", rule.ruleName]);
  }
  const custom: Array<readonly [string, AttributeValue]> = [];
  const requestHeaderAttrs: HeaderAttr[] = [];
  const responseHeaderAttrs: HeaderAttr[] = [];
  const backendMetadataAttrs: string[] = [];
  for (const a of attrs) {
    const v = a.value;
    switch (v.from) {
      case "literal":
        custom.push([a.name, v.value]);
        break;
      case "environment": {
        const value = envString(defaults.env, v.variable) ?? v.defaultValue;
        if (value !== undefined) custom.push([a.name, value]);
        break;
      }
      case "requestHeader":
      case "responseHeader": {
        const header = v.header.toLowerCase();
        // Credentials never reach a span through a custom attribute unless explicitly allowed.
        if (isSensitiveHeader(header) && !defaults.capture.allowedSensitive.has(header)) break;
        (v.from === "requestHeader" ? requestHeaderAttrs : responseHeaderAttrs).push({ name: a.name, header, defaultValue: v.defaultValue });
        break;
      }
      case "metadata": {
        // The same keys and values as metric attributes and log fields; unknown keys were
        // reported by config validation and are omitted.
        const source = metadataSource(v.key, { gateway, listenerName: listenerName ?? rule?.listener.name, rule });
        if (source.kind === "static") custom.push([a.name, source.value]);
        else if (source.kind === "backend") backendMetadataAttrs.push(a.name);
        break;
      }
    }
  }

  const serverStatic: Array<readonly [string, AttributeValue]> = [];
  if (rule !== undefined) serverStatic.push(["http.route", rule.httpRoute]);
  serverStatic.push(...common);
  if (listenerName !== undefined) serverStatic.push(["tollgate.listener.name", listenerName]);
  else if (rule !== undefined) serverStatic.push(["tollgate.listener.name", rule.listener.name]);
  serverStatic.push(...custom);
  const clientStatic: Array<readonly [string, AttributeValue]> = [...common, ...custom];

  return {
    enabled,
    sampler: samplerFor(tracing, routeTracing, defaults),
    upstreamSpans: tracing?.upstreamSpans ?? true,
    httpRoute: rule?.httpRoute,
    serverStatic,
    clientStatic,
    requestHeaderAttrs,
    responseHeaderAttrs,
    backendMetadataAttrs,
    resource: gt.resource,
    queues: gt.queues,
    capture: defaults.capture,
    limits: defaults.limits,
  };
}

/** Route attributes override the listener's by name; at most 16 from the route. */
export function mergeAttributes(listener: readonly CustomAttributeModel[], route: readonly CustomAttributeModel[]): CustomAttributeModel[] {
  const routeAttrs = route.slice(0, MAX_ROUTE_ATTRIBUTES);
  const names = new Set(routeAttrs.map((a) => a.name));
  return [...listener.filter((a) => !names.has(a.name)), ...routeAttrs];
}

function samplerFor(tracing: TracingModel | undefined, route: RouteTracingModel | undefined, defaults: TracingDefaults): TraceSampler {
  const base = tracing?.sampling;
  const o = route?.sampling;
  // A provider's sampler decides over any percentages, a route's too (Envoy's tracer asks it alone).
  if (o !== undefined && base?.kind !== "alwaysOn" && (o.client !== undefined || o.random !== undefined || o.overall !== undefined)) {
    const inherited = base?.kind === "percentages" ? base : { client: 100, random: 100, overall: 100 };
    return envoySampler(o.client ?? inherited.client, o.random ?? inherited.random, o.overall ?? inherited.overall);
  }
  if (base !== undefined) return samplerFromModel(base, defaults.envSampler);
  return defaults.envSampler;
}
