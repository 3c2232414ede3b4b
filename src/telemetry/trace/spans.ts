// Spans as the exporter reads them. The SDK's Tracer/Span path (context objects, attribute
// copying and validation on every setAttribute, a span processor chain) costs more per
// request than the proxying itself (measured in docs/tracing.md), so the hooks record only
// plain facts into these fixed-shape objects. The OTLP protobuf exporters encode them
// straight from these facts as they are queued (export/otlp-proto/); they also implement the
// SDK's ReadableSpan, whose attributes, name and times are built lazily, once, for the JSON
// and console exporters and the export thread. Dropped spans are never encoded or built.
import type { Attributes, HrTime, Link, SpanContext, SpanStatus, TraceState } from "@opentelemetry/api";
import type { InstrumentationScope } from "@opentelemetry/core";
import type { Resource } from "@opentelemetry/resources";
import type { ReadableSpan, TimedEvent } from "@opentelemetry/sdk-trace";
import { collectAttributes, type AttributeSink } from "../attribute-sink.ts";
import { serverRequestFailed, TOLLGATE_SCOPE } from "../semconv.ts";
import { applyLimits, redactQuery, sanitizeFullUrl, type CapturedHeaders } from "./attributes.ts";
import { epochNanos, epochSeconds } from "../hr-time.ts";
import type { RuleTracing } from "./rule-tracing.ts";

const SPAN_KIND_SERVER = 1;
const SPAN_KIND_CLIENT = 2;
const STATUS_UNSET: SpanStatus = Object.freeze({ code: 0 });
const STATUS_ERROR: SpanStatus = Object.freeze({ code: 2 });
const NO_LINKS: Link[] = [];
const NO_EVENTS: TimedEvent[] = [];

/** Epoch milliseconds (sub-ms precision) to OTel HrTime. */
export function msToHrTime(ms: number): HrTime {
  return [epochSeconds(ms), epochNanos(ms)];
}

/** tracestate forwarded as received; only serialize() is ever used by the exporters. */
export class RawTraceState implements TraceState {
  readonly #raw: string;
  constructor(raw: string) {
    this.#raw = raw;
  }
  set(): TraceState {
    return this;
  }
  unset(): TraceState {
    return this;
  }
  get(): string | undefined {
    return undefined;
  }
  serialize(): string {
    return this.#raw;
  }
}

export abstract class BaseSpan implements ReadableSpan {
  readonly traceId: string;
  readonly spanId: string;
  readonly sampled: boolean;
  readonly random: boolean;
  readonly traceStateRaw: string | undefined;
  readonly rt: RuleTracing;
  readonly startTimeMs: number;
  readonly startPerfMs: number;
  endPerfMs = 0;
  /** HTTP status; 0 when none. */
  httpStatus = 0;
  errorType: string | undefined = undefined;
  #attributes: Attributes | undefined = undefined;
  #dropped = 0;

  abstract readonly kind: number;
  abstract get name(): string;
  abstract get parentSpanContext(): SpanContext | undefined;
  /** The parent's span id, and whether it came from another process; read by the protobuf encoder. */
  abstract get parentSpanId(): string | undefined;
  abstract get parentIsRemote(): boolean;
  /** Every attribute, in order, before the limits are applied. */
  abstract writeAttributes(sink: AttributeSink): void;
  abstract get isError(): boolean;

  constructor(traceId: string, spanId: string, sampled: boolean, random: boolean, traceState: string | undefined, rt: RuleTracing, startTimeMs: number, startPerfMs: number) {
    this.traceId = traceId;
    this.spanId = spanId;
    this.sampled = sampled;
    this.random = random;
    this.traceStateRaw = traceState;
    this.rt = rt;
    this.startTimeMs = startTimeMs;
    this.startPerfMs = startPerfMs;
  }

