// One JWT provider at request time, as Envoy's jwt_authn authenticator checks a token: found in
// the provider's sources, parsed, its issuer, time window (60 s of clock skew) and audiences
// checked, then its signature verified with the provider's keys (jwt-keys.ts), given or
// fetched (remote-jwks.ts). Every token the
// request carries in the provider's sources must pass, so a good token cannot carry a bad one
// past the gateway. Failures are Envoy's statuses, worded as Envoy words them. Tokens that
// verified are kept (verified-tokens.ts), as Envoy's JWT cache keeps them.
import { type JWTPayload, decodeJwt, decodeProtectedHeader } from "jose";
import { JWS_ALGORITHMS } from "../config/jwks.ts";
import type { JwtProviderModel, JwtTokenSourceModel } from "../config/model.ts";
import { queryValue } from "./request-values.ts";
import { JwtFailure, JwtFailures } from "./jwt-failures.ts";
import { JwtKeySet } from "./jwt-keys.ts";
import { type JwksFetchContext, RemoteJwks, remoteJwksOf } from "./remote-jwks.ts";
import { VerifiedTokens } from "./verified-tokens.ts";
import type { CompiledBackend } from "../plan/types.ts";

/** Envoy's default clock skew: a token is still good this long past exp, and this long before nbf. */
const CLOCK_SKEW_SECONDS = 60;
// A character of a compact JWS: base64url, the dots, and the padding some issuers leave.
const TOKEN_CHAR = /[A-Za-z0-9\-_.=]/;

/** A token found in a request, and where. */
export interface FoundToken {
  readonly token: string;
  readonly source: JwtTokenSourceModel;
}

export class JwtProviderVerifier {
  readonly model: JwtProviderModel;
  readonly #keys: JwtKeySet | RemoteJwks;
  readonly #audiences: ReadonlySet<string>;
  readonly #verified = new VerifiedTokens();

  /** `backends`: the plan's, one of which a remote JWKS is fetched through; `id`: `namespace/extension/provider`. */
  constructor(model: JwtProviderModel, backends: ReadonlyMap<string, CompiledBackend>, id: string) {
    this.model = model;
    const jwks = model.jwks;
    if (jwks.type === "Local") this.#keys = new JwtKeySet(jwks.keys.list);
    else {
      const backend = backends.get(jwks.backendKey);
      if (backend === undefined) throw new Error(`JWT provider ${model.name} names backend ${jwks.backendKey}, which the plan does not hold`);
      this.#keys = remoteJwksOf(backend, jwks, id);
    }
    this.#audiences = new Set(model.audiences.map(normalizedAudience));
  }

  /** The tokens in the provider's sources, in their order. */
  tokensOf(headers: Readonly<Record<string, string | string[] | undefined>>, query: string): FoundToken[] {
    const found: FoundToken[] = [];
    for (const source of this.model.sources) {
      const token = "header" in source ? headerToken(headers[source.header], source.prefix) : queryToken(query, source.query);
      if (token !== undefined) found.push({ token, source });
    }
    return found;
  }

