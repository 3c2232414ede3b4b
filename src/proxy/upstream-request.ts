// What a matched rule sends upstream: which backend, which headers, which path. Shared by
// plain requests and upgrades.
import type { CompiledEndpoint, CompiledMatch, CompiledRule, WeightedBackend } from "../plan/types.ts";
import type { OutgoingHeaders } from "../telemetry/hooks.ts";
import { ErrorType, Flag } from "./errors.ts";
import type { AuthGrant } from "./auth-grant.ts";
import type { Exchange } from "./exchange.ts";
import { type RequestFacts, connectionScheme } from "./facts.ts";
import { type ProxyFilters, applyHeaderOps, rewritePath } from "./filters.ts";
import { Failure } from "./failures.ts";
import { buildUpstreamHeaders } from "./headers.ts";
import { applyIdentity } from "./authenticated-identity.ts";

const ORIGINAL_PATH = "x-envoy-original-path";

/** A rule that cannot reach any upstream. */
export const RouteRefusals = {
  noBackend: new Failure("500", Flag.noCluster, 500, "no_backend", "the matched rule has no usable backendRefs", false, false),
  unresolvedBackend: new Failure("500", Flag.noCluster, 500, "unresolved_backend", "the backendRef picked for this request does not resolve (see the config warnings)", false, false),
  noEndpoint: new Failure(ErrorType.noHealthyUpstream, Flag.noHealthyUpstream, 503, "no_healthy_upstream", "no upstream endpoint is available for the matched rule", false, false),
} as const;

/** The weighted backend for this request, or why there is none (Gateway API: no backends → 500). */
export function chooseBackend(exchange: Exchange, rule: CompiledRule): WeightedBackend | Failure {
  const set = rule.backends;
  if (set.entries.length === 0) return RouteRefusals.noBackend;
  const chosen = set.pick();
  if (chosen === undefined) return RouteRefusals.noEndpoint;
  exchange.backend = chosen.backend;
  if (chosen.backend.endpoints.length === 0) return chosen.backend.unresolved ? RouteRefusals.unresolvedBackend : RouteRefusals.noEndpoint;
  return chosen;
}

/**
 * The one outgoing header object: forwarded headers, then an ExternalAuth service's, then rule
 * filters, then backend filters.
 * The Exchange keeps it: access logs show the request as it was forwarded.
 */
export function upstreamHeaders(exchange: Exchange, ruleFilters: ProxyFilters, backendFilters: ProxyFilters, grant: AuthGrant | undefined): OutgoingHeaders {
  const headers = forwardingHeaders(exchange);
  // An ExternalAuth service's header changes come first, then the route's own filters.
  if (grant !== undefined) grant.applyTo(headers);
  if (ruleFilters.requestHeaders !== undefined) applyHeaderOps(ruleFilters.requestHeaders, headers);
  if (backendFilters.requestHeaders !== undefined) applyHeaderOps(backendFilters.requestHeaders, headers);
  const hostname = backendFilters.rewrite?.hostname ?? ruleFilters.rewrite?.hostname;
  if (hostname !== undefined) headers.host = hostname;
  exchange.forwardedHeaders = headers;
  return headers;
}

/**
 * TrafficPolicy autoHostRewrite: the Host each attempt sends when it applies (the one the
 * filters left, for an endpoint with no name: a Service's); undefined when it does not: off, or a
 * URLRewrite hostname set Host (which wins, as kgateway documents).
 */
export function autoHostBase(ruleFilters: ProxyFilters, backendFilters: ProxyFilters, headers: OutgoingHeaders): { readonly host: string | string[] | undefined } | undefined {
  if (!ruleFilters.autoHostRewrite || (backendFilters.rewrite?.hostname ?? ruleFilters.rewrite?.hostname) !== undefined) return undefined;
  return { host: headers.host };
}

/** The attempt's Host: the chosen endpoint's name (a Backend's fqdn or IP), else the one the filters left. */
export function rewriteHostFor(endpoint: CompiledEndpoint, base: { readonly host: string | string[] | undefined }, headers: OutgoingHeaders): void {
  const host = endpoint.dnsName ?? base.host;
  if (host === undefined) delete headers.host;
  else headers.host = host;
}

/**
 * The received headers with the gateway's forwarding rules applied (hop-by-hop headers out,
 * X-Forwarded-* and Host as the listener's trust settings make them), before any filter.
 */
export function forwardingHeaders(exchange: Exchange): OutgoingHeaders {
  const headers = buildUpstreamHeaders(exchange.req.headers, exchange.listener.settings, exchange.peerAddress, connectionScheme(exchange.req.socket), exchange.hostHeader);
  // Set by the gateway after the forwarding rules, so kept where a client's X-Envoy-* is
  // dropped, and replacing what a trusted proxy sent.
  applyIdentity(exchange, headers);
  return headers;
}

/**
 * path?query for the upstream: the received target unless a URLRewrite changes the path.
 * A path rewrite leaves the received target in `headers` as X-Envoy-Original-Path, as Envoy
 * does.
 */
export function upstreamTarget(
  facts: RequestFacts,
  match: CompiledMatch,
  ruleFilters: ProxyFilters,
  backendFilters: ProxyFilters,
  headers: OutgoingHeaders,
): string {
  const rulePath = ruleFilters.rewrite?.path;
  const backendPath = backendFilters.rewrite?.path;
  if (rulePath === undefined && backendPath === undefined) return facts.target;
  let path = facts.path;
  if (rulePath !== undefined) path = rewritePath(rulePath, path, match);
  if (backendPath !== undefined) path = rewritePath(backendPath, path, match);
  // Envoy sets it whenever a path rewrite applies, even one that changes nothing, and
  // overwrites what a trusted proxy in front sent: it always names what this hop received.
  headers[ORIGINAL_PATH] = facts.target;
  if (path === facts.path) return facts.target;
  return facts.query === "" ? path : `${path}?${facts.query}`;
}

/** True when the request carries a body (Content-Length above 0 or any Transfer-Encoding). */
export function requestHasBody(exchange: Exchange): boolean {
  const headers = exchange.req.headers;
  if (headers["transfer-encoding"] !== undefined) return true;
  const length = headers["content-length"];
  return length !== undefined && length !== "0";
}
