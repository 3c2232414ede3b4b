// Renders parsed Envoy command-operator templates (src/format/envoy-operators.ts) against
// a finished request. Each part compiles once per plan into a small function; rendering
// happens at export time from the copied RequestFacts, never on the request path.
// Credentials: %REQ(Authorization)%, %REQ(Proxy-Authorization)%, %REQ(Cookie)%,
// %RESP(Set-Cookie)% and the headers TOLLGATE_SENSITIVE_HEADERS adds render `REDACTED`
// unless TOLLGATE_LOGS_ALLOW_SENSITIVE_HEADERS names the header.
import { hostname } from "node:os";
import type { EnvoyFormatPart, SimpleOperator } from "../../format/envoy-operators.ts";
import { REDACTED, redactQuery } from "../trace/attributes.ts";
import { isSensitiveHeader } from "../../config/sensitive.ts";
import type { RequestFacts } from "./facts.ts";

export type Render = (f: RequestFacts) => string;

/** Collects the header names a template reads, so the end hook captures only those. */
export interface HeaderIndex {
  request(name: string): number;
  response(name: string): number;
}

const HOST = hostname();
const UPSTREAM_SERVICE_TIME = "x-envoy-upstream-service-time";

export function withPort(address: string, port: number): string {
  if (address === "") return "-";
  const a = address.includes(":") ? `[${address}]` : address;
  return port > 0 ? `${a}:${port}` : a;
}

export function pathWithQuery(f: RequestFacts): string {
  return f.query === "" ? f.path : `${f.path}?${redactQuery(f.query)}`;
}

export function protocolName(f: RequestFacts): string {
  return `HTTP/${f.protocolVersion}`;
}

export function responseCodeDetails(f: RequestFacts): string {
  if (f.status === 0) return f.clientAborted ? "downstream_remote_disconnect" : (f.errorType ?? "-");
  // A health check is answered before routing, with details of its own.
  if (f.localReplyDetails !== undefined) return f.localReplyDetails;
  if (!f.matched) return "route_not_found";
  if (f.upstreamAttempts === 0) return "direct_response";
  if (f.errorType !== undefined && f.responseFlags !== "") return f.errorType;
  return "via_upstream";
}

let isoSecond = Number.NaN;
let isoPrefix = "";

/** RFC 3339 UTC with milliseconds, as Envoy's default START_TIME; the date and time up to the second are reused within a second. */
export function isoTime(ms: number): string {
  // Date keeps whole milliseconds, truncated toward zero.
  ms = Math.trunc(ms);
  const second = Math.floor(ms / 1000);
  if (second !== isoSecond) {
    const iso = new Date(second * 1000).toISOString();
    if (iso.length !== 24) return new Date(ms).toISOString();
    isoSecond = second;
    isoPrefix = iso.slice(0, 20);
  }
  const millis = ms - second * 1000;
  return isoPrefix + (millis < 10 ? "00" : millis < 100 ? "0" : "") + millis + "Z";
}

function pad(n: number, width: number): string {
  return String(n).padStart(width, "0");
}

/** The strftime subset Envoy users write: %Y %m %d %H %M %S %j %s %z %Z %%, and %1f..%9f (fractional seconds). */
export function strftime(ms: number, format: string): string {
  const d = new Date(ms);
  const frac = (ms % 1000) / 1000;
  return format.replace(/%([1-9]?f|[YmdHMSjszZ%])/g, (_m, spec: string) => {
    switch (spec) {
      case "Y":
        return String(d.getUTCFullYear());
      case "m":
        return pad(d.getUTCMonth() + 1, 2);
      case "d":
        return pad(d.getUTCDate(), 2);
      case "H":
        return pad(d.getUTCHours(), 2);
      case "M":
        return pad(d.getUTCMinutes(), 2);
      case "S":
        return pad(d.getUTCSeconds(), 2);
      case "j":
        return pad(Math.floor((ms - Date.UTC(d.getUTCFullYear(), 0, 1)) / 86_400_000) + 1, 3);
      case "s":
        return String(Math.floor(ms / 1000));
      case "z":
        return "+0000";
      case "Z":
        return "UTC";
      case "%":
        return "%";
      default: {
        const digits = spec.length === 2 ? Number(spec[0]) : 9;
        return frac.toFixed(9).slice(2, 2 + digits);
      }
    }
  });
}

function truncate(render: Render, maxLength: number | undefined): Render {
  if (maxLength === undefined) return render;
  return (f) => render(f).slice(0, maxLength);
}

/**
 * From the upstream's first response byte to the last byte sent downstream, as Envoy's
 * %RESPONSE_TX_DURATION%: -1 without an upstream answer, or one that did not reach its end.
 */
