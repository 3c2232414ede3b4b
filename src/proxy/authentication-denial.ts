// A refusal an authentication policy (jwtAuth, basicAuth, apiKeyAuth) answers: its JSON error
// and Envoy's response code details, counted in tollgate.access_control.denied under the
// request's rule.
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

/** Notes the denial on the request (its details for the access log) and counts it. */
export function countedDenial(exchange: Exchange, denial: AuthenticationDenial, kind: AccessControlKind, policy: string, denials: AccessDenials | undefined): AuthenticationDenial {
  exchange.localReplyDetails = denial.details;
  const rule = exchange.match!.rule;
  denials?.count(kind, { route: rule.routeKey, rule: rule.ruleName, policy });
  return denial;
}
