// The one CEL environment for access-log filters (TelemetryPolicy `accessLogs.matches`,
// kgateway `accessLog[].filter.celFilter.match`). The config stage compiles every filter
// here to reject bad ones with their position; telemetry compiles them once per plan with
// the same environment and evaluates the program per finished request.
import { Environment, evaluate } from "@marcbachmann/cel-js";
import type { ParseResult } from "@marcbachmann/cel-js";

/** Request fields every CEL environment declares (see ACCESS_LOG_VARIABLES for their types). */
export const REQUEST_FIELDS = {
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
  time: "google.protobuf.Timestamp",
} as const;

/** What the client's TLS handshake settled, in every CEL environment's `connection`. */
export const CONNECTION_TLS_FIELDS = {
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
} as const;

/** HTTPRoute name, namespace, rule name or index, `namespace/name` of gateway, listener name. */
export const ROUTE_FIELDS = { name: "string", namespace: "string", rule: "string", gateway: "string", listener: "string" } as const;

/**
 * Declared variables. CEL `int` fields must be passed as BigInt, `google.protobuf.Duration`
 * via `celDuration(ms)`, `google.protobuf.Timestamp` as a Date. Header maps: lower-cased
 * names, values joined with `, ` when repeated.
 */
export const ACCESS_LOG_VARIABLES = {
  request: {
    ...REQUEST_FIELDS,
    /** Request body bytes received. */
    size: "int",
    duration: "google.protobuf.Duration",
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
  connection: { id: "int", client_address: "string", client_port: "int", ...CONNECTION_TLS_FIELDS },
  upstream: {
    /** `host:port` of the endpoint that served the request; '' when none. */
    address: "string",
    port: "int",
  },
  route: { ...ROUTE_FIELDS, backend: "string" },
} as const;

export interface RequestActivation {
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
  readonly time: Date;
}

export interface ConnectionTlsActivation {
  readonly mtls: boolean;
  readonly requested_server_name: string;
  readonly tls_version: string;
  readonly subject_peer_certificate: string;
  readonly uri_san_peer_certificate: string;
  readonly dns_san_peer_certificate: string;
  readonly sha256_peer_certificate_digest: string;
}

export interface RouteActivation {
  readonly name: string;
  readonly namespace: string;
  readonly rule: string;
  readonly gateway: string;
  readonly listener: string;
}

/** The activation a program expects; see ACCESS_LOG_VARIABLES for the CEL types. */
export interface AccessLogActivation {
  readonly request: RequestActivation & { readonly size: bigint; readonly duration: unknown };
  readonly response: {
    readonly code: bigint;
    readonly code_details: string;
    readonly flags: string;
    readonly headers: Readonly<Record<string, string>>;
    readonly size: bigint;
    readonly grpc_status?: bigint;
  };
  readonly connection: ConnectionTlsActivation & { readonly id: bigint; readonly client_address: string; readonly client_port: bigint };
  readonly upstream: { readonly address: string; readonly port: bigint };
  readonly route: RouteActivation & { readonly backend: string };
}

/** A compiled filter: call with an activation; true means "log this request". */
export type AccessLogFilterProgram = ParseResult;

let environment: Environment | undefined;

export function accessLogEnvironment(): Environment {
  environment ??= environmentOf(ACCESS_LOG_VARIABLES);
  return environment;
}

/** An environment declaring each of `variables` as an object of typed fields. */
export function environmentOf(variables: Readonly<Record<string, Readonly<Record<string, string>>>>): Environment {
  let env = new Environment({ enableOptionalTypes: true });
  for (const [name, schema] of Object.entries(variables)) {
    env = env.registerVariable({ name, schema: { ...schema } });
  }
  return env;
}

// The library does not export its Duration class; take the constructor from a value.
const DurationCtor = (evaluate('duration("0s")') as object).constructor as new (seconds: bigint, nanos: number) => object;

/** A CEL duration value for `request.duration`, from milliseconds. */
export function celDuration(ms: number): unknown {
  const whole = Math.floor(ms / 1000);
  return new DurationCtor(BigInt(whole), Math.round((ms - whole * 1000) * 1e6));
}

export type CompiledBool = { ok: true; program: ParseResult } | { ok: false; message: string; offset?: number };

export function compileAccessLogFilter(expr: string): CompiledBool {
  return compileBoolExpression(accessLogEnvironment(), expr, "filter");
}

/** Parses and type-checks `expr` in `env`; it must be a bool (or dyn) expression. */
export function compileBoolExpression(env: Environment, expr: string, what: string): CompiledBool {
  let program: ParseResult;
  try {
    program = env.parse(expr);
  } catch (err) {
    return failure(err);
  }
  const checked = program.check();
  if (!checked.valid) return failure(checked.error);
  if (checked.type !== "bool" && checked.type !== "dyn") {
    return { ok: false, message: `the ${what} must be a bool expression, this one is ${checked.type ?? "unknown"}` };
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
