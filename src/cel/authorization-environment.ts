// The CEL environment for TrafficPolicy `rbac.policy.matchExpressions`: what is known of a
// request before it is forwarded, under the names of Envoy's attributes, which is what
// kgateway users write (`request.headers['x-role']`, `source.address`, `connection.mtls`).
// The config stage compiles every expression here to reject bad ones with their position;
// the proxy compiles them once per plan and evaluates them per request.
import type { Environment } from "@marcbachmann/cel-js";
import {
  CONNECTION_TLS_FIELDS,
  type CompiledBool,
  type ConnectionTlsActivation,
  REQUEST_FIELDS,
  ROUTE_FIELDS,
  type RequestActivation,
  type RouteActivation,
  compileBoolExpression,
  environmentOf,
} from "./environment.ts";

/**
 * Declared variables. CEL `int` fields are passed as BigInt, `google.protobuf.Timestamp` as a
 * Date. `request.headers` holds the request headers as the upstream gets them, credentials
 * included (this is not telemetry): node keeps the first of a repeated Authorization or
 * User-Agent and joins other repeated headers with `, `.
 */
export const AUTHORIZATION_VARIABLES = {
  request: { ...REQUEST_FIELDS, referer: "string" },
  source: {
    /**
     * The effective client IP, without a port: the trusted X-Forwarded-For client where the
     * listener trusts it, else the peer (the address allowedCIDRs and blockedCIDRs test).
     */
    address: "string",
    /** The connection's peer port. */
    port: "int",
  },
  destination: {
    /** The gateway's own IP the connection came in on. */
    address: "string",
    port: "int",
  },
  connection: { id: "int", ...CONNECTION_TLS_FIELDS },
  route: ROUTE_FIELDS,
  /**
   * Envoy's dynamic metadata, as far as Tollgate has any: the payload of the token a jwtAuth
   * verified, at `filter_metadata['envoy.filters.http.jwt_authn']['payload']` (kgateway's
   * payload_in_metadata). Numbers are doubles, as in a protobuf Struct.
   */
  metadata: { filter_metadata: "map<string, dyn>" },
} as const;

export interface AuthorizationActivation {
  readonly request: RequestActivation & { readonly referer: string };
  readonly source: { readonly address: string; readonly port: bigint };
  readonly destination: { readonly address: string; readonly port: bigint };
  readonly connection: ConnectionTlsActivation & { readonly id: bigint };
  readonly route: RouteActivation;
  readonly metadata: { readonly filter_metadata: Readonly<Record<string, unknown>> };
}

let environment: Environment | undefined;

export function compileAuthorizationExpression(expr: string): CompiledBool {
  environment ??= environmentOf(AUTHORIZATION_VARIABLES);
  return compileBoolExpression(environment, expr, "expression");
}

export const AUTHORIZATION_VARIABLE_NAMES = Object.keys(AUTHORIZATION_VARIABLES).join(", ");
