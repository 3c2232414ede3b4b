// A rule's rbac (kgateway TrafficPolicy `rbac`), decided before the request is forwarded: after
// CORS and ExternalAuth, before the local rate limit, as kgateway stages Envoy's rbac filter.
// Blocked client ranges are refused whatever the action; otherwise the policy matches when the
// client is in an allowed range (if any are listed) and one expression is true (if any are).
import type { ParseResult } from "@marcbachmann/cel-js";
import { type AuthorizationActivation, compileAuthorizationExpression } from "../cel/authorization-environment.ts";
import type { AuthorizationModel } from "../config/model.ts";
import type { CompiledRule } from "../plan/types.ts";
// matches() patterns run with JavaScript's RegExp: the linear-time fallback must be on.
import "../router/linear-regex.ts";
import { connectionIdOf } from "../telemetry/logs/connection-id.ts";
import { celConnectionTls, downstreamTlsOf } from "../telemetry/logs/downstream-tls.ts";
import type { OutgoingHeaders } from "../telemetry/hooks.ts";
import type { AuthGrant } from "./auth-grant.ts";
import { applyIdentity, queryShown } from "./authenticated-identity.ts";
import { utf8Text } from "./header-text.ts";
import { type ClientIp, clientIpOf } from "./client-ip.ts";
import { ClientRanges } from "./client-ranges.ts";
import type { Exchange } from "./exchange.ts";
import { Failure } from "./failures.ts";
import { downstreamLocalOf } from "./facts.ts";
import { REQUEST_ID_HEADER } from "./request-id.ts";

export class AuthorizationPolicy {
  /** `namespace/name` of the TrafficPolicy. */
  readonly policy: string;
  readonly #allowOnMatch: boolean;
  readonly #programs: readonly ParseResult[];
  readonly #allowed: ClientRanges | undefined;
  readonly #blocked: ClientRanges | undefined;

  constructor(model: AuthorizationModel) {
    this.policy = model.policy;
    this.#allowOnMatch = model.action === "Allow";
    // The config stage compiled each expression already; one that fails here is a bug.
    this.#programs = model.expressions.map((expr) => {
      const compiled = compileAuthorizationExpression(expr);
      if (!compiled.ok) throw new Error(`rbac expression of ${model.policy} does not compile: ${compiled.message}`);
      return compiled.program;
    });
    this.#allowed = model.allowedCidrs.length === 0 ? undefined : new ClientRanges(model.allowedCidrs);
    this.#blocked = model.blockedCidrs.length === 0 ? undefined : new ClientRanges(model.blockedCidrs);
  }

  /** Whether the request may go on; `grant` is what an ExternalAuth check added to its headers. */
  allows(exchange: Exchange, rule: CompiledRule, grant: AuthGrant | undefined): boolean {
    const client = clientIpOf(exchange);
    if (this.#blocked?.has(client) === true) return false;
    // A policy of blocked ranges alone lets the rest through, whatever its action.
    if (this.#programs.length === 0 && this.#allowed === undefined) return true;
    let matched = this.#allowed === undefined || this.#allowed.has(client);
    if (matched && this.#programs.length > 0) matched = this.#anyTrue(activationOf(exchange, client, rule, grant));
    return matched === this.#allowOnMatch;
  }

  /**
   * As Envoy's CEL matcher: an expression that fails at run time (a header the request does
   * not have, read with `[]` rather than tested with `in`) does not match.
   */
  #anyTrue(activation: AuthorizationActivation): boolean {
    for (const program of this.#programs) {
      try {
        if (program(activation) === true) return true;
      } catch {
        // no match
      }
    }
    return false;
  }
}

function activationOf(exchange: Exchange, client: ClientIp, rule: CompiledRule, grant: AuthGrant | undefined): AuthorizationActivation {
  const req = exchange.req;
  const socket = req.socket;
  const local = downstreamLocalOf(socket);
  const headers = requestHeaders(exchange, grant);
  // As the upstream will see it: without an API key the apiKeyAuth took off.
  const query = queryShown(exchange);
  return {
    request: {
      method: exchange.method,
      path: query === "" ? exchange.path : `${exchange.path}?${query}`,
      url_path: exchange.path,
      query,
      host: exchange.hostHeader ?? "",
      scheme: exchange.scheme,
      protocol: `HTTP/${exchange.protocolVersion}`,
      headers,
      useragent: headers["user-agent"] ?? "",
      referer: headers["referer"] ?? "",
      id: headers[REQUEST_ID_HEADER] ?? "",
      time: new Date(exchange.startTimeMs),
    },
    source: { address: client.address, port: BigInt(exchange.peerPort) },
    destination: { address: local.address, port: BigInt(local.port) },
    connection: {
      id: BigInt(connectionIdOf(socket)),
      ...celConnectionTls(downstreamTlsOf(socket)),
    },
    metadata: { filter_metadata: jwtMetadata(exchange) },
    route: {
      name: rule.route.ref.name,
      namespace: rule.route.ref.namespace,
      rule: rule.ruleName,
      gateway: `${rule.gateway.ref.namespace}/${rule.gateway.ref.name}`,
      listener: rule.listener.name,
    },
  };
}

/**
 * The headers as received, as the authentication policies left them (applyIdentity), with what an ExternalAuth check set or removed (the rule's header
 * filters run later, as in Envoy): of a repeated Authorization or User-Agent node keeps the
 * first, which is the one forwarded, so the decision is never on a value that is not.
 */
function requestHeaders(exchange: Exchange, grant: AuthGrant | undefined): Record<string, string> {
  const received = exchange.req.headers;
  const headers: OutgoingHeaders = {};
  for (const name in received) {
    const value = received[name];
    if (value !== undefined) headers[name] = value;
  }
  applyIdentity(exchange, headers);
  grant?.applyTo(headers);
  const out: Record<string, string> = {};
  for (const name in headers) {
    const value = headers[name]!;
    // Node reads header bytes as Latin-1; CEL compares text, so UTF-8 bytes (a client's
    // `José`, a basicAuth user) are read as the text an expression would write.
    out[name] = utf8Text(typeof value === "string" ? value : value.join(", "));
  }
  return out;
}

const NO_METADATA: Readonly<Record<string, unknown>> = Object.freeze({});

/** Where Envoy's jwt_authn puts a verified payload under kgateway's payload_in_metadata. */
function jwtMetadata(exchange: Exchange): Readonly<Record<string, unknown>> {
  const payload = exchange.jwtGrant?.payload;
  return payload === undefined ? NO_METADATA : { "envoy.filters.http.jwt_authn": { payload } };
}

/** The answer to a refused request: no policy name reaches the client. */
export const rbacDenied = new Failure("403", "", 403, "rbac_access_denied", "access denied by the route's authorization policy", false, false);

/** Envoy's response code details for an rbac denial, naming the policy (never sent to the client). */
export function rbacDenialDetails(authorization: AuthorizationPolicy): string {
  return `rbac_access_denied_matched_policy[${authorization.policy}]`;
}