export function responseTxMs(f: RequestFacts): number {
  if (f.upstreamRxStartMs < 0 || f.responseStartMs < 0 || !f.responseWhole) return -1;
  return Math.max(0, f.durationMs - f.upstreamRxStartMs);
}

function operator(name: SimpleOperator): Render {
  switch (name) {
    case "RESPONSE_CODE":
      return (f) => String(f.status);
    case "RESPONSE_CODE_DETAILS":
      return responseCodeDetails;
    case "RESPONSE_FLAGS":
      return (f) => (f.responseFlags === "" ? "-" : f.responseFlags);
    case "DURATION":
      return (f) => String(Math.round(f.durationMs));
    case "REQUEST_DURATION":
      return (f) => (f.requestDurationMs < 0 ? "-" : String(Math.round(f.requestDurationMs)));
    case "RESPONSE_DURATION":
      return (f) => (f.responseStartMs < 0 ? "-" : String(Math.round(f.responseStartMs)));
    case "REQUEST_TX_DURATION":
      return (f) => (f.upstreamTxEndMs < 0 ? "-" : String(Math.round(f.upstreamTxEndMs)));
    case "RESPONSE_TX_DURATION":
      return (f) => {
        const ms = responseTxMs(f);
        return ms < 0 ? "-" : String(Math.round(ms));
      };
    case "PROTOCOL":
      return protocolName;
    case "UPSTREAM_PROTOCOL":
      return (f) => (f.upstreamAttempts > 0 ? "HTTP/1.1" : "-");
    case "BYTES_RECEIVED":
      return (f) => String(f.bytesReceived);
    case "BYTES_SENT":
      return (f) => String(f.bytesSent);
    case "UPSTREAM_HOST":
      return (f) => f.upstreamHost ?? "-";
    case "UPSTREAM_CLUSTER":
      return (f) => f.backendName ?? "-";
    case "UPSTREAM_LOCAL_ADDRESS":
      return (f) => withPort(f.upstreamLocalAddress, f.upstreamLocalPort);
    case "UPSTREAM_REQUEST_ATTEMPT_COUNT":
      return (f) => String(f.upstreamAttempts);
    case "UPSTREAM_TRANSPORT_FAILURE_REASON":
      return (f) => (f.status === 0 || f.status >= 500 ? (f.errorType ?? "-") : "-");
    case "ROUTE_NAME":
      return (f) => f.rule?.routeKey ?? "-";
    case "TRACE_ID":
      return (f) => (f.traceId === "" ? "-" : f.traceId);
    case "SPAN_ID":
      return (f) => (f.spanId === "" ? "-" : f.spanId);
    case "DOWNSTREAM_REMOTE_ADDRESS":
      return (f) => withPort(f.peerAddress, f.peerPort);
    case "DOWNSTREAM_REMOTE_ADDRESS_WITHOUT_PORT":
      return (f) => f.peerAddress || "-";
    case "DOWNSTREAM_REMOTE_PORT":
      return (f) => (f.peerPort > 0 ? String(f.peerPort) : "-");
    case "DOWNSTREAM_DIRECT_REMOTE_ADDRESS":
      return (f) => withPort(f.directPeerAddress, f.directPeerPort);
    case "DOWNSTREAM_DIRECT_REMOTE_ADDRESS_WITHOUT_PORT":
      return (f) => f.directPeerAddress || "-";
    case "DOWNSTREAM_DIRECT_REMOTE_PORT":
      return (f) => (f.directPeerPort > 0 ? String(f.directPeerPort) : "-");
    case "DOWNSTREAM_LOCAL_ADDRESS":
      return (f) => withPort(f.localAddress, f.localPort);
    case "DOWNSTREAM_LOCAL_ADDRESS_WITHOUT_PORT":
      return (f) => f.localAddress || "-";
    case "DOWNSTREAM_LOCAL_PORT":
      return (f) => (f.localPort > 0 ? String(f.localPort) : "-");
    case "CONNECTION_ID":
      return (f) => String(f.connectionId);
    case "REQUESTED_SERVER_NAME":
      return (f) => f.downstreamTls?.serverName || "-";
    case "DOWNSTREAM_TLS_VERSION":
      return (f) => f.downstreamTls?.version || "-";
    case "DOWNSTREAM_TLS_CIPHER":
      return (f) => f.downstreamTls?.cipher || "-";
    case "DOWNSTREAM_PEER_SUBJECT":
      return (f) => f.downstreamTls?.peer?.subject || "-";
    case "DOWNSTREAM_PEER_ISSUER":
      return (f) => f.downstreamTls?.peer?.issuer || "-";
    case "DOWNSTREAM_PEER_URI_SAN":
      return (f) => f.downstreamTls?.peer?.uriSans.join(",") || "-";
    case "DOWNSTREAM_PEER_DNS_SAN":
      return (f) => f.downstreamTls?.peer?.dnsSans.join(",") || "-";
    case "DOWNSTREAM_PEER_FINGERPRINT_256":
      return (f) => f.downstreamTls?.peer?.sha256 || "-";
    case "DOWNSTREAM_PEER_SERIAL":
      return (f) => f.downstreamTls?.peer?.serial || "-";
    case "HOSTNAME":
      return () => HOST;
  }
}

