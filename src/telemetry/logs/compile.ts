// Compiles a gateway's access-log policies (TelemetryPolicy accessLogs, kgateway
// accessLog[]) once per plan: the CEL filter program, the body template, the fields, the
// static attributes, the resource and the export queues.
import type { Attributes, AttributeValue } from "@opentelemetry/api";
import type { InstrumentationScope } from "@opentelemetry/core";
import { resourceFromAttributes, type Resource } from "@opentelemetry/resources";
import type { ReadableLogRecord } from "@opentelemetry/sdk-logs";
import { compileAccessLogFilter, type AccessLogFilterProgram } from "../../cel/environment.ts";
import type { AccessLogModel, GatewayModel, LogFieldModel } from "../../config/model.ts";
import { parseEnvoyFormat } from "../../format/envoy-operators.ts";
import type { AttributeSink } from "../attribute-sink.ts";
import type { BatchQueue } from "../export/batch-queue.ts";
import { SCHEMA_URL, TOLLGATE_SCOPE } from "../semconv.ts";
import { redactQuery } from "../trace/attributes.ts";
import { TOLLGATE_VERSION } from "../version.ts";
import { metadataSource } from "../metrics/value-sources.ts";
import { compileTemplateParts, DEFAULT_BODY_TEMPLATE, isoTime, joinRenders, protocolName, responseCodeDetails, withPort, type HeaderIndex, type Render } from "./envoy-render.ts";
import type { RequestFacts } from "./facts.ts";
import type { FilterErrorCount, FilterErrors } from "./filter-errors.ts";
import { type AccessLogPredicate, compileCondition } from "./access-log-conditions.ts";
import { type JsonBodyRender, compileJsonBody } from "./json-body.ts";
import { type AlsEntryRender, compileAlsEntry } from "./als-entry.ts";

export type FieldValue = (f: RequestFacts) => AttributeValue | undefined;

export interface CompiledAccessLog {
  readonly filter: AccessLogFilterProgram | undefined;
  /** The filter's CEL source, for the rate-limited warning when it fails. */
  readonly filterExpression: string;
  /** kgateway's other access log filters: the record is kept only when it holds. */
  readonly condition: AccessLogPredicate | undefined;
  readonly body: Render;
  /** The body's parts, in order: body(f) is their renders joined. */
  readonly bodyParts: readonly Render[];
  /** A fileSink's jsonFormat: the body is this object, not `body`'s text. */
  readonly jsonBody: JsonBodyRender | undefined;
  readonly fields: ReadonlyArray<readonly [string, FieldValue]>;
  readonly staticAttributes: ReadonlyArray<readonly [string, AttributeValue]>;
  readonly logName: string | undefined;
  /** `tollgate`, or the kgateway `logName`: Envoy's OpenTelemetry access logger reports the log name as the scope name. */
  readonly scope: InstrumentationScope;
  readonly resource: Resource;
  readonly queues: readonly BatchQueue<ReadableLogRecord>[];
  /** A `grpcService` log's HTTPAccessLogEntry (built at export time). */
  readonly alsEntry: AlsEntryRender | undefined;
}

/** Every access log of one gateway, and the union of headers they read. */
export interface GatewayLogs {
  /** `namespace/name`, the records' tollgate.gateway.name. */
  readonly gatewayName: string;
  readonly logs: readonly CompiledAccessLog[];
  readonly requestHeaders: readonly string[];
  readonly responseHeaders: readonly string[];
  /** Any log has a CEL filter: the end hook builds the activation (a kgateway filter's CEL condition builds it when it runs). */
  readonly needsActivation: boolean;
  /** Run-time filter failures of this gateway. */
  readonly filterErrors: FilterErrorCount;
}

/** Request headers every gateway captures: :authority (Host) and X-Request-Id, for the Standard fields. */
export const ALWAYS_CAPTURED = ["host", "x-request-id"] as const;

export class HeaderIndexBuilder implements HeaderIndex {
  readonly requestHeaders: string[] = [...ALWAYS_CAPTURED];
  readonly responseHeaders: string[] = [];

  request(name: string): number {
    let i = this.requestHeaders.indexOf(name);
    if (i < 0) i = this.requestHeaders.push(name) - 1;
    return i;
  }

  response(name: string): number {
    let i = this.responseHeaders.indexOf(name);
    if (i < 0) i = this.responseHeaders.push(name) - 1;
    return i;
  }
}

export interface LogCompileContext {
  readonly resourceFor: (g: GatewayModel) => Resource;
  /** `resource`: the log's (the gateway's, with the log's resourceAttributes). */
  readonly queuesFor: (model: AccessLogModel, resource: Resource) => BatchQueue<ReadableLogRecord>[];
  readonly allowSensitive: ReadonlySet<string>;
  readonly filterErrors: FilterErrors;
}

