// A rule's apiKeyAuth (kgateway TrafficPolicy `apiKeyAuth`, Envoy's api_key_auth filter): the
// request needs one of the policy's API keys, found in the first key source that holds one
// (within a source: its header, then its query parameter, then its cookie; a header's
// `Bearer ` prefix is taken off). A request without one, or with an unknown one, gets 401.
// One let in goes on with the client's id in `clientIdHeader` (when set) and, unless
// `forwardCredential`, without the key in any source (header, query parameter, cookie):
// the upstream, the ExternalAuth check and rbac all see the request that way. Decided after
// basicAuth and before the ExternalAuth check.
import type { ApiKeySourceModel, FilterModel } from "../config/model.ts";
import type { ApiKeys } from "../config/api-keys.ts";
import type { AccessDenials } from "./access-denials.ts";
import type { Exchange } from "./exchange.ts";
import { type AuthenticationDenial, countedDenial, unauthorized } from "./authentication-denial.ts";
import { cookieValue, queryValue } from "./request-values.ts";

type ApiKeyAuthModel = Extract<FilterModel, { type: "ApiKeyAuth" }>;

const BEARER = "Bearer ";

export type ApiKeyDenial = AuthenticationDenial;

// Envoy's details, its spelling included.
const denial = (message: string, details: string): ApiKeyDenial => unauthorized("client authentication failed", message, details);

export const ApiKeyDenials = {
  missing: denial("the request carries no API key", "missing_api_key"),
  unknown: denial("the API key is not known", "unkonwn_api_key"),
} as const;

export class ApiKeyAuthPolicy {
  /** `namespace/name` of the TrafficPolicy. */
  readonly policy: string;
  readonly clientIdHeader: string | undefined;
  /** What is taken off a request let in (none when the policy forwards the key). */
  readonly hiddenHeaders: readonly string[];
  readonly hiddenQueryParams: readonly string[];
  readonly hiddenCookies: readonly string[];
  readonly #sources: readonly ApiKeySourceModel[];
  readonly #keys: ApiKeys;

  constructor(model: ApiKeyAuthModel) {
    this.policy = model.policy;
    this.clientIdHeader = model.clientIdHeader;
    this.#sources = model.sources;
    this.#keys = model.keys;
    const hidden = (field: keyof ApiKeySourceModel): string[] => (model.forwardCredential ? [] : [...new Set(model.sources.flatMap((s) => (s[field] === undefined ? [] : [s[field]])))]);
    this.hiddenHeaders = hidden("header");
    this.hiddenQueryParams = hidden("query");
    this.hiddenCookies = hidden("cookie");
  }

  /** The client whose key the request carries, or why it is refused. */
  check(headers: Readonly<Record<string, string | string[] | undefined>>, query: string): string | ApiKeyDenial {
    const key = this.#keyOf(headers, query);
    if (key === undefined) return ApiKeyDenials.missing;
    return this.#keys.clientOf(key) ?? ApiKeyDenials.unknown;
  }

  #keyOf(headers: Readonly<Record<string, string | string[] | undefined>>, query: string): Buffer | undefined {
    for (const source of this.#sources) {
      if (source.header !== undefined) {
        const value = headers[source.header];
        const text = typeof value === "string" ? value : value?.[0];
        if (text !== undefined && text !== "") {
          const key = text.startsWith(BEARER) ? text.slice(BEARER.length) : text;
          // Node reads header bytes as Latin-1 characters: these are the bytes sent.
          if (key !== "") return Buffer.from(key, "latin1");
        }
      }
      if (source.query !== undefined) {
        const key = queryValue(query, source.query);
        if (key !== undefined && key.length > 0) return key;
      }
      if (source.cookie !== undefined) {
        const cookie = headers["cookie"];
        const key = cookieValue(typeof cookie === "string" ? cookie : cookie?.join("; "), source.cookie);
        if (key !== undefined && key !== "") return Buffer.from(key, "latin1");
      }
    }
    return undefined;
  }
}

/**
 * Lets the request in, noting its client, or returns how it is refused, counted under its
 * rule and with its response code details set.
 */
export function apiKeyDenial(exchange: Exchange, policy: ApiKeyAuthPolicy, denials: AccessDenials | undefined): ApiKeyDenial | undefined {
  const verdict = policy.check(exchange.req.headers, exchange.query);
  if (typeof verdict === "string") {
    exchange.apiKeyGrant = { policy, client: verdict };
    return undefined;
  }
  return countedDenial(exchange, verdict, "api_key_auth", policy.policy, denials);
}
