// The metrics half of the request hooks. onPlan compiles one RuleMetrics per rule (and
// per listener, for requests no rule matched): the instrument set of the rule's gateway,
// the static attributes, and the override sources. Per request the hooks build a short key
// from the few values that vary (method, status, error type, scheme, protocol, override
// header values), find the cached series group for it and record: no attribute hashing,
// no allocation once a key has been seen.
import type { Attributes, AttributeValue } from "@opentelemetry/api";
import type { GatewayModel, MetricsModel } from "../../config/model.ts";
import type { CompiledListener, RuntimePlan } from "../../plan/types.ts";
import type { Exchange, UpstreamAttempt } from "../../proxy/exchange.ts";
import type { Env } from "../env.ts";
import { shownHeaderValue, type MethodNormalizer } from "../trace/attributes.ts";
import type { Exemplar } from "./histograms.ts";
import { ACTIVE_REQUESTS, CLIENT_DURATION, overrideTarget, REQUEST_BODY_SIZE, RESPONSE_BODY_SIZE, SERVER_DURATION } from "./instruments.ts";
import type { ExemplarFilter } from "./settings.ts";
import type { Instrument, InstrumentSet, Series } from "./store.ts";
import { clientSpanOf, serverSpanOf, unsampledClientSpanIdOf } from "./trace-context.ts";
import { compileSource, headerValue, type CompiledSource, type RuleScope } from "./value-sources.ts";
import { responseHeadersOf } from "../response-headers.ts";

interface DynamicAttr {
  readonly name: string;
  readonly source: CompiledSource;
}

interface InstrumentAttrs {
  /** Added to the instrument's attributes for every request of the rule. */
  readonly statics: ReadonlyArray<readonly [string, AttributeValue]>;
  /** Read per request; part of the series key. */
  readonly dynamic: readonly DynamicAttr[];
}

interface ServerGroup {
  readonly duration: Series;
  readonly requestSize: Series;
  readonly responseSize: Series;
}

export interface RuleMetrics {
  readonly enabled: boolean;
  readonly set: InstrumentSet;
  readonly httpRoute: string | undefined;
  readonly gatewayName: string;
  readonly routeName: string | undefined;
  readonly attrs: ReadonlyMap<string, InstrumentAttrs>;
  /** attrs' entry for http.server.active_requests, resolved once: read at every start and end. */
  readonly activeAttrs: InstrumentAttrs | undefined;
  /** A dynamic source on the duration, size or client instruments: when false their keys need no header reads (active_requests keys its own). */
  readonly anyDynamic: boolean;
  readonly serverGroups: Map<string, ServerGroup>;
  readonly active: Map<string, Series>;
  readonly client: Map<string, Series>;
  /** Steady traffic repeats the last combination: then no key is built and no map searched. */
  readonly last: LastSeen;
}

/** The last values a rule's requests had, and what they resolved to (only used without dynamic overrides). */
class LastSeen {
  method = "";
  status = -1;
  errorType: string | undefined = undefined;
  scheme = "";
  protocol = "";
  group: ServerGroup | undefined = undefined;
  activeMethod = "";
  activeScheme = "";
  active: Series | undefined = undefined;
  clientMethod = "";
  clientStatus = -1;
  clientErrorType: string | undefined = undefined;
  clientEndpoint: object | undefined = undefined;
  clientBackend: object | undefined = undefined;
  client: Series | undefined = undefined;
}

export interface PlanMetrics {
  readonly plan: RuntimePlan;
  readonly rules: readonly RuleMetrics[];
  readonly listeners: ReadonlyMap<CompiledListener, RuleMetrics>;
}

export interface MetricsCompileContext {
  readonly env: Env;
  readonly setFor: (gateway: GatewayModel) => InstrumentSet;
  readonly warn: (message: string) => void;
  readonly cardinalityLimit: number;
}

const NO_ATTRS: InstrumentAttrs = { statics: [], dynamic: [] };

export function compilePlanMetrics(plan: RuntimePlan, ctx: MetricsCompileContext): PlanMetrics {
  const warned = new Set<string>();
  const rules = plan.rules.map((r) => compileRule({ gateway: r.gateway, listenerName: r.listener.name, rule: r }, ctx, warned));
  const listeners = new Map<CompiledListener, RuleMetrics>();
  for (const l of plan.listeners) {
    const g = l.gateways[0];
    if (g !== undefined) listeners.set(l, compileRule({ gateway: g, listenerName: undefined, rule: undefined }, ctx, warned));
  }
  return { plan, rules, listeners };
}