  spanContext(): SpanContext {
    const ctx: SpanContext = { traceId: this.traceId, spanId: this.spanId, traceFlags: this.traceFlags, isRemote: false };
    if (this.traceStateRaw !== undefined) ctx.traceState = new RawTraceState(this.traceStateRaw);
    return ctx;
  }

  get traceFlags(): number {
    return (this.sampled ? 1 : 0) | (this.random ? 2 : 0);
  }

  get attributes(): Attributes {
    if (this.#attributes === undefined) {
      const attrs = collectAttributes((sink) => this.writeAttributes(sink));
      this.#dropped = applyLimits(attrs, this.rt.limits);
      this.#attributes = attrs;
    }
    return this.#attributes;
  }

  get droppedAttributesCount(): number {
    if (this.#attributes === undefined) void this.attributes;
    return this.#dropped;
  }

  get startTime(): HrTime {
    return msToHrTime(this.startTimeMs);
  }

  get endTime(): HrTime {
    return msToHrTime(this.endTimeMs);
  }

  /** Epoch ms: the start plus the duration measured on the monotonic clock. */
  get endTimeMs(): number {
    return this.startTimeMs + Math.max(0, this.endPerfMs - this.startPerfMs);
  }

  get duration(): HrTime {
    return msToHrTime(Math.max(0, this.endPerfMs - this.startPerfMs));
  }

  get status(): SpanStatus {
    return this.isError ? STATUS_ERROR : STATUS_UNSET;
  }

  get resource(): Resource {
    return this.rt.resource;
  }

  get instrumentationScope(): InstrumentationScope {
    return TOLLGATE_SCOPE;
  }

  get links(): Link[] {
    return NO_LINKS;
  }

  get events(): TimedEvent[] {
    return NO_EVENTS;
  }

  readonly ended = true;
  readonly droppedEventsCount = 0;
  readonly droppedLinksCount = 0;
}

/** The facts of one downstream request, copied from the Exchange so it can be released. */
export class ServerSpan extends BaseSpan {
  readonly kind = SPAN_KIND_SERVER;
  readonly parentId: string | undefined;
  readonly baggage: string | undefined;
  readonly method: string;
  readonly methodOriginal: string;
  readonly path: string;
  readonly query: string;
  readonly scheme: string;
  readonly serverAddress: string;
  readonly serverPort: number;
  readonly clientAddress: string;
  readonly peerAddress: string;
  readonly peerPort: number;
  readonly protocolVersion: string;
  readonly userAgent: string | undefined;
  /** Values of the rule's request-header custom attributes, in rule order. */
  readonly headerValues: (string | undefined)[] | undefined;
  requestHeaders: CapturedHeaders | undefined = undefined;
  responseHeaders: CapturedHeaders | undefined = undefined;
  responseHeaderValues: (string | undefined)[] | undefined = undefined;
  backendName: string | undefined = undefined;
  finished = false;

  constructor(
    traceId: string,
    spanId: string,
    parentId: string | undefined,
    sampled: boolean,
    random: boolean,
    traceState: string | undefined,
    baggage: string | undefined,
    rt: RuleTracing,
    startTimeMs: number,
    startPerfMs: number,
    method: string,
    methodOriginal: string,
    path: string,
    query: string,
    scheme: string,
    serverAddress: string,
    serverPort: number,
    clientAddress: string,
    peerAddress: string,
    peerPort: number,
    protocolVersion: string,
    userAgent: string | undefined,
    headerValues: (string | undefined)[] | undefined,
  ) {
    super(traceId, spanId, sampled, random, traceState, rt, startTimeMs, startPerfMs);
    this.parentId = parentId;
    this.baggage = baggage;
    this.method = method;
    this.methodOriginal = methodOriginal;
    this.path = path;
    this.query = query;
    this.scheme = scheme;
    this.serverAddress = serverAddress;
    this.serverPort = serverPort;
    this.clientAddress = clientAddress;
    this.peerAddress = peerAddress;
    this.peerPort = peerPort;
    this.protocolVersion = protocolVersion;
    this.userAgent = userAgent;
    this.headerValues = headerValues;
  }

