// A rule's jwtAuth (kgateway TrafficPolicy `jwtAuth`, Envoy's jwt_authn filter): the request
// needs a token one of the GatewayExtension's providers verifies. With validationMode
// AllowMissing, a request that carries no token in any provider's sources passes too; one
// with a bad token never does. A refusal is 401 (403 for an audience not allowed) with a
// `Bearer` challenge, and Envoy's response code details. A request let in goes on with the
// verified claims in the provider's claimsToHeaders and, unless forwardToken, without the
// token (its header or its query parameter). Whatever the verdict, a client's own values of
// those claim headers are taken off (Envoy's sanitizing), so a header upstream always comes
// from a verified token. Decided first of the authentication policies, before basicAuth and
// apiKeyAuth.
import type { JWTPayload } from "jose";
import type { FilterModel } from "../config/model.ts";
import type { AccessDenials } from "./access-denials.ts";
import { type AuthenticationDenial, countedDenial, requestRealm } from "./authentication-denial.ts";
import { warnContainedBug } from "./contained-bug.ts";
import type { Exchange } from "./exchange.ts";
import { Failure } from "./failures.ts";
import { JwtFailure, JwtFailures } from "./jwt-failures.ts";
import { type FoundToken, JwtProviderVerifier } from "./jwt-verifier.ts";
import type { JwksFetchContext } from "./remote-jwks.ts";
import type { CompiledBackend } from "../plan/types.ts";

type JwtAuthModel = Extract<FilterModel, { type: "JwtAuth" }>;

export interface JwtDenial extends AuthenticationDenial {
  readonly challenge: Readonly<Record<string, string>>;
}

/** What a jwtAuth changed about a request it let in. */
export interface JwtGrant {
  readonly policy: JwtAuthPolicy;
  /** Claim headers and their values, as header text. */
  readonly claims: readonly (readonly [string, string])[];
  /** The verified token's payload; undefined when AllowMissing let a request without one in. */
  readonly payload: JWTPayload | undefined;
  /** The header and query parameter a verified token came in, when the provider does not forward it. */
  readonly hiddenHeaders: readonly string[];
  readonly hiddenQueryParams: readonly string[];
}

export class JwtAuthPolicy {
  /** `namespace/name` of the TrafficPolicy. */
  readonly policy: string;
  /** Every provider's claim headers: a client's own are never forwarded. */
  readonly claimHeaders: readonly string[];
  readonly #allowMissing: boolean;
  readonly #providers: readonly JwtProviderVerifier[];

  /** `backends`: the plan's, for providers whose keys are fetched. */
  constructor(model: JwtAuthModel, backends: ReadonlyMap<string, CompiledBackend>) {
    this.policy = model.policy;
    this.#allowMissing = model.allowMissing;
    this.#providers = model.providers.map((p) => new JwtProviderVerifier(p, backends, `${model.extension}/${p.name}`));
    this.claimHeaders = [...new Set(model.providers.flatMap((p) => p.claimsToHeaders.map((c) => c.header)))];
  }

  /**
   * What the request's tokens earn it. Each provider checks the tokens in its own sources; the
   * first that verifies them all lets the request in. When none does, the failure told is the
   * first that is about a token the provider was for (not a missing token nor another issuer's).
   */
  async check(headers: Readonly<Record<string, string | string[] | undefined>>, query: string, nowMs: number, ctx: JwksFetchContext): Promise<JwtGrant | JwtFailure> {
    let told: JwtFailure | undefined;
    let anyToken = false;
    for (const provider of this.#providers) {
      const tokens = provider.tokensOf(headers, query);
      if (tokens.length > 0) anyToken = true;
      const verdict = tokens.length === 0 ? JwtFailures.missing : await verifyAll(provider, tokens, nowMs, ctx);
      if (!(verdict instanceof JwtFailure)) return this.#grant(provider, tokens, verdict);
      if (told === undefined || rank(verdict) > rank(told)) told = verdict;
    }
    if (!anyToken && this.#allowMissing) return { policy: this, payload: undefined, claims: [], hiddenHeaders: [], hiddenQueryParams: [] };
    return told ?? JwtFailures.missing;
  }

  #grant(provider: JwtProviderVerifier, tokens: readonly FoundToken[], payload: JWTPayload): JwtGrant {
    const claims: (readonly [string, string])[] = [];
    for (const { claim, header } of provider.model.claimsToHeaders) {
      const value = claimText(claimAt(payload, claim));
      if (value !== undefined) claims.push([header, value]);
    }
    const hidden = provider.model.forwardToken ? [] : tokens.map((t) => t.source);
    return {
      policy: this,
      payload,
      claims,
      hiddenHeaders: hidden.flatMap((source) => ("header" in source ? [source.header] : [])),
      hiddenQueryParams: hidden.flatMap((source) => ("query" in source ? [source.query] : [])),
    };
  }
}

