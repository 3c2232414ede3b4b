// What the authentication policies (jwtAuth, basicAuth, apiKeyAuth) changed about a request
// they let in, applied wherever the request's headers are built again: the upstream request,
// the ExternalAuth check, a global rate limit's descriptors and rbac's `request` all see it as
// Envoy's filters would have left it.
import type { OutgoingHeaders } from "../telemetry/hooks.ts";
import { BASIC_AUTH_USER_HEADER, headerText } from "./basic-auth.ts";
import { withoutCookies, withoutQueryParams } from "./request-values.ts";
import type { Exchange } from "./exchange.ts";

const ORIGINAL_PATH = "x-envoy-original-path";

/**
 * The jwtAuth's verified claims, the basicAuth user and the apiKeyAuth client named, and a
 * token or key the client must not forward taken off.
 */
export function applyIdentity(exchange: Exchange, headers: OutgoingHeaders): void {
  const jwt = exchange.jwtGrant;
  if (jwt !== undefined) {
    // A client's own values of the claim headers go, whichever provider (if any) let it in.
    for (const name of jwt.policy.claimHeaders) delete headers[name];
    for (const name of jwt.hiddenHeaders) delete headers[name];
    for (const [name, value] of jwt.claims) {
      const had = headers[name];
      headers[name] = had === undefined ? value : [...(typeof had === "string" ? [had] : had), value];
    }
  }
  const user = exchange.basicAuthUser;
  if (user !== undefined) headers[BASIC_AUTH_USER_HEADER] = user;
  const grant = exchange.apiKeyGrant;
  if (grant === undefined) return;
  const { policy, client } = grant;
  for (const name of policy.hiddenHeaders) delete headers[name];
  if (policy.hiddenCookies.length > 0) {
    const cookie = headers["cookie"];
    const kept = cookie === undefined ? undefined : withoutCookies(typeof cookie === "string" ? cookie : cookie.join("; "), policy.hiddenCookies);
    if (kept === undefined) delete headers["cookie"];
    else headers["cookie"] = kept;
  }
  // After the key's header is gone: a clientIdHeader that is also a key source names the client.
  if (policy.clientIdHeader !== undefined) headers[policy.clientIdHeader] = headerText(client);
}

/**
 * The upstream target without a query parameter the apiKeyAuth or jwtAuth that let the request in
 * hides, nor in the X-Envoy-Original-Path a path rewrite put in `headers`.
 */
export function upstreamTargetShown(exchange: Exchange, target: string, headers: OutgoingHeaders): string {
  if (hiddenQueryParams(exchange).length === 0) return target;
  const original = headers[ORIGINAL_PATH];
  if (typeof original === "string") headers[ORIGINAL_PATH] = withoutHiddenQuery(exchange, original);
  return withoutHiddenQuery(exchange, target);
}

/** The request's query (without `?`) without a parameter the apiKeyAuth or jwtAuth that let it in hides: for a redirect's Location and rbac. */
export function queryShown(exchange: Exchange): string {
  const names = hiddenQueryParams(exchange);
  return names.length === 0 ? exchange.query : withoutQueryParams(exchange.query, names);
}

/** `target` (path?query) without a query parameter the apiKeyAuth or jwtAuth that let the request in hides. */
export function withoutHiddenQuery(exchange: Exchange, target: string): string {
  const names = hiddenQueryParams(exchange);
  if (names.length === 0) return target;
  const mark = target.indexOf("?");
  if (mark < 0) return target;
  const query = withoutQueryParams(target.slice(mark + 1), names);
  return query === "" ? target.slice(0, mark) : `${target.slice(0, mark)}?${query}`;
}

const NONE: readonly string[] = [];

/** The query parameters holding a key or token the client must not forward. */
function hiddenQueryParams(exchange: Exchange): readonly string[] {
  const keys = exchange.apiKeyGrant?.policy.hiddenQueryParams ?? NONE;
  const tokens = exchange.jwtGrant?.hiddenQueryParams ?? NONE;
  return tokens.length === 0 ? keys : keys.length === 0 ? tokens : [...keys, ...tokens];
}
