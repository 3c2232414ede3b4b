// The tracing half of the request hooks. Per request: pick the rule's precompiled
// RuleTracing by id, extract the incoming context, take a sampling decision, and record
// plain facts. Contexts travel explicitly on exchange.telemetry / attempt.telemetry.
import type { Exchange, UpstreamAttempt } from "../../proxy/exchange.ts";
import type { CompiledListener, RuntimePlan } from "../../plan/types.ts";
import type { OutgoingHeaders } from "../hooks.ts";
import { responseHeadersOf } from "../response-headers.ts";
import { captureHeaders, shownHeaderValue, type MethodNormalizer } from "./attributes.ts";
import { newSpanId, newTraceId } from "./ids.ts";
import { copyIncoming, extract, inject, type Propagation } from "./propagation.ts";
import type { RuleTracing } from "./rule-tracing.ts";
import { ClientSpan, ServerSpan } from "./spans.ts";

export interface PlanTracing {
  readonly plan: RuntimePlan;
  /** Indexed by CompiledRule.id. */
  readonly rules: readonly RuleTracing[];
  readonly listeners: ReadonlyMap<CompiledListener, RuleTracing>;
}

/** Marker for requests whose route has tracing disabled: forward the incoming context as is. */
const PASSTHROUGH = Symbol("tollgate.trace.passthrough");

export class RequestTracer {
  readonly #propagation: Propagation;
  readonly #methods: MethodNormalizer;
  readonly #compile: (plan: RuntimePlan) => PlanTracing;
  #current: PlanTracing | undefined = undefined;
  readonly #byPlan = new WeakMap<RuntimePlan, PlanTracing>();

  constructor(propagation: Propagation, methods: MethodNormalizer, compile: (plan: RuntimePlan) => PlanTracing) {
    this.#propagation = propagation;
    this.#methods = methods;
    this.#compile = compile;
  }

  onPlan(plan: RuntimePlan, compiled: PlanTracing): void {
    this.#byPlan.set(plan, compiled);
    this.#current = compiled;
  }

