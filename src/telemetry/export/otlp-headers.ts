// OTEL_EXPORTER_OTLP_HEADERS and its per-signal variable, checked against what the chosen
// transport can send. A header the transport would refuse is left out with a warning
// instead: grpc-js throws while the exporter is built (which would stop the gateway), and
// Node's HTTP client would fail every export. Warnings name headers, never their values.
import { envString, parseKeyValueList, type Env } from "../env.ts";
import type { OtlpProtocol } from "./otlp-config.ts";

export interface ResolvedOtlpHeaders {
  readonly headers: Record<string, string>;
  readonly problems: string[];
}

/** RFC 9110 token characters. */
const HTTP_HEADER_NAME = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
/** Node's HTTP client refuses control characters other than tab, and anything above U+00FF. */
const HTTP_HEADER_VALUE = /^[\t\x20-\x7e\x80-\xff]*$/;
/** gRPC metadata keys, compared lower-cased as grpc-js stores them. */
const GRPC_METADATA_KEY = /^[0-9a-z_.-]+$/;
/** ASCII-valued gRPC metadata: printable characters and space only. */
const GRPC_METADATA_VALUE = /^[\x20-\x7e]*$/;
/**
 * Names the transport owns. HTTP/2 forbids connection-specific headers (RFC 9113 §8.2.2): grpc-js
 * accepts them as metadata, and every export then fails after thousands of retries. Over
 * HTTP/1.1 these would corrupt the framing Node writes.
 */
const GRPC_RESERVED = new Set(["connection", "keep-alive", "proxy-connection", "transfer-encoding", "upgrade", "te", "host", "content-type", "content-length"]);
const HTTP_RESERVED = new Set(["connection", "keep-alive", "proxy-connection", "transfer-encoding", "upgrade", "te", "content-length", "content-encoding", "expect"]);

export function resolveOtlpHeaders(env: Env, signalVariable: string, protocol: OtlpProtocol): ResolvedOtlpHeaders {
  const problems: string[] = [];
  const headers: Record<string, string> = {};
  for (const variable of ["OTEL_EXPORTER_OTLP_HEADERS", signalVariable]) {
    const parsed = parseKeyValueList(envString(env, variable));
    if (parsed.malformed.length > 0) {
      const which = parsed.malformed.length === 1 ? `item ${parsed.malformed[0]!}` : `items ${parsed.malformed.join(", ")}`;
      problems.push(`${variable}: ${which} not sent: not key=value with percent-encoding`);
    }
    for (const [name, value] of Object.entries(parsed.entries)) {
      const refusal = headerRefusal(name, value, protocol);
      // Header names are case-insensitive: the later variable's spelling replaces the earlier one.
      for (const existing of Object.keys(headers)) if (existing.toLowerCase() === name.toLowerCase()) delete headers[existing];
      if (refusal === undefined) headers[name] = value;
      else problems.push(`${variable}: header '${printable(name)}' not sent: ${refusal}`);
    }
  }
  return { headers, problems };
}

function headerRefusal(name: string, value: string, protocol: OtlpProtocol): string | undefined {
  if (protocol === "grpc") {
    const key = name.toLowerCase();
    if (!GRPC_METADATA_KEY.test(key)) return "a gRPC metadata key holds only a-z, 0-9, '-', '_' and '.'";
    if (GRPC_RESERVED.has(key) || key.startsWith("grpc-")) return "the gRPC transport sets this header itself";
    if (key.endsWith("-bin")) return "binary (-bin) gRPC metadata cannot be given as text";
    if (!GRPC_METADATA_VALUE.test(value)) return "its value holds a character gRPC text metadata cannot carry (only printable ASCII)";
    return undefined;
  }
  if (!HTTP_HEADER_NAME.test(name)) return "not a valid HTTP header name";
  if (HTTP_RESERVED.has(name.toLowerCase())) return "the HTTP transport sets this header itself";
  if (!HTTP_HEADER_VALUE.test(value)) return "its value holds a control character or one above U+00FF";
  return undefined;
}

/** A name as a warning can show it: control characters escaped so a log line stays one line. */
function printable(name: string): string {
  return JSON.stringify(name).slice(1, -1);
}
