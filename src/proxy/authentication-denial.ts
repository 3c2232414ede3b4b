// A refusal an authentication policy (jwtAuth, basicAuth, apiKeyAuth) answers: its JSON error
// and Envoy's response code details, counted in tollgate.access_control.denied under the
// request's rule; and the realm its challenge names.
import type { AccessControlKind, AccessDenials } from "./access-denials.ts";
import type { Exchange } from "./exchange.ts";
import { Failure } from "./failures.ts";

export interface AuthenticationDenial {
  readonly failure: Failure;
  readonly details: string;
}

/** `what failed: why`, as `user authentication failed: ...` or `client authentication failed: ...`. */
export function unauthorized(what: string, message: string, details: string): AuthenticationDenial {
  return { failure: new Failure("401", "", 401, "unauthorized", `${what}: ${message}`, false, false), details };
}

const REALM_PATH_MAX_CHARS = 256;

/** The URL a request asked for, without its query, as a quoted-string's content (Basic and Bearer challenges). */
export function requestRealm(exchange: Exchange): string {
  const authority = exchange.hostHeader ?? exchange.serverAddress;
  // The path cut at 256 characters, as Envoy cuts it: a long one must not make the answer's head too large for a proxy in front.
  const url = `${exchange.scheme}://${authority}${exchange.path.slice(0, REALM_PATH_MAX_CHARS)}`;
  return url.replace(/["\\]/g, "\\$&");
}

/** Notes the denial on the request (its details for the access log) and counts it. */
export function countedDenial(exchange: Exchange, denial: AuthenticationDenial, kind: AccessControlKind, policy: string, denials: AccessDenials | undefined): AuthenticationDenial {
  exchange.localReplyDetails = denial.details;
  const rule = exchange.match!.rule;
  denials?.count(kind, { route: rule.routeKey, rule: rule.ruleName, policy });
  return denial;
}
