// kgateway's access log `grpcService` (Envoy's HttpGrpcAccessLogConfig): where entries go and
// what each carries. The gRPC service fields kgateway shares with the openTelemetry access log
// are read here too: that sink's exporter is an OTLP one, configured by the OTEL_* variables,
// so the fields it cannot honour are said so rather than silently dropped.
import { parseDuration } from "./duration.ts";
import { isHeaderName } from "./header-names.ts";
import type { AccessLogServiceModel, ExporterTargetModel } from "./model.ts";
import type { BackendRefSpec, BackendResolver } from "./resolve-backends.ts";
import type { Reporter, Resource, Segments } from "./resources.ts";

type GrpcServiceSpec = Record<string, unknown>;

const KGATEWAY_GROUP = "gateway.kgateway.dev";

/** The access log service a kgateway `grpcService` access log names, or undefined when it cannot be reached (reported). */
export function accessLogService(p: Resource, spec: GrpcServiceSpec, at: Segments, backends: BackendResolver, reporter: Reporter): AccessLogServiceModel | undefined {
  const target = backends.exporter(p, KGATEWAY_GROUP, spec["backendRef"] as BackendRefSpec, [...at, "backendRef"], "reach the access log service over a path you trust (a sidecar or the node's network), or use the openTelemetry sink with OTEL_EXPORTER_OTLP_CERTIFICATE");
  const authority = spec["authority"] as string | undefined;
  const authorityOk = authority === undefined || authority === "" || AUTHORITY.test(authority);
  if (!authorityOk) reporter.error(p, [...at, "authority"], "authority is not a host[:port] the gRPC call can send", "write a host name, optionally with a port, e.g. als.observability:9001");
  const timeout = durationMs(p, spec["timeout"], [...at, "timeout"], reporter);
  const reconnectBackoffMs = backoff(p, spec["retryPolicy"] as GrpcServiceSpec | undefined, [...at, "retryPolicy"], reporter);
  const requestHeaders = headerNames(p, spec["additionalRequestHeadersToLog"], [...at, "additionalRequestHeadersToLog"], reporter, REQUEST_PSEUDO_HEADERS);
  const responseHeaders = headerNames(p, spec["additionalResponseHeadersToLog"], [...at, "additionalResponseHeadersToLog"], reporter);
  const trailers = spec["additionalResponseTrailersToLog"] as readonly string[] | undefined;
  if (trailers !== undefined && trailers.length > 0) {
    reporter.warn(p, [...at, "additionalResponseTrailersToLog"], "response trailers are not logged: Tollgate does not keep an upstream's trailers apart from its answer", "remove additionalResponseTrailersToLog");
  }
  const retries = (spec["retryPolicy"] as GrpcServiceSpec | undefined)?.["numRetries"];
  if (retries !== undefined) {
    reporter.warn(p, [...at, "retryPolicy", "numRetries"], "numRetries has no effect: a batch the service did not take is dropped and counted (tollgate.telemetry.dropped), as Envoy drops it", "remove numRetries");
  }
  const metadata = initialMetadata(p, spec["initialMetadata"], [...at, "initialMetadata"], reporter);
  if (target === undefined || metadata === undefined || !authorityOk) return undefined;
  return {
    address: addressOf(target),
    logName: spec["logName"] as string,
    // kgateway's empty authority is unset, as Envoy falls back to the cluster name.
    authority: authority === "" ? undefined : authority,
    metadata,
    timeoutMs: timeout,
    reconnectBackoffMs,
    requestHeaders,
    responseHeaders,
  };
}

/** The gRPC service fields of an openTelemetry access log that its OTLP exporter does not read. */
export function warnOtlpServiceFields(p: Resource, spec: GrpcServiceSpec, at: Segments, reporter: Reporter, signal: "LOGS" | "TRACES" = "LOGS"): void {
  const instead: Record<string, string> = {
    authority: "the exporter sends the collector's own host as :authority",
    maxReceiveMessageLength: "the OTLP exporter takes the collector's answers whole",
    timeout: `OTEL_EXPORTER_OTLP_${signal}_TIMEOUT sets the export timeout`,
    initialMetadata: `OTEL_EXPORTER_OTLP_${signal}_HEADERS sets the export's headers`,
    retryPolicy: "the OTLP exporter retries as the OTLP specification says",
  };
  for (const [field, text] of Object.entries(instead)) {
    if (spec[field] !== undefined) reporter.warn(p, [...at, field], `${field} has no effect in Tollgate: ${text}`, undefined);
  }
}

/** `http://host:port` → `host:port`, as gRPC names a target. */
function addressOf(target: ExporterTargetModel): string {
  return target.endpoint.slice("http://".length);
}