/** Every token must verify; the claims come from the first. */
async function verifyAll(provider: JwtProviderVerifier, tokens: readonly FoundToken[], nowMs: number, ctx: JwksFetchContext): Promise<JWTPayload | JwtFailure> {
  let first: JWTPayload | undefined;
  for (const { token } of tokens) {
    const verdict = await provider.verify(token, nowMs, ctx);
    if (verdict instanceof JwtFailure) return verdict;
    first ??= verdict;
  }
  return first!;
}

/** How much a failure says about the token: a missing one least, another issuer's next. */
function rank(f: JwtFailure): number {
  return f === JwtFailures.missing ? 0 : f === JwtFailures.unknownIssuer ? 1 : 2;
}

/** Claim `name` of the payload; `a.b` reads claim b of object claim a, as Envoy reads nested claims. */
function claimAt(payload: JWTPayload, name: string): unknown {
  if (Object.hasOwn(payload, name)) return payload[name];
  let value: unknown = payload;
  for (const part of name.split(".")) {
    if (value === null || typeof value !== "object" || Array.isArray(value) || !Object.hasOwn(value, part)) return undefined;
    value = (value as Record<string, unknown>)[part];
  }
  return value;
}

/**
 * A claim as Envoy copies it into a header: a string as is, a whole number of 0 or more without
 * a fraction, another number with six decimals (as C's %f), a boolean as true or false; anything else (and an empty
 * string) adds no header. As header text: UTF-8 bytes.
 */
function claimText(value: unknown): string | undefined {
  let text: string;
  if (typeof value === "string") text = value;
  else if (typeof value === "number" && Number.isFinite(value)) text = Number.isInteger(value) && value >= 0 ? String(value) : value.toFixed(6);
  else if (typeof value === "boolean") text = String(value);
  else return undefined;
  // A control character (tab aside) makes no header value: the claim is left out, not the request failed.
  if (text === "" || /[\u0000-\u0008\u000a-\u001f\u007f]/.test(text)) return undefined;
  return Buffer.from(text, "utf8").toString("latin1");
}

/** Envoy's response code details: the status with its spaces as underscores. */
export function jwtDenialDetails(f: JwtFailure): string {
  return `jwt_authn_access_denied{${f.message.replace(/\s/g, "_")}}`;
}

/**
 * Checks the request's tokens, then calls `done` with nothing (let in: the grant is noted on
 * the exchange) or how it is refused (counted under its rule, its details set). The exchange
 * waits on the check as on any other: when the request ends first, `done` is never called.
 * A bug while checking closes the client's connection (`abandon`): nothing sensible can be sent.
 */
export function startJwtCheck(exchange: Exchange, policy: JwtAuthPolicy, ctx: JwksFetchContext, denials: AccessDenials | undefined, done: (denied: JwtDenial | undefined) => void, abandon: () => void): void {
  let cancelled = false;
  const pending = {
    cancel(): void {
      cancelled = true;
    },
  };
  exchange.authCheck = pending;
  policy.check(exchange.req.headers, exchange.query, Date.now(), ctx).then(
    (verdict) => {
      if (cancelled) return;
      exchange.authCheck = undefined;
      // What runs next (the other policies, the upstream call) runs here, off the listener's
      // stack: a bug in it must not become an unhandled rejection.
      try {
        done(applied(exchange, policy, verdict, denials));
      } catch (e) {
        warnContainedBug(`a request after jwtAuth of ${policy.policy}`, e);
        abandon();
      }
    },
    (e: unknown) => {
      if (cancelled) return;
      exchange.authCheck = undefined;
      warnContainedBug(`jwtAuth of ${policy.policy} failed while checking a request`, e);
      abandon();
    },
  );
}

function applied(exchange: Exchange, policy: JwtAuthPolicy, verdict: JwtGrant | JwtFailure, denials: AccessDenials | undefined): JwtDenial | undefined {
  if (!(verdict instanceof JwtFailure)) {
    exchange.jwtGrant = verdict;
    return undefined;
  }
  const status = verdict.forbidden ? 403 : 401;
  const denial: AuthenticationDenial = {
    failure: new Failure(String(status), "", status, verdict.forbidden ? "forbidden" : "unauthorized", `JWT authentication failed: ${verdict.message}`, false, false),
    details: jwtDenialDetails(verdict),
  };
  countedDenial(exchange, denial, "jwt_auth", policy.policy, denials);
  // RFC 6750 §3: no error code when the request carried no token.
  const error = verdict === JwtFailures.missing ? "" : ', error="invalid_token"';
  return { ...denial, challenge: { "www-authenticate": `Bearer realm="${requestRealm(exchange)}"${error}` } };
}