function compileRule(scope: RuleScope, ctx: MetricsCompileContext, warned: Set<string>): RuleMetrics {
  const model: MetricsModel | undefined = scope.gateway.telemetry.metrics;
  const attrs = new Map<string, InstrumentAttrs>();
  let anyDynamic = false;
  for (const o of model?.overrides ?? []) {
    const target = overrideTarget(o.name);
    if (target === undefined) {
      const w = `metrics override "${o.name}" names no Tollgate metric; it is ignored (see docs/metrics.md for the names)`;
      if (!warned.has(w)) {
        warned.add(w);
        ctx.warn(w);
      }
      continue;
    }
    const prev = attrs.get(target) ?? NO_ATTRS;
    const statics = [...prev.statics];
    const dynamic = [...prev.dynamic];
    for (const a of o.attributes) {
      const source = compileSource(a, scope, ctx.env);
      if (source.kind === "static") statics.push([a.name, source.value]);
      else if (source.kind === "absent") continue;
      else if (target === ACTIVE_REQUESTS.name && source.kind !== "requestHeader") {
        // An up-down counter moves one series up at the start and the same one down at the
        // end: a value first known later (a response header, the backend picked) cannot key it.
        const w = `metrics override "${o.name}": attribute "${a.name}" is not applied to http.server.active_requests, whose series is chosen when the request starts (only Literal, request Header and route Metadata values are known then)`;
        if (!warned.has(w)) {
          warned.add(w);
          ctx.warn(w);
        }
      } else {
        dynamic.push({ name: a.name, source });
        if (target !== ACTIVE_REQUESTS.name) anyDynamic = true;
      }
    }
    attrs.set(target, { statics, dynamic });
  }
  const g = scope.gateway;
  return {
    enabled: model === undefined || model.enabled,
    set: ctx.setFor(g),
    httpRoute: scope.rule?.httpRoute,
    gatewayName: `${g.ref.namespace}/${g.ref.name}`,
    routeName: scope.rule?.routeKey,
    attrs,
    activeAttrs: attrs.get(ACTIVE_REQUESTS.name),
    anyDynamic,
    serverGroups: new Map(),
    active: new Map(),
    client: new Map(),
    last: new LastSeen(),
  };
}

export class RequestMetrics {
  readonly #methods: MethodNormalizer;
  readonly #filter: ExemplarFilter;
  readonly #limit: number;
  readonly #compile: (plan: RuntimePlan) => PlanMetrics;
  readonly #byPlan = new WeakMap<RuntimePlan, PlanMetrics>();
  #current: PlanMetrics | undefined = undefined;

  constructor(methods: MethodNormalizer, filter: ExemplarFilter, cardinalityLimit: number, compile: (plan: RuntimePlan) => PlanMetrics) {
    this.#methods = methods;
    this.#filter = filter;
    this.#limit = cardinalityLimit;
    this.#compile = compile;
  }

  onPlan(plan: RuntimePlan): void {
    const pm = this.#compile(plan);
    this.#byPlan.set(plan, pm);
    this.#current = pm;
  }