  /** The payload of `token`, or why it does not verify. */
  async verify(token: string, nowMs: number, ctx: JwksFetchContext): Promise<JWTPayload | JwtFailure> {
    const nowSeconds = Math.floor(nowMs / 1000);
    // A token verified before passed every check but time, which only time can change, as
    // long as the keys that verified it are the ones held (a remote set may have moved on).
    const known = this.#verified.get(token);
    if (known !== undefined && known.keys === this.#heldKeys(nowMs)) return timeFailure(known.payload, nowSeconds) ?? known.payload;
    const parsed = parse(token);
    if (parsed instanceof JwtFailure) return parsed;
    const { payload, alg, kid } = parsed;
    const issuer = this.model.issuer;
    if (issuer !== undefined && payload.iss !== issuer) return JwtFailures.unknownIssuer;
    const early = timeFailure(payload, nowSeconds);
    if (early !== undefined) return early;
    if (this.#audiences.size > 0 && !audiencesOf(payload).some((a) => this.#audiences.has(normalizedAudience(a)))) return JwtFailures.audienceNotAllowed;
    const keys = this.#keys instanceof RemoteJwks ? await this.#keys.keys(ctx, nowMs) : this.#keys;
    if (keys instanceof JwtFailure) return keys;
    const failed = await keys.signatureFailure(token, alg, kid);
    if (failed !== undefined) return failed;
    this.#verified.add(token, { payload, keys });
    return payload;
  }

  #heldKeys(nowMs: number): JwtKeySet | undefined {
    return this.#keys instanceof RemoteJwks ? this.#keys.current(nowMs) : this.#keys;
  }
}

/**
 * As Envoy extracts a token from a header: without a prefix, the whole value; with one found in
 * the value (in any case), what follows it from its first token character on (the rest whole, so trailing
 * text fails the token rather than being ignored), or the whole value when no token character
 * follows. A header present is a token present: a malformed one is refused, never "missing".
 */
function headerToken(value: string | string[] | undefined, prefix: string): string | undefined {
  const text = typeof value === "string" ? value : value?.[0];
  if (text === undefined) return undefined;
  if (prefix === "") return text;
  // An auth scheme is case-insensitive (RFC 9110 §11.1): `bearer <token>` is a token present,
  // never one missing that AllowMissing would let through unverified.
  const at = text.toLowerCase().indexOf(prefix.toLowerCase());
  if (at < 0) return undefined;
  const rest = text.slice(at + prefix.length);
  const start = rest.search(TOKEN_CHAR);
  return start < 0 ? text : rest.slice(start);
}

/** The first value of the parameter, an empty one included (a token that fails, as in Envoy). */
function queryToken(query: string, name: string): string | undefined {
  return queryValue(query, name)?.toString("latin1");
}

function parse(token: string): { payload: JWTPayload; alg: string; kid: string | undefined } | JwtFailure {
  if (token.split(".").length !== 3) return JwtFailures.badFormat;
  let header: Record<string, unknown>;
  try {
    header = decodeProtectedHeader(token) as Record<string, unknown>;
  } catch {
    return JwtFailures.headerParse;
  }
  if (typeof header["alg"] !== "string") return JwtFailures.headerBadAlg;
  if (!JWS_ALGORITHMS.includes(header["alg"])) return JwtFailures.headerUnknownAlg;
  if (header["kid"] !== undefined && typeof header["kid"] !== "string") return JwtFailures.headerBadKid;
  let payload: JWTPayload;
  try {
    payload = decodeJwt(token);
  } catch {
    return JwtFailures.payloadParse;
  }
  // jwt_verify_lib refuses registered claims of the wrong type as a payload that does not
  // parse: iss, sub and jti strings, iat, nbf and exp numbers of 0 or more, aud a string or a
  // list of them.
  const { iss, sub, jti, iat, exp, nbf, aud } = payload;
  if (![iss, sub, jti].every((v) => v === undefined || typeof v === "string")) return JwtFailures.payloadParse;
  if (![iat, nbf, exp].every((v) => v === undefined || (typeof v === "number" && v >= 0))) return JwtFailures.payloadParse;
  if (aud !== undefined && typeof aud !== "string" && !(Array.isArray(aud) && aud.every((a) => typeof a === "string"))) return JwtFailures.payloadParse;
  return { payload, alg: header["alg"], kid: header["kid"] as string | undefined };
}

/** Envoy's time checks, with its clock skew: not before nbf, not after exp. */
function timeFailure(payload: JWTPayload, nowSeconds: number): JwtFailure | undefined {
  if (typeof payload.nbf === "number" && payload.nbf > nowSeconds + CLOCK_SKEW_SECONDS) return JwtFailures.notYetValid;
  if (typeof payload.exp === "number" && payload.exp + CLOCK_SKEW_SECONDS < nowSeconds) return JwtFailures.expired;
  return undefined;
}

function audiencesOf(payload: JWTPayload): string[] {
  const aud = payload.aud;
  return aud === undefined ? [] : typeof aud === "string" ? [aud] : aud;
}

/** As jwt_verify_lib compares audiences: without an http(s):// scheme and a trailing slash. */
function normalizedAudience(audience: string): string {
  const bare = audience.startsWith("https://") ? audience.slice(8) : audience.startsWith("http://") ? audience.slice(7) : audience;
  return bare.endsWith("/") ? bare.slice(0, -1) : bare;
}
