// A rule's basicAuth (kgateway TrafficPolicy `basicAuth`, Envoy's basic_auth filter): the
// request needs `Authorization: Basic` credentials of one of the policy's users. A refusal is
// 401 with a WWW-Authenticate challenge, so a browser asks for a login; a request let in goes
// upstream with the user's name in x-envoy-basic-auth-user, as kgateway's API documents
// (replacing any a trusted proxy sent).
// Decided after the acl and before the ExternalAuth check, as Envoy runs authentication
// before authorization: a client without credentials costs no call to the service.
import type { HtpasswdUsers } from "../config/htpasswd.ts";
import type { FilterModel } from "../config/model.ts";
import type { AccessDenials } from "./access-denials.ts";
import type { Exchange } from "./exchange.ts";
import { type AuthenticationDenial, countedDenial, requestRealm, unauthorized } from "./authentication-denial.ts";
import { isUtf8 } from "node:buffer";

/** The header kgateway's BasicAuthPolicy documents for the user's name, upstream (Envoy's forward_username_header). */
export const BASIC_AUTH_USER_HEADER = "x-envoy-basic-auth-user";
const BASE64_TOKEN = /^[A-Za-z0-9+/]+={0,2}$/;
const COLON = 0x3a;

type BasicAuthModel = Extract<FilterModel, { type: "BasicAuth" }>;

export type BasicAuthDenial = AuthenticationDenial;

const denial = (message: string, details: string): BasicAuthDenial => unauthorized("user authentication failed", message, details);

export const BasicAuthDenials = {
  missing: denial("the request has no username and password (Authorization: Basic)", "no_credential_for_basic_auth"),
  scheme: denial("the Authorization header does not use the Basic scheme", "invalid_scheme_for_basic_auth"),
  format: denial("the Basic credentials are not base64 of username:password", "invalid_format_for_basic_auth"),
  encoding: denial("the Basic credentials' username is not UTF-8", "invalid_format_for_basic_auth"),
  invalid: denial("invalid username/password combination", "invalid_credential_for_basic_auth"),
} as const;

export class BasicAuthPolicy {
  /** `namespace/name` of the TrafficPolicy. */
  readonly policy: string;
  readonly #users: HtpasswdUsers;

  constructor(model: BasicAuthModel) {
    this.policy = model.policy;
    this.#users = model.users;
  }

  /** The user the request's Authorization header logs in as, or why it is refused. */
  check(authorization: string | undefined): string | BasicAuthDenial {
    if (authorization === undefined) return BasicAuthDenials.missing;
    // RFC 9110 §11.1: the scheme is case-insensitive; one or more spaces end it.
    if (authorization.length < 6 || authorization.slice(0, 5).toLowerCase() !== "basic" || authorization.charCodeAt(5) !== 32) return BasicAuthDenials.scheme;
    const token = authorization.slice(6).trim();
    if (!BASE64_TOKEN.test(token)) return BasicAuthDenials.format;
    const decoded = Buffer.from(token, "base64");
    // Node's decoder skips what it cannot read (a stray character, wrong padding); the
    // token must be the bytes' one spelling, with its padding or without.
    const canonical = decoded.toString("base64");
    if (token !== canonical && token !== canonical.replace(/=+$/, "")) return BasicAuthDenials.format;
    const colon = decoded.indexOf(COLON);
    if (colon < 0) return BasicAuthDenials.format;
    // RFC 7617: the credentials are UTF-8. A name that is not would read as U+FFFD, which
    // many byte strings share; the password is hashed as the bytes sent.
    const name = decoded.subarray(0, colon);
    if (!isUtf8(name)) return BasicAuthDenials.encoding;
    const user = name.toString("utf8");
    if (!this.#users.verify(user, decoded.subarray(colon + 1))) return BasicAuthDenials.invalid;
    return user;
  }
}

/**
 * The challenge a refusal carries, as Envoy words it: the realm is the URL the request asked
 * for, so a browser's login prompt says what it is for. Unlike Envoy's, without the query,
 * which may hold a token that has no business in a response header.
 */
export function basicAuthChallenge(exchange: Exchange): Readonly<Record<string, string>> {
  return { "www-authenticate": `Basic realm="${requestRealm(exchange)}"` };
}

/** Header values are byte strings, which node writes as Latin-1 characters: the name goes as its UTF-8 bytes. */
export function headerText(name: string): string {
  return Buffer.from(name, "utf8").toString("latin1");
}

/**
 * Lets the request in, naming its user upstream, or returns how it is refused, counted under
 * its rule and with its response code details set.
 */
export function basicAuthDenial(exchange: Exchange, policy: BasicAuthPolicy, denials: AccessDenials | undefined): BasicAuthDenial | undefined {
  const verdict = policy.check(exchange.req.headers.authorization);
  if (typeof verdict === "string") {
    // Among the request's headers from here on, as Envoy's filter sets it: the ExternalAuth
    // check, rbac's request.headers and the upstream all see it (forwardingHeaders).
    exchange.basicAuthUser = headerText(verdict);
    return undefined;
  }
  return countedDenial(exchange, verdict, "basic_auth", policy.policy, denials);
}
