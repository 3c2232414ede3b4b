// A rate limit service's RateLimitResponse, read as Envoy's ratelimit filter reads it:
// OVER_LIMIT refuses the request with 429, `x-envoy-ratelimited: true`, the service's response
// headers and its raw body; any other overall code (OK, and UNKNOWN, which a release Envoy
// takes as OK) lets it through with the service's request headers on it and its response
// headers added to the answer. An answer the gateway cannot write is no verdict. With
// `xRateLimitHeaders: DraftVersion03`, X-RateLimit-Limit, -Remaining and -Reset describe the
// descriptor with the least left, as draft-polli-ratelimit-headers-03 writes them.
import { isFieldValue, isHttpToken } from "../config/name-formats.ts";
import { DENIAL_BODY_LIMIT_BYTES } from "./auth-check.ts";
import type { OutgoingHeaders } from "../telemetry/hooks.ts";
import { AuthGrant, type HeaderAction, type HeaderMutation, applyMutations } from "./auth-grant.ts";
import { isHopByHop } from "./headers.ts";
import { type DescriptorStatusMessage, type HeaderValueMessage, RLS_OVER_LIMIT, type RateLimitResponseMessage } from "./rls-messages.ts";

export type RlsVerdict =
  | { readonly kind: "ok"; readonly grant: AuthGrant }
  | { readonly kind: "over_limit"; readonly headers: OutgoingHeaders; readonly body: Buffer | undefined }
  | { readonly kind: "invalid"; readonly message: string };

/** Headers a service cannot write: the gateway frames every message and owns each connection; the request keeps its Host. */
const GATEWAY_OWNED = new Set(["host", "content-length", "transfer-encoding", "expect"]);

/** RateLimitResponse.RateLimit.Unit by number, in seconds (a month is 30 days, a year 365, as Envoy counts them). */
const UNIT_SECONDS: readonly number[] = [0, 1, 60, 3_600, 86_400, 2_592_000, 31_536_000, 604_800];

class InvalidAnswer extends Error {}

export function readRlsVerdict(answer: RateLimitResponseMessage, rateLimitHeaders: boolean): RlsVerdict {
  try {
    // The service's response headers are added beside the answer's own, as Envoy adds them.
    const responseHeaders = mutationsOf(answer.responseHeadersToAdd, "append");
    if (rateLimitHeaders) responseHeaders.push(...draft03Headers(answer.statuses));
    if (answer.overallCode !== RLS_OVER_LIMIT) {
      return { kind: "ok", grant: new AuthGrant(mutationsOf(answer.requestHeadersToAdd, "overwrite"), [], responseHeaders.length === 0 ? undefined : responseHeaders) };
    }
    // As on an answer from the upstream: repeated names are joined, Set-Cookie kept apart.
    const headers: OutgoingHeaders = {};
    applyMutations(responseHeaders, headers);
    headers["x-envoy-ratelimited"] = "true";
    const raw = answer.rawBody;
    if (raw.length > DENIAL_BODY_LIMIT_BYTES) throw new InvalidAnswer(`the rate limit service's body is larger than ${DENIAL_BODY_LIMIT_BYTES} bytes`);
    return { kind: "over_limit", headers, body: raw.length === 0 ? undefined : Buffer.from(raw) };
  } catch (error) {
    if (error instanceof InvalidAnswer) return { kind: "invalid", message: error.message };
    throw error;
  }
}

/** The service's headers, each written with `action`. */
function mutationsOf(values: readonly HeaderValueMessage[], action: HeaderAction): HeaderMutation[] {
  const out: HeaderMutation[] = [];
  for (const header of values) {
    const name = header.key.toLowerCase();
    // `__proto__` is a token, but as a key of a headers object it would replace the object's prototype.
    if (!isHttpToken(name) || name === "__proto__") throw new InvalidAnswer(`the rate limit service set a header named ${JSON.stringify(header.key.slice(0, 64))}, which is not a valid header name`);
    if (GATEWAY_OWNED.has(name) || isHopByHop(name)) continue;
    // Header values travel as bytes: UTF-8 text goes out as its UTF-8 bytes.
    const value = header.value !== "" ? Buffer.from(header.value, "utf8").toString("latin1") : Buffer.from(header.rawValue).toString("latin1");
    if (!isFieldValue(value)) throw new InvalidAnswer(`the rate limit service set header ${name} to a value with a control character`);
    out.push({ name, value, action });
  }
  return out;
}

/**
 * The draft's three headers from the statuses that carry a limit: the one with the least
 * remaining names the limit, the remaining count and the reset; every limit is listed as a
 * quota policy (`10;w=60;name="per-user"`) after it.
 */
function draft03Headers(statuses: readonly DescriptorStatusMessage[]): HeaderMutation[] {
  let least: DescriptorStatusMessage | undefined;
  const policies: string[] = [];
  for (const s of statuses) {
    const limit = s.currentLimit;
    if (limit === undefined || limit === null) continue;
    if (least === undefined || s.limitRemaining < least.limitRemaining) least = s;
    // A limit in a unit the gateway does not know has no window to name: it is left out of the list, as Envoy leaves it.
    const window = UNIT_SECONDS[limit.unit] ?? 0;
    if (window === 0) continue;
    let policy = `${limit.requestsPerUnit};w=${window}`;
    if (limit.name !== "" && isFieldValue(limit.name) && !/["\\]/.test(limit.name)) policy += `;name="${limit.name}"`;
    policies.push(policy);
  }
  if (least === undefined) return [];
  // Added beside any the upstream sent, as Envoy adds them.
  const out: HeaderMutation[] = [
    { name: "x-ratelimit-limit", value: [String(least.currentLimit!.requestsPerUnit), ...policies].join(", "), action: "append" },
    { name: "x-ratelimit-remaining", value: String(least.limitRemaining), action: "append" },
  ];
  const reset = least.durationUntilReset;
  if (reset !== undefined && reset !== null) {
    const seconds = typeof reset.seconds === "number" ? reset.seconds : reset.seconds.toNumber();
    out.push({ name: "x-ratelimit-reset", value: String(Math.max(0, seconds + (reset.nanos > 0 ? 1 : 0))), action: "append" });
  }
  return out;
}
