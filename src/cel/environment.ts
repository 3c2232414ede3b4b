// The one CEL environment for access-log filters (TelemetryPolicy `accessLogs.matches`,
// kgateway `accessLog[].filter.celFilter.match`). The config stage compiles every filter
// here to reject bad ones with their position; telemetry compiles them once per plan with
// the same environment and evaluates the program per finished request.
import { Environment, evaluate } from "@marcbachmann/cel-js";
import type { ParseResult } from "@marcbachmann/cel-js";

/**
 * Declared variables. CEL `int` fields must be passed as BigInt, `google.protobuf.Duration`
 * via `celDuration(ms)`, `google.protobuf.Timestamp` as a Date. Header maps: lower-cased
 * names, values joined with `, ` when repeated.
 */
export const ACCESS_LOG_VARIABLES = {
  request: {
    method: "string",
    /** Path with query, as received. */
    path: "string",
    url_path: "string",
    /** Raw query without `?`, '' when absent. */
    query: "string",
    host: "string",
    scheme: "string",
    /** HTTP/1.0, HTTP/1.1, HTTP/2. */
    protocol: "string",
    headers: "map<string, string>",
    useragent: "string",
    id: "string",
    /** Request body bytes received. */
    size: "int",
    duration: "google.protobuf.Duration",
    time: "google.protobuf.Timestamp",
  },
  response: {
    code: "int",
    code_details: "string",
    /** Envoy-style response flags, comma separated; '' when none. */
    flags: "string",
    headers: "map<string, string>",
    size: "int",
    /** Present only for gRPC responses: test with `has(response.grpc_status)`. */
    grpc_status: "int",
  },
  connection: {
    id: "int",
    client_address: "string",
    client_port: "int",
    /** Whether the client presented a certificate that verified (a port with client validation). */
    mtls: "bool",
    /** The SNI name of the client's TLS handshake; '' on plain HTTP or without SNI. */
    requested_server_name: "string",
    /** `TLSv1.3`, `TLSv1.2`; '' on plain HTTP. */
    tls_version: "string",
    /** The subject (RFC 2253) of the certificate the client presented, verified or not (test `mtls` too); '' without one. */
    subject_peer_certificate: "string",
    /** The first URI subjectAltName of the client certificate (a SPIFFE ID); ''. */
    uri_san_peer_certificate: "string",
    /** The first DNS subjectAltName of the client certificate; ''. */
    dns_san_peer_certificate: "string",
    /** SHA-256 of the client certificate, lower-case hex; ''. */
    sha256_peer_certificate_digest: "string",
  },
  upstream: {
    /** `host:port` of the endpoint that served the request; '' when none. */
    address: "string",
    port: "int",
  },
  route: {
    /** HTTPRoute name, namespace, rule name or index, `namespace/name` of gateway, listener name, backend name. */
    name: "string",
    namespace: "string",
    rule: "string",
    gateway: "string",
    listener: "string",
    backend: "string",
  },
} as const;

/** The activation a program expects; see ACCESS_LOG_VARIABLES for the CEL types. */
export interface AccessLogActivation {
  readonly request: {
    readonly method: string;
    readonly path: string;
    readonly url_path: string;
    readonly query: string;
    readonly host: string;
    readonly scheme: string;
    readonly protocol: string;
    readonly headers: Readonly<Record<string, string>>;
    readonly useragent: string;
    readonly id: string;
    readonly size: bigint;
    readonly duration: unknown;
    readonly time: Date;
  };
  readonly response: {
    readonly code: bigint;
    readonly code_details: string;
    readonly flags: string;
    readonly headers: Readonly<Record<string, string>>;
    readonly size: bigint;
    readonly grpc_status?: bigint;
  };
  readonly connection: {
    readonly id: bigint;
    readonly client_address: string;
    readonly client_port: bigint;
    readonly mtls: boolean;
    readonly requested_server_name: string;
    readonly tls_version: string;
    readonly subject_peer_certificate: string;
    readonly uri_san_peer_certificate: string;
    readonly dns_san_peer_certificate: string;
    readonly sha256_peer_certificate_digest: string;
  };
  readonly upstream: { readonly address: string; readonly port: bigint };
  readonly route: {
    readonly name: string;
    readonly namespace: string;
    readonly rule: string;
    readonly gateway: string;
    readonly listener: string;
    readonly backend: string;
  };
}

/** A compiled filter: call with an activation; true means "log this request". */
export type AccessLogFilterProgram = ParseResult;

let environment: Environment | undefined;

export function accessLogEnvironment(): Environment {
  if (environment === undefined) {
    let env = new Environment({ enableOptionalTypes: true });
    for (const [name, schema] of Object.entries(ACCESS_LOG_VARIABLES)) {
      env = env.registerVariable({ name, schema: { ...schema } });
    }
    environment = env;
  }
  return environment;
}

// The library does not export its Duration class; take the constructor from a value.
const DurationCtor = (evaluate('duration("0s")') as object).constructor as new (seconds: bigint, nanos: number) => object;

/** A CEL duration value for `request.duration`, from milliseconds. */
export function celDuration(ms: number): unknown {
  const whole = Math.floor(ms / 1000);
  return new DurationCtor(BigInt(whole), Math.round((ms - whole * 1000) * 1e6));
}

export function compileAccessLogFilter(
  expr: string,
): { ok: true; program: AccessLogFilterProgram } | { ok: false; message: string; offset?: number } {
  let program: ParseResult;
  try {
    program = accessLogEnvironment().parse(expr);
  } catch (err) {
    return failure(err);
  }
  const checked = program.check();
  if (!checked.valid) return failure(checked.error);
  if (checked.type !== "bool" && checked.type !== "dyn") {
    return { ok: false, message: `the filter must be a bool expression, this one is ${checked.type ?? "unknown"}` };
  }
  return { ok: true, program };
}

function failure(err: unknown): { ok: false; message: string; offset?: number } {
  const e = err as { message?: string; summary?: string; range?: { start: number } } | undefined;
  const text = e?.summary ?? e?.message ?? String(err);
  const message = text.split("\n")[0]!.trim();
  const offset = e?.range?.start;
  return offset === undefined ? { ok: false, message } : { ok: false, message, offset };
}