function requestHeader(header: string, withoutQuery: boolean, index: HeaderIndex, allowSensitive: ReadonlySet<string>): (f: RequestFacts) => string | undefined {
  switch (header) {
    case ":method":
      return (f) => f.method;
    case ":path":
      return withoutQuery ? (f) => f.path : pathWithQuery;
    case ":scheme":
      return (f) => f.scheme;
    case ":authority":
      header = "host";
      break;
  }
  const i = index.request(header);
  if (isSensitiveHeader(header) && !allowSensitive.has(header)) return (f) => (f.requestHeaders[i] === undefined ? undefined : REDACTED);
  if (!withoutQuery) return (f) => f.requestHeaders[i];
  return (f) => {
    const v = f.requestHeaders[i];
    const q = v === undefined ? -1 : v.indexOf("?");
    return q < 0 ? v : v!.slice(0, q);
  };
}

/** One render per part: the OTLP encoder writes them one after another without joining them. */
export function compileTemplateParts(parts: readonly EnvoyFormatPart[], index: HeaderIndex, allowSensitive: ReadonlySet<string>): readonly Render[] {
  return parts.map((p): Render => {
    switch (p.kind) {
      case "literal": {
        const text = p.text;
        return () => text;
      }
      case "operator":
        return truncate(operator(p.name), p.maxLength);
      case "startTime": {
        const format = p.format;
        return format === undefined ? (f) => isoTime(f.startTimeMs) : (f) => strftime(f.startTimeMs, format);
      }
      case "requestHeader":
      case "responseHeader":
      case "responseTrailer": {
        const value = compileHeaderValue(p, index, allowSensitive);
        return (f) => value(f) ?? "-";
      }
    }
  });
}

export type HeaderPart = Extract<EnvoyFormatPart, { kind: "requestHeader" | "responseHeader" | "responseTrailer" }>;

/** A header operator's value, truncated, or undefined when the header (and its fallback) is absent: text prints `-` for it. */
export function compileHeaderValue(p: HeaderPart, index: HeaderIndex, allowSensitive: ReadonlySet<string>): (f: RequestFacts) => string | undefined {
  // Trailers are not proxied separately; a trailer reads as absent.
  if (p.kind === "responseTrailer") return () => undefined;
  const read = (h: string): ((f: RequestFacts) => string | undefined) => {
    if (p.kind === "requestHeader") return requestHeader(h, p.withoutQuery, index, allowSensitive);
    // Envoy's router sets this header from its own measure, whatever the upstream sent.
    if (h === UPSTREAM_SERVICE_TIME) return (f) => (f.upstreamServiceTimeMs < 0 ? undefined : String(f.upstreamServiceTimeMs));
    const i = index.response(h);
    if (isSensitiveHeader(h) && !allowSensitive.has(h)) return (f) => (f.responseHeaders[i] === undefined ? undefined : REDACTED);
    return (f) => f.responseHeaders[i];
  };
  const primary = read(p.header);
  const fallback = p.fallback === undefined ? undefined : read(p.fallback);
  const max = p.maxLength;
  const value = fallback === undefined ? primary : (f: RequestFacts): string | undefined => primary(f) ?? fallback(f);
  if (max === undefined) return value;
  return (f) => value(f)?.slice(0, max);
}

/** The parts' renders as one string. */
export function joinRenders(renders: readonly Render[]): Render {
  if (renders.length === 1) return renders[0]!;
  return (f) => {
    let out = "";
    for (let i = 0; i < renders.length; i++) out += renders[i]!(f);
    return out;
  };
}

/** Envoy's default access-log format, used as the body when a log configures none. */
export const DEFAULT_BODY_TEMPLATE =
  '[%START_TIME%] "%REQ(:METHOD)% %REQ(X-ENVOY-ORIGINAL-PATH?:PATH)% %PROTOCOL%" %RESPONSE_CODE% %RESPONSE_FLAGS% %BYTES_RECEIVED% %BYTES_SENT% %DURATION% %RESP(X-ENVOY-UPSTREAM-SERVICE-TIME)% "%REQ(X-FORWARDED-FOR)%" "%REQ(USER-AGENT)%" "%REQ(X-REQUEST-ID)%" "%REQ(:AUTHORITY)%" "%UPSTREAM_HOST%"';