const DEFAULT_BODY = parseEnvoyFormat(DEFAULT_BODY_TEMPLATE).parts;

/** One scope object per log name, kept across plans: the OTLP serialisers group records by scope identity. */
const scopes = new Map<string, InstrumentationScope>();

export function scopeFor(logName: string | undefined): InstrumentationScope {
  if (logName === undefined || logName === "") return TOLLGATE_SCOPE;
  let scope = scopes.get(logName);
  if (scope === undefined) {
    scope = { name: logName, version: TOLLGATE_VERSION, schemaUrl: SCHEMA_URL };
    scopes.set(logName, scope);
  }
  return scope;
}

export function compileGatewayLogs(gateway: GatewayModel, models: readonly AccessLogModel[], ctx: LogCompileContext): GatewayLogs {
  const index = new HeaderIndexBuilder();
  const logs: CompiledAccessLog[] = [];
  for (const m of models) {
    if (!m.enabled) continue;
    const base = ctx.resourceFor(gateway);
    const resource = Object.keys(m.resourceAttributes).length === 0 ? base : base.merge(resourceFromAttributes({ ...m.resourceAttributes }));
    const queues = ctx.queuesFor(m, resource);
    if (queues.length === 0) continue;
    let filter: AccessLogFilterProgram | undefined;
    if (m.filter !== undefined) {
      const compiled = compileAccessLogFilter(m.filter.expression);
      // The config stage rejected invalid filters; a filter that still fails logs nothing rather than everything.
      filter = compiled.ok ? compiled.program : undefined;
      if (!compiled.ok) continue;
    }
    // A jsonFormat body reads only the headers its own templates name.
    const parts = m.jsonBody !== undefined ? [] : m.body === undefined ? DEFAULT_BODY : parseEnvoyFormat(m.body).parts;
    const bodyParts = compileTemplateParts(parts, index, ctx.allowSensitive);
    logs.push({
      filter,
      filterExpression: m.filter?.expression ?? "",
      condition: m.condition === undefined ? undefined : compileCondition(m.condition),
      body: joinRenders(bodyParts),
      bodyParts,
      jsonBody: m.jsonBody === undefined ? undefined : compileJsonBody(m.jsonBody, index, ctx.allowSensitive),
      fields: m.fields.map((field) => [field.name, compileField(field, gateway, index)] as const),
      staticAttributes: m.attributes.flatMap((a) => (a.value.from === "literal" ? [[a.name, a.value.typed ?? a.value.value] as const] : [])),
      logName: m.logName,
      scope: scopeFor(m.logName),
      resource,
      queues,
      alsEntry: m.sink.kind === "grpc" ? compileAlsEntry(m.sink.target, index, ctx.allowSensitive) : undefined,
    });
  }
  const gatewayName = `${gateway.ref.namespace}/${gateway.ref.name}`;
  return {
    gatewayName,
    logs,
    requestHeaders: index.requestHeaders,
    responseHeaders: index.responseHeaders,
    needsActivation: logs.some((l) => l.filter !== undefined),
    filterErrors: ctx.filterErrors.counterFor(gatewayName),
  };
}

function compileField(field: LogFieldModel, gateway: GatewayModel, index: HeaderIndex): FieldValue {
  switch (field.type) {
    case "Literal": {
      const v = field.value;
      return () => v;
    }
    case "Header": {
      // The config stage only accepts Authorization/Cookie-class names with allowSensitive: true.
      const i = index.request(field.header.toLowerCase());
      return (f) => f.requestHeaders[i];
    }
    case "Metadata": {
      const key = field.key;
      return (f) => {
        const src = metadataSource(key, { gateway, listenerName: f.listenerName, rule: f.rule });
        if (src.kind === "static") return src.value;
        if (src.kind === "backend") return f.backendName;
        return undefined;
      };
    }
    case "Standard":
      return standardField(field.standard, gateway);
  }
}