  get name(): string {
    const m = this.method === "_OTHER" ? "HTTP" : this.method;
    return this.rt.httpRoute === undefined ? m : `${m} ${this.rt.httpRoute}`;
  }

  get parentSpanContext(): SpanContext | undefined {
    if (this.parentId === undefined) return undefined;
    return { traceId: this.traceId, spanId: this.parentId, traceFlags: this.traceFlags, isRemote: true };
  }

  get parentSpanId(): string | undefined {
    return this.parentId;
  }

  get parentIsRemote(): boolean {
    return this.parentId !== undefined;
  }

  get isError(): boolean {
    return serverRequestFailed(this.httpStatus, this.errorType);
  }

  writeAttributes(sink: AttributeSink): void {
    sink.put("http.request.method", this.method);
    if (this.methodOriginal !== this.method) sink.put("http.request.method_original", this.methodOriginal);
    const rt = this.rt;
    sink.putStatic(rt.serverStatic);
    sink.put("url.path", this.path);
    if (this.query !== "") sink.put("url.query", redactQuery(this.query));
    sink.put("url.scheme", this.scheme);
    sink.put("server.address", this.serverAddress);
    if (this.serverPort > 0) sink.put("server.port", this.serverPort);
    sink.put("client.address", this.clientAddress);
    sink.put("network.peer.address", this.peerAddress);
    if (this.peerPort > 0) sink.put("network.peer.port", this.peerPort);
    sink.put("network.protocol.version", this.protocolVersion);
    if (this.userAgent !== undefined) sink.put("user_agent.original", this.userAgent);
    if (this.httpStatus > 0) sink.put("http.response.status_code", this.httpStatus);
    const errorType = this.errorType ?? (this.httpStatus >= 500 ? String(this.httpStatus) : undefined);
    if (errorType !== undefined) sink.put("error.type", errorType);
    if (this.backendName !== undefined) sink.put("tollgate.backend.name", this.backendName);
    putDynamic(sink, rt, this.headerValues, this.responseHeaderValues, this.backendName);
    putCaptured(sink, "http.request.header.", this.requestHeaders);
    putCaptured(sink, "http.response.header.", this.responseHeaders);
  }
}

export class ClientSpan extends BaseSpan {
  readonly kind = SPAN_KIND_CLIENT;
  readonly server: ServerSpan;
  readonly method: string;
  readonly methodOriginal: string;
  readonly resendCount: number;
  readonly url: string;
  readonly serverAddress: string;
  readonly serverPort: number;
  readonly backendName: string;
  peerAddress: string | undefined = undefined;
  peerPort = 0;
  requestHeaders: CapturedHeaders | undefined = undefined;
  done = false;
  /** A RequestMirror copy rather than an attempt of the request. */
  mirror = false;
  /** The request's ExternalAuth check rather than an attempt of it. */
  externalAuth = false;
  /** The request's global rate limit check. */
  rateLimitCheck = false;
  /** `service/method` of a gRPC call (an ExternalAuth check over gRPC, a rate limit check): the span is named by it and carries rpc.*. */
  rpcMethod: string | undefined = undefined;
  grpcStatus = -1;

  constructor(
    server: ServerSpan,
    spanId: string,
    startTimeMs: number,
    startPerfMs: number,
    method: string,
    methodOriginal: string,
    resendCount: number,
    url: string,
    serverAddress: string,
    serverPort: number,
    backendName: string,
  ) {
    super(server.traceId, spanId, server.sampled, server.random, server.traceStateRaw, server.rt, startTimeMs, startPerfMs);
    this.server = server;
    this.method = method;
    this.methodOriginal = methodOriginal;
    this.resendCount = resendCount;
    this.url = url;
    this.serverAddress = serverAddress;
    this.serverPort = serverPort;
    this.backendName = backendName;
  }