function durationMs(p: Resource, text: unknown, at: Segments, reporter: Reporter): number | undefined {
  if (text === undefined) return undefined;
  const ms = parseDuration(String(text));
  if (ms === undefined || ms < 1) {
    reporter.error(p, at, `"${String(text)}" is not a duration of at least 1ms`, "write a duration such as 5s");
    return undefined;
  }
  return ms;
}

function backoff(p: Resource, policy: GrpcServiceSpec | undefined, at: Segments, reporter: Reporter): AccessLogServiceModel["reconnectBackoffMs"] {
  const spec = policy?.["retryBackOff"] as GrpcServiceSpec | undefined;
  if (spec === undefined) return undefined;
  const base = durationMs(p, spec["baseInterval"], [...at, "retryBackOff", "baseInterval"], reporter);
  if (base === undefined) return undefined;
  // Envoy: the maximum defaults to ten times the base.
  const max = spec["maxInterval"] === undefined ? base * 10 : durationMs(p, spec["maxInterval"], [...at, "retryBackOff", "maxInterval"], reporter);
  if (max === undefined) return undefined;
  if (max < base) {
    reporter.error(p, [...at, "retryBackOff", "maxInterval"], `maxInterval (${String(spec["maxInterval"])}) is shorter than baseInterval (${String(spec["baseInterval"])})`, "make maxInterval at least baseInterval, or leave it out (ten times baseInterval)");
    return undefined;
  }
  return { base, max };
}

/** The request pseudo-headers a log reads (as `%REQ(:AUTHORITY)%` does); a response has none to read. */
const REQUEST_PSEUDO_HEADERS: ReadonlySet<string> = new Set([":authority", ":path", ":method", ":scheme"]);

function headerNames(p: Resource, names: unknown, at: Segments, reporter: Reporter, pseudo: ReadonlySet<string> = new Set()): string[] {
  const out: string[] = [];
  ((names as readonly string[] | undefined) ?? []).forEach((name, i) => {
    const lower = name.toLowerCase();
    if (lower.startsWith(":") && !pseudo.has(lower)) {
      const known = [...pseudo].join(", ");
      reporter.error(p, [...at, i], `"${name}" is no pseudo-header this list can log`, known === "" ? "list response headers by name; a response's status is response_code" : `use one of ${known}, or a header name`);
    } else if (!lower.startsWith(":") && !isHeaderName(lower)) {
      reporter.error(p, [...at, i], `"${name}" is not a header name`, "write a header name such as x-tenant");
    } else if (!out.includes(lower)) out.push(lower);
  });
  return out;
}

/** RFC 3986 reg-name or IP literal, with an optional port: printable, no spaces. */
const AUTHORITY = /^(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9\-._~%!$&'()*+,;=]+)(:[0-9]{1,5})?$/;
/** What grpc-js sends as a metadata key: lower-case letters, digits, `_`, `.` and `-`. */
const METADATA_KEY = /^[0-9a-z_.-]+$/;
/** What grpc-js sends as a text metadata value: printable ASCII. */
const METADATA_VALUE = /^[\x20-\x7e]*$/;
/** Headers gRPC sets itself or HTTP/2 forbids (connection-specific). */
const RESERVED_METADATA = new Set(["content-type", "te", "user-agent", "host", "connection", "keep-alive", "proxy-connection", "transfer-encoding", "upgrade"]);

function initialMetadata(p: Resource, list: unknown, at: Segments, reporter: Reporter): AccessLogServiceModel["metadata"] | undefined {
  const out: Array<readonly [string, string]> = [];
  let ok = true;
  ((list as readonly { key: string; value?: string }[] | undefined) ?? []).forEach((entry, i) => {
    const key = entry.key.toLowerCase();
    // grpc-js refuses these (its own call headers, HTTP/2's connection-specific ones) or carries binary for -bin.
    if (!METADATA_KEY.test(key) || key.endsWith("-bin") || key.startsWith("grpc-") || RESERVED_METADATA.has(key)) {
      reporter.error(p, [...at, i, "key"], `"${entry.key}" cannot be sent as gRPC metadata`, "use letters, digits, _, . and - in a name the call does not set itself (not grpc-*, content-type, te, user-agent, a connection header or a -bin name)");
      ok = false;
      return;
    }
    const value = entry.value ?? "";
    // The value may be a credential: the error never quotes it.
    if (!METADATA_VALUE.test(value)) {
      reporter.error(p, [...at, i, "value"], "the value holds characters gRPC metadata cannot carry (only printable ASCII: a line break from a YAML block scalar, a tab or a non-ASCII letter is refused)", "write the value on one line in quotes, without a trailing line break");
      ok = false;
      return;
    }
    out.push([key, value]);
  });
  return ok ? out : undefined;
}