/** The Standard values of src/config/standard-fields.ts. */
export function standardField(name: string, gateway: GatewayModel): FieldValue {
  const gatewayName = `${gateway.ref.namespace}/${gateway.ref.name}`;
  switch (name) {
    case "RequestStartTime":
      return (f) => isoTime(f.startTimeMs);
    case "Duration":
      return (f) => Math.round(f.durationMs * 1000) / 1000;
    case "RequestDuration":
      return (f) => (f.requestDurationMs < 0 ? undefined : Math.round(f.requestDurationMs * 1000) / 1000);
    case "ResponseDuration":
      return (f) => (f.responseStartMs < 0 ? undefined : Math.round(f.responseStartMs * 1000) / 1000);
    case "RequestMethod":
      return (f) => f.method;
    case "RequestPath":
      return (f) => f.path;
    case "RequestQuery":
      return (f) => (f.query === "" ? undefined : redactQuery(f.query));
    case "Authority":
      return (f) => f.requestHeaders[0];
    case "Scheme":
      return (f) => f.scheme;
    case "Protocol":
      return protocolName;
    case "UserAgent":
      return (f) => f.userAgent;
    case "RequestId":
      return (f) => f.requestHeaders[1];
    case "ResponseCode":
      return (f) => f.status;
    case "ResponseCodeDetails":
      return responseCodeDetails;
    case "ResponseFlags":
      return (f) => (f.responseFlags === "" ? "-" : f.responseFlags);
    case "BytesReceived":
      return (f) => f.bytesReceived;
    case "BytesSent":
      return (f) => f.bytesSent;
    case "UpstreamHost":
      return (f) => f.upstreamHost;
    case "UpstreamCluster":
      return (f) => f.backendName;
    case "UpstreamRequestAttemptCount":
      return (f) => f.upstreamAttempts;
    case "RouteName":
      return (f) => f.rule?.routeKey;
    case "RuleName":
      return (f) => f.rule?.ruleName;
    case "GatewayName":
      return () => gatewayName;
    case "ListenerName":
      return (f) => f.listenerName;
    case "TraceId":
      return (f) => (f.traceId === "" ? undefined : f.traceId);
    case "SpanId":
      return (f) => (f.spanId === "" ? undefined : f.spanId);
    case "ClientAddress":
      return (f) => f.clientAddress;
    case "DownstreamRemoteAddress":
      return (f) => withPort(f.peerAddress, f.peerPort);
    case "DownstreamLocalAddress":
      return (f) => withPort(f.localAddress, f.localPort);
    default:
      return () => undefined;
  }
}

/** The semconv attributes every access LogRecord carries (same keys as the SERVER span). */
export function writeSemconvAttributes(sink: AttributeSink, f: RequestFacts, gatewayName: string, normalizedMethod: string): void {
  sink.put("http.request.method", normalizedMethod);
  // As on the SERVER span: the method as received when it is not one of the known ones.
  if (normalizedMethod !== f.method) sink.put("http.request.method_original", f.method);
  if (f.rule !== undefined) sink.put("http.route", f.rule.httpRoute);
  sink.put("url.path", f.path);
  if (f.query !== "") sink.put("url.query", redactQuery(f.query));
  sink.put("url.scheme", f.scheme);
  sink.put("server.address", f.serverAddress);
  if (f.serverPort > 0) sink.put("server.port", f.serverPort);
  sink.put("client.address", f.clientAddress);
  // The socket's peer: behind a PROXY protocol header, the balancer (client.address is the client).
  sink.put("network.peer.address", f.directPeerAddress);
  if (f.directPeerPort > 0) sink.put("network.peer.port", f.directPeerPort);
  sink.put("network.protocol.version", f.protocolVersion);
  if (f.userAgent !== undefined) sink.put("user_agent.original", f.userAgent);
  if (f.status > 0) sink.put("http.response.status_code", f.status);
  const errorType = f.errorType ?? (f.status >= 500 ? String(f.status) : undefined);
  if (errorType !== undefined) sink.put("error.type", errorType);
  sink.put("http.request.body.size", f.bytesReceived);
  sink.put("http.response.body.size", f.bytesSent);
  sink.put("tollgate.request.duration_ms", Math.round(f.durationMs * 1000) / 1000);
  if (f.responseStartMs >= 0) sink.put("tollgate.response.first_byte_ms", Math.round(f.responseStartMs * 1000) / 1000);
  if (f.responseFlags !== "") sink.put("tollgate.response.flags", f.responseFlags);
  if (f.upstreamHost !== undefined) sink.put("tollgate.upstream.address", f.upstreamHost);
  if (f.upstreamAttempts > 0) sink.put("tollgate.upstream.attempts", f.upstreamAttempts);
  sink.put("tollgate.gateway.name", gatewayName);
  if (f.listenerName !== undefined) sink.put("tollgate.listener.name", f.listenerName);
  if (f.rule !== undefined) {
    sink.put("tollgate.route.name", f.rule.routeKey);
    sink.put("tollgate.rule.name", f.rule.ruleName);
  }
  if (f.backendName !== undefined) sink.put("tollgate.backend.name", f.backendName);
}