  #forPlan(plan: RuntimePlan): PlanTracing {
    const cur = this.#current;
    if (cur !== undefined && cur.plan === plan) return cur;
    let pt = this.#byPlan.get(plan);
    if (pt === undefined) {
      pt = this.#compile(plan);
      this.#byPlan.set(plan, pt);
    }
    return pt;
  }

  onRequestStart(ex: Exchange): void {
    const pt = this.#forPlan(ex.plan);
    const match = ex.match;
    const rt = match !== undefined ? pt.rules[match.rule.id] : pt.listeners.get(ex.listener);
    // Envoy traces no health check: probes every few seconds would bury the traces that matter.
    if (rt === undefined || !rt.enabled || ex.healthCheck) {
      ex.telemetry = PASSTHROUGH;
      return;
    }
    const headers = ex.req.headers;
    const p = this.#propagation;
    const parent = p.names.length === 0 ? undefined : extract(p, headers);
    const traceId = parent === undefined ? newTraceId() : parent.traceId;
    const sampled = rt.sampler.sample(traceId, parent, headers["x-client-trace-id"] !== undefined);
    let baggage: string | undefined;
    if (p.baggage) {
      const b = headers.baggage;
      baggage = b === undefined ? undefined : typeof b === "string" ? b : b.join(",");
    }
    let headerValues: (string | undefined)[] | undefined;
    if (sampled && rt.requestHeaderAttrs.length > 0) {
      headerValues = [];
      for (const h of rt.requestHeaderAttrs) {
        const v = headers[h.header];
        headerValues.push(v === undefined ? h.defaultValue : shownHeaderValue(h.header, typeof v === "string" ? v : v.join(",")));
      }
    }
    const method = ex.method;
    const ua = headers["user-agent"];
    const span = new ServerSpan(
      traceId,
      newSpanId(),
      parent?.spanId,
      sampled,
      parent === undefined ? true : parent.random,
      parent?.traceState,
      baggage,
      rt,
      ex.startTimeMs,
      ex.startPerfMs,
      this.#methods.normalize(method),
      method,
      ex.path,
      ex.query,
      ex.scheme,
      ex.serverAddress,
      ex.serverPort,
      ex.clientAddress,
      // network.peer.*: the socket's peer, the balancer behind a PROXY protocol header.
      ex.directPeerAddress,
      ex.directPeerPort,
      ex.protocolVersion,
      ua,
      headerValues,
    );
    if (sampled && rt.capture.serverRequest.length > 0) span.requestHeaders = captureHeaders(rt.capture.serverRequest, headers, rt.capture.allowedSensitive);
    ex.telemetry = span;
  }

  onAttemptStart(ex: Exchange, attempt: UpstreamAttempt, headers: OutgoingHeaders): void {
    const s = ex.telemetry;
    if (!(s instanceof ServerSpan)) {
      if (s === PASSTHROUGH) copyIncoming(this.#propagation, ex.req.headers, headers);
      return;
    }
    let spanId: string;
    if (s.rt.upstreamSpans) {
      spanId = newSpanId();
      if (s.sampled) {
        const c = new ClientSpan(
          s,
          spanId,
          attempt.startTimeMs,
          attempt.startPerfMs,
          this.#methods.normalize(attempt.method),
          attempt.method,
          attempt.index,
          attempt.url,
          attempt.endpoint.host,
          attempt.endpoint.port,
          attempt.backend.displayName,
        );
        if (s.rt.capture.clientRequest.length > 0) c.requestHeaders = captureHeaders(s.rt.capture.clientRequest, headers, s.rt.capture.allowedSensitive);
        if (attempt.mirror) c.mirror = true;
        if (attempt.externalAuth) c.externalAuth = true;
        if (attempt.rateLimitCheck) c.rateLimitCheck = true;
        if (attempt.rpcMethod !== undefined) c.rpcMethod = attempt.rpcMethod;
        attempt.telemetry = c;
      } else attempt.telemetry = spanId; // no span to record, but the upstream's parent id is this one
    } else spanId = s.spanId;
    if (this.#propagation.names.length > 0) {
      inject(this.#propagation, headers, s.traceId, spanId, s.sampled, s.random, s.traceStateRaw, s.baggage);
    }
  }

  onAttemptEnd(_ex: Exchange, attempt: UpstreamAttempt): void {
    const c = attempt.telemetry;
    if (c instanceof ClientSpan && !c.done) endClientSpan(c, attempt);
  }

  onRequestEnd(ex: Exchange): void {
    const s = ex.telemetry;
    if (!(s instanceof ServerSpan) || s.finished) return;
    s.finished = true;
    if (!s.sampled) return;
    // Attempts the proxy never closed (client went away mid-attempt) end with the request.
    const attempts = ex.attempts;
    for (let i = 0; i < attempts.length; i++) {
      const a = attempts[i]!;
      const c = a.telemetry;
      if (c instanceof ClientSpan && !c.done) {
        if (a.errorType === undefined && a.status === 0) a.errorType = ex.clientAborted ? "client_aborted" : "incomplete";
        endClientSpan(c, a);
      }
    }
    s.endPerfMs = ex.endPerfMs > 0 ? ex.endPerfMs : performance.now();
    s.httpStatus = ex.status;
    s.errorType = ex.errorType;
    s.backendName = ex.backend?.displayName;
    const rt = s.rt;
    if (rt.capture.serverResponse.length > 0 || rt.responseHeaderAttrs.length > 0) {
      const resHeaders = responseHeadersOf(ex);
      if (rt.capture.serverResponse.length > 0) s.responseHeaders = captureHeaders(rt.capture.serverResponse, resHeaders, rt.capture.allowedSensitive);
      if (rt.responseHeaderAttrs.length > 0) {
        s.responseHeaderValues = rt.responseHeaderAttrs.map((h) => {
          const v = resHeaders[h.header];
          return v === undefined ? h.defaultValue : shownHeaderValue(h.header, Array.isArray(v) ? v.join(",") : String(v));
        });
      }
    }
    const queues = rt.queues;
    for (let i = 0; i < queues.length; i++) queues[i]!.push(s);
  }
}

function endClientSpan(c: ClientSpan, attempt: UpstreamAttempt): void {
  c.done = true;
  c.endPerfMs = attempt.endPerfMs > 0 ? attempt.endPerfMs : performance.now();
  c.httpStatus = attempt.status;
  c.errorType = attempt.errorType;
  c.peerAddress = attempt.peerAddress;
  c.peerPort = attempt.peerPort;
  c.grpcStatus = attempt.grpcStatus;
  const queues = c.rt.queues;
  for (let i = 0; i < queues.length; i++) queues[i]!.push(c);
}