  #ruleFor(ex: Exchange): RuleMetrics | undefined {
    let pm = this.#current;
    if (pm === undefined || pm.plan !== ex.plan) {
      pm = this.#byPlan.get(ex.plan);
      if (pm === undefined) {
        pm = this.#compile(ex.plan);
        this.#byPlan.set(ex.plan, pm);
      }
    }
    const m = ex.match;
    return m !== undefined ? pm.rules[m.rule.id] : pm.listeners.get(ex.listener);
  }

  onRequestStart(ex: Exchange): void {
    const rm = this.#ruleFor(ex);
    if (rm === undefined || !rm.enabled) return;
    rm.set.inFlight++;
    this.#activeSeries(rm, ex).add(1);
  }

  /** A RequestMirror copy counts as in flight until its onAttemptEnd, which may come after the request's end. */
  onMirrorStart(ex: Exchange): void {
    const rm = this.#ruleFor(ex);
    if (rm !== undefined && rm.enabled) rm.set.inFlight++;
  }

  onRequestEnd(ex: Exchange): void {
    const rm = this.#ruleFor(ex);
    if (rm === undefined || !rm.enabled) return;
    rm.set.inFlight--;
    this.#activeSeries(rm, ex).add(-1);
    const group = rm.anyDynamic ? this.#serverGroupByKey(rm, ex) : this.#serverGroupCached(rm, ex);
    const end = ex.endPerfMs > 0 ? ex.endPerfMs : performance.now();
    const seconds = Math.max(0, end - ex.startPerfMs) / 1000;
    group.duration.record(seconds, this.#exemplar(ex, seconds));
    group.requestSize.record(ex.bytesReceived, undefined);
    group.responseSize.record(ex.bytesSent, undefined);
  }

  #serverGroupCached(rm: RuleMetrics, ex: Exchange): ServerGroup {
    const last = rm.last;
    const hit = last.group;
    if (
      hit !== undefined &&
      last.method === ex.method &&
      last.status === ex.status &&
      last.errorType === ex.errorType &&
      last.scheme === ex.scheme &&
      last.protocol === ex.protocolVersion
    ) {
      return hit;
    }
    const group = this.#serverGroupByKey(rm, ex);
    last.method = ex.method;
    last.status = ex.status;
    last.errorType = ex.errorType;
    last.scheme = ex.scheme;
    last.protocol = ex.protocolVersion;
    last.group = group;
    return group;
  }

  #serverGroupByKey(rm: RuleMetrics, ex: Exchange): ServerGroup {
    const method = this.#methods.normalize(ex.method);
    let key = `${method}\u0001${ex.status}\u0001${ex.errorType ?? ""}\u0001${ex.scheme}\u0001${ex.protocolVersion}`;
    if (rm.anyDynamic) key += dynamicKey(rm, ex);
    let group = rm.serverGroups.get(key);
    if (group === undefined) {
      group = this.#serverGroup(rm, ex, method);
      if (rm.serverGroups.size < this.#limit) rm.serverGroups.set(key, group);
    }
    return group;
  }

  onAttemptEnd(ex: Exchange, attempt: UpstreamAttempt): void {
    const rm = this.#ruleFor(ex);
    if (rm === undefined || !rm.enabled) return;
    if (attempt.mirror) rm.set.inFlight--;
    const last = rm.last;
    let series: Series;
    if (
      !rm.anyDynamic &&
      last.client !== undefined &&
      last.clientMethod === attempt.method &&
      last.clientStatus === attempt.status &&
      last.clientErrorType === attempt.errorType &&
      last.clientEndpoint === attempt.endpoint &&
      last.clientBackend === attempt.backend
    ) {
      series = last.client;
    } else {
      series = this.#clientSeries(rm, ex, attempt);
      if (!rm.anyDynamic) {
        last.clientMethod = attempt.method;
        last.clientStatus = attempt.status;
        last.clientErrorType = attempt.errorType;
        last.clientEndpoint = attempt.endpoint;
        last.clientBackend = attempt.backend;
        last.client = series;
      }
    }
    const end = attempt.endPerfMs > 0 ? attempt.endPerfMs : performance.now();
    const seconds = Math.max(0, end - attempt.startPerfMs) / 1000;
    let exemplar: Exemplar | undefined;
    if (this.#filter !== "always_off") {
      const c = clientSpanOf(attempt);
      if (c !== undefined) {
        if (c.sampled || this.#filter === "always_on") exemplar = { value: seconds, timeMs: attempt.startTimeMs + seconds * 1000, traceId: c.traceId, spanId: c.spanId };
      } else if (this.#filter === "always_on") {
        const spanId = unsampledClientSpanIdOf(attempt);
        const s = serverSpanOf(ex);
        if (spanId !== undefined && s !== undefined) exemplar = { value: seconds, timeMs: attempt.startTimeMs + seconds * 1000, traceId: s.traceId, spanId };
      }
    }
    series.record(seconds, exemplar);
  }

  #clientSeries(rm: RuleMetrics, ex: Exchange, attempt: UpstreamAttempt): Series {
    const method = this.#methods.normalize(attempt.method);
    const ep = attempt.endpoint;
    const backend = attempt.backend.displayName;
    let key = `${method}\u0001${attempt.status}\u0001${attempt.errorType ?? ""}\u0001${ep.host}\u0001${ep.port}\u0001${backend}`;
    if (rm.anyDynamic) key += dynamicKey(rm, ex);
    let series = rm.client.get(key);
    if (series === undefined) {
      const a: Attributes = { "http.request.method": method, "server.address": ep.host, "server.port": ep.port };
      if (attempt.status > 0) a["http.response.status_code"] = attempt.status;
      const errorType = attempt.errorType ?? (attempt.status >= 400 ? String(attempt.status) : attempt.status === 0 ? "_OTHER" : undefined);
      if (errorType !== undefined) a["error.type"] = errorType;
      a["tollgate.gateway.name"] = rm.gatewayName;
      a["tollgate.backend.name"] = backend;
      addOverrides(a, rm.attrs.get(CLIENT_DURATION.name), ex);
      series = rm.set.instrument(CLIENT_DURATION).seriesFor(a, attempt.startTimeMs);
      if (rm.client.size < this.#limit) rm.client.set(key, series);
    }
    return series;
  }

  #exemplar(ex: Exchange, seconds: number): Exemplar | undefined {
    if (this.#filter === "always_off") return undefined;
    const s = serverSpanOf(ex);
    if (s === undefined || !(s.sampled || this.#filter === "always_on")) return undefined;
    return { value: seconds, timeMs: ex.startTimeMs + seconds * 1000, traceId: s.traceId, spanId: s.spanId };
  }

  /** Read at the start and again at the end: request headers, the only per-request source here, are the same both times. */
  #activeSeries(rm: RuleMetrics, ex: Exchange): Series {
    const o = rm.activeAttrs;
    const perRequest = o !== undefined && o.dynamic.length > 0;
    const last = rm.last;
    if (!perRequest && last.active !== undefined && last.activeMethod === ex.method && last.activeScheme === ex.scheme) return last.active;
    const method = this.#methods.normalize(ex.method);
    let key = method + "\u0001" + ex.scheme;
    if (perRequest) for (const d of o.dynamic) key += "\u0002" + (dynamicValue(d.source, ex) ?? "");
    let s = rm.active.get(key);
    if (s === undefined) {
      const a: Attributes = { "http.request.method": method, "url.scheme": ex.scheme, "tollgate.gateway.name": rm.gatewayName };
      addOverrides(a, o, ex);
      s = rm.set.instrument(ACTIVE_REQUESTS).seriesFor(a, ex.startTimeMs);
      if (rm.active.size < this.#limit) rm.active.set(key, s);
    }
    if (!perRequest) {
      last.activeMethod = ex.method;
      last.activeScheme = ex.scheme;
      last.active = s;
    }
    return s;
  }

  #serverGroup(rm: RuleMetrics, ex: Exchange, method: string): ServerGroup {
    const base: Attributes = { "http.request.method": method, "url.scheme": ex.scheme };
    if (rm.httpRoute !== undefined) base["http.route"] = rm.httpRoute;
    if (ex.status > 0) base["http.response.status_code"] = ex.status;
    const errorType = ex.errorType ?? (ex.status >= 500 ? String(ex.status) : undefined);
    if (errorType !== undefined) base["error.type"] = errorType;
    base["network.protocol.version"] = ex.protocolVersion;
    base["tollgate.gateway.name"] = rm.gatewayName;
    if (rm.routeName !== undefined) base["tollgate.route.name"] = rm.routeName;
    const seriesOf = (instrument: Instrument): Series => {
      const o = rm.attrs.get(instrument.descriptor.name);
      if (o === undefined) return instrument.seriesFor(base, ex.startTimeMs);
      const a: Attributes = { ...base };
      addOverrides(a, o, ex);
      return instrument.seriesFor(a, ex.startTimeMs);
    };
    return {
      duration: seriesOf(rm.set.instrument(SERVER_DURATION)),
      requestSize: seriesOf(rm.set.instrument(REQUEST_BODY_SIZE)),
      responseSize: seriesOf(rm.set.instrument(RESPONSE_BODY_SIZE)),
    };
  }
}

function dynamicValue(source: CompiledSource, ex: Exchange): string | undefined {
  switch (source.kind) {
    case "requestHeader":
      return shownValue(headerValue(ex.req.headers, source.header), source);
    case "responseHeader":
      return shownValue(headerValue(responseHeadersOf(ex), source.header), source);
    case "backend":
      return ex.backend?.displayName;
    case "static":
      return source.value;
    case "absent":
      return undefined;
  }
}

function shownValue(value: string | undefined, source: { header: string; defaultValue: string | undefined }): string | undefined {
  return value === undefined ? source.defaultValue : shownHeaderValue(source.header, value);
}

/** The per-request part of the series key: every dynamic override value, in order (active_requests keys its own). */
function dynamicKey(rm: RuleMetrics, ex: Exchange): string {
  let key = "";
  for (const [name, o] of rm.attrs) {
    if (name === ACTIVE_REQUESTS.name) continue;
    for (const d of o.dynamic) key += "\u0002" + (dynamicValue(d.source, ex) ?? "");
  }
  return key;
}

function addOverrides(a: Attributes, o: InstrumentAttrs | undefined, ex: Exchange): void {
  if (o === undefined) return;
  for (const [k, v] of o.statics) a[k] = v;
  for (const d of o.dynamic) {
    const v = dynamicValue(d.source, ex);
    if (v !== undefined) a[d.name] = v;
  }
}