  get name(): string {
    if (this.rpcMethod !== undefined) return this.rpcMethod;
    return this.method === "_OTHER" ? "HTTP" : this.method;
  }

  get parentSpanContext(): SpanContext {
    return { traceId: this.traceId, spanId: this.server.spanId, traceFlags: this.traceFlags, isRemote: false };
  }

  get parentSpanId(): string {
    return this.server.spanId;
  }

  readonly parentIsRemote = false;

  /** 4xx, 5xx, no response, or a response that broke off after its status (error.type says how). */
  get isError(): boolean {
    return this.httpStatus >= 400 || this.httpStatus === 0 || this.errorType !== undefined;
  }

  writeAttributes(sink: AttributeSink): void {
    sink.put("http.request.method", this.method);
    if (this.methodOriginal !== this.method) sink.put("http.request.method_original", this.methodOriginal);
    const rt = this.rt;
    sink.putStatic(rt.clientStatic);
    if (this.resendCount > 0) sink.put("http.request.resend_count", this.resendCount);
    sink.put("url.full", sanitizeFullUrl(this.url));
    sink.put("server.address", this.serverAddress);
    sink.put("server.port", this.serverPort);
    if (this.peerAddress !== undefined) sink.put("network.peer.address", this.peerAddress);
    if (this.peerPort > 0) sink.put("network.peer.port", this.peerPort);
    if (this.httpStatus > 0) sink.put("http.response.status_code", this.httpStatus);
    const errorType = this.errorType ?? (this.httpStatus >= 400 ? String(this.httpStatus) : this.httpStatus === 0 ? "_OTHER" : undefined);
    if (errorType !== undefined) sink.put("error.type", errorType);
    sink.put("tollgate.backend.name", this.backendName);
    if (this.mirror) sink.put("tollgate.mirror", true);
    if (this.externalAuth) sink.put("tollgate.ext_authz", true);
    if (this.rateLimitCheck) sink.put("tollgate.rate_limit_check", true);
    if (this.rpcMethod !== undefined) putRpc(sink, this.rpcMethod, this.grpcStatus);
    putDynamic(sink, rt, this.server.headerValues, this.server.responseHeaderValues, this.backendName);
    putCaptured(sink, "http.request.header.", this.requestHeaders);
  }
}

/** RPC semantic conventions for a gRPC call, beside the HTTP attributes of the request that carried it. */
function putRpc(sink: AttributeSink, rpcMethod: string, grpcStatus: number): void {
  const slash = rpcMethod.indexOf("/");
  sink.put("rpc.system", "grpc");
  sink.put("rpc.service", rpcMethod.slice(0, slash));
  sink.put("rpc.method", rpcMethod.slice(slash + 1));
  if (grpcStatus >= 0) sink.put("rpc.grpc.status_code", grpcStatus);
}

function putDynamic(
  sink: AttributeSink,
  rt: RuleTracing,
  headerValues: (string | undefined)[] | undefined,
  responseHeaderValues: (string | undefined)[] | undefined,
  backendName: string | undefined,
): void {
  if (headerValues !== undefined) {
    for (let i = 0; i < rt.requestHeaderAttrs.length; i++) {
      const v = headerValues[i];
      if (v !== undefined) sink.put(rt.requestHeaderAttrs[i]!.name, v);
    }
  }
  if (responseHeaderValues !== undefined) {
    for (let i = 0; i < rt.responseHeaderAttrs.length; i++) {
      const v = responseHeaderValues[i];
      if (v !== undefined) sink.put(rt.responseHeaderAttrs[i]!.name, v);
    }
  }
  if (backendName !== undefined) {
    for (let i = 0; i < rt.backendMetadataAttrs.length; i++) sink.put(rt.backendMetadataAttrs[i]!, backendName);
  }
}

function putCaptured(sink: AttributeSink, prefix: string, captured: CapturedHeaders | undefined): void {
  if (captured === undefined) return;
  for (const [name, values] of captured) sink.put(prefix + name, values);
}
