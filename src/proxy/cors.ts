// The HTTPRoute CORS filter at request time: a preflight is answered by the gateway, and every
// other response of the rule gets the Access-Control-* headers its Origin earns. Compiled once
// per plan; a request pays only on a rule that has the filter.
import type { IncomingHttpHeaders } from "node:http";
import type { CorsModel } from "../config/model.ts";
import { isHttpToken } from "../config/name-formats.ts";
import type { OutgoingHeaders } from "../telemetry/hooks.ts";

/** `scheme://*.suffix[:port]` or `scheme://*[:port]` from allowOrigins; `port` is '' for the scheme's own. */
interface OriginWildcard {
  readonly scheme: string;
  /** `.example.com`, or '' when the whole host is `*`. */
  readonly suffix: string;
  readonly port: string;
}

/** A DNS name as browsers serialise it (lower case, a trailing dot kept), or an IPv6 literal. */
const HOST = /^(?:[a-z0-9-]+(?:\.[a-z0-9-]+)*\.?|\[[0-9a-f:.]+\])$/;
const PORT = /^[0-9]{1,5}$/;
/** RFC 3986 scheme, lower case: `*` with credentials names back app origins such as `capacitor://localhost` too. */
const SCHEME = /^[a-z][a-z0-9+.-]*$/;
const TOKEN_LIST = /^[\t ]*[A-Za-z0-9!#$%&'*+\-.^_`|~]+(?:[\t ]*,[\t ]*[A-Za-z0-9!#$%&'*+\-.^_`|~]+)*[\t ]*$/;
/** Response headers a browser shows a script without being told (Fetch: CORS-safelisted response-header names). */
const SAFELISTED_RESPONSE_HEADERS = new Set(["cache-control", "content-language", "content-length", "content-type", "expires", "last-modified", "pragma"]);

export class CorsPolicy {
  readonly #anyOrigin: boolean;
  readonly #origins: ReadonlySet<string>;
  readonly #wildcards: readonly OriginWildcard[];
  readonly #credentials: boolean;
  /**
   * Answers name the request's origin rather than `*` (a list of origins, or `*` with
   * credentials), so every response of the rule varies by Origin, even one to a request
   * without it: a shared cache must not hand it to another origin.
   */
  readonly #echoesOrigin: boolean;
  readonly #anyMethod: boolean;
  /** Access-Control-Allow-Methods for a list; undefined when allowMethods is unset or `*`. */
  readonly #allowMethodsValue: string | undefined;
  readonly #anyHeader: boolean;
  /** Access-Control-Allow-Headers for a list; undefined when allowHeaders is unset or `*`. */
  readonly #allowHeadersValue: string | undefined;
  /**
   * Access-Control-Expose-Headers as configured; with `*` and credentials, the named entries
   * only (a browser would read `*` as a name). Undefined when there is nothing to send.
   */
  readonly #exposeValue: string | undefined;
  /** The configured names, when `*` with credentials makes a response also list its own. */
  readonly #exposeNamed: readonly string[] | undefined;
  readonly #maxAge: string;

  constructor(model: CorsModel) {
    this.#anyOrigin = model.allowOrigins.includes("*");
    const origins = new Set<string>();
    const wildcards: OriginWildcard[] = [];
    for (const origin of model.allowOrigins) {
      if (origin === "*") continue;
      // The config stage checked every origin's format.
      const parsed = splitOrigin(origin, true)!;
      if (parsed.host === "*") wildcards.push({ scheme: parsed.scheme, suffix: "", port: parsed.port });
      else if (parsed.host.startsWith("*.")) wildcards.push({ scheme: parsed.scheme, suffix: parsed.host.slice(1), port: parsed.port });
      else origins.add(origin);
    }
    this.#origins = origins;
    this.#wildcards = wildcards;
    this.#credentials = model.allowCredentials;
    this.#echoesOrigin = !this.#anyOrigin || this.#credentials;
    this.#anyMethod = model.allowMethods.includes("*");
    this.#allowMethodsValue = this.#anyMethod || model.allowMethods.length === 0 ? undefined : model.allowMethods.join(", ");
    this.#anyHeader = model.allowHeaders.includes("*");
    this.#allowHeadersValue = this.#anyHeader || model.allowHeaders.length === 0 ? undefined : model.allowHeaders.join(", ");
    const listsResponseNames = this.#credentials && model.exposeHeaders.includes("*");
    const expose = listsResponseNames ? model.exposeHeaders.filter((h) => h !== "*") : model.exposeHeaders;
    this.#exposeValue = expose.length === 0 ? undefined : expose.join(", ");
    this.#exposeNamed = listsResponseNames ? expose : undefined;
    this.#maxAge = String(model.maxAgeSeconds);
  }

  /** Whether `origin` (the request's Origin header) is one the filter allows. */
  allows(origin: string): boolean {
    if (this.#anyOrigin) return !this.#echoesOrigin || splitOrigin(normaliseOrigin(origin)) !== undefined;
    const normalised = normaliseOrigin(origin);
    if (this.#origins.has(normalised)) return true;
    if (this.#wildcards.length === 0) return false;
    const parsed = splitOrigin(normalised);
    if (parsed === undefined) return false;
    for (const w of this.#wildcards) {
      if (w.scheme !== parsed.scheme || w.port !== parsed.port) continue;
      // splitOrigin refused a host starting with ".", so a match has a label before the suffix.
      if (w.suffix === "" || parsed.host.endsWith(w.suffix)) return true;
    }
    return false;
  }

  /**
   * The headers of the gateway's answer to a preflight from an allowed origin. Wildcards are
   * answered with `*` unless credentials are allowed, when a browser reads `*` literally, so
   * the requested method and headers are named back instead. Requested headers are always
   * named back when `allowHeaders` is `*`: Fetch never lets `*` cover `Authorization`.
   */
  preflightHeaders(origin: string, requestMethod: string, requestHeaders: string | undefined): OutgoingHeaders {
    const out: OutgoingHeaders = { "access-control-allow-origin": this.#echoesOrigin ? origin : "*" };
    const vary: string[] = this.#echoesOrigin ? ["Origin"] : [];
    if (this.#credentials) out["access-control-allow-credentials"] = "true";
    if (this.#anyMethod) {
      if (!this.#credentials) out["access-control-allow-methods"] = "*";
      else if (isHttpToken(requestMethod)) {
        out["access-control-allow-methods"] = requestMethod;
        vary.push("Access-Control-Request-Method");
      }
    } else if (this.#allowMethodsValue !== undefined) out["access-control-allow-methods"] = this.#allowMethodsValue;
    if (this.#anyHeader) {
      if (requestHeaders !== undefined && TOKEN_LIST.test(requestHeaders)) {
        out["access-control-allow-headers"] = requestHeaders.trim();
        vary.push("Access-Control-Request-Headers");
      } else if (!this.#credentials) out["access-control-allow-headers"] = "*";
    } else if (this.#allowHeadersValue !== undefined) out["access-control-allow-headers"] = this.#allowHeadersValue;
    if (this.#exposeValue !== undefined) out["access-control-expose-headers"] = this.#exposeValue;
    out["access-control-max-age"] = this.#maxAge;
    if (vary.length > 0) out["vary"] = vary.join(", ");
    return out;
  }

  /**
   * Adds what a response of the rule needs: `Vary: Origin` when answers name the origin, and
   * the filter's Access-Control-* headers for an allowed origin. With `*` and no credentials
   * every response gets `Access-Control-Allow-Origin: *`, those to requests without an Origin
   * too, so a cached copy serves a later cross-origin read. Runs after the route's header
   * modifiers; an upstream response went through `removeUpstreamCorsGrant` before them.
   */
  decorate(origin: string | undefined, headers: OutgoingHeaders): void {
    if (this.#echoesOrigin) {
      appendVary(headers, "Origin");
      if (origin === undefined || !this.allows(origin)) return;
      headers["access-control-allow-origin"] = origin;
    } else {
      headers["access-control-allow-origin"] = "*";
    }
    if (this.#credentials) headers["access-control-allow-credentials"] = "true";
    if (this.#exposeNamed !== undefined) {
      const names = exposableNames(headers, this.#exposeNamed);
      if (names !== "") headers["access-control-expose-headers"] = names;
    } else if (this.#exposeValue !== undefined) headers["access-control-expose-headers"] = this.#exposeValue;
  }
}

/**
 * On a rule with the filter, the gateway owns the cross-origin policy: the upstream's grant
 * is removed before the route's header modifiers run, so an upstream that reflects any
 * Origin with credentials cannot open what the filter refuses. A ResponseHeaderModifier may
 * still set these headers.
 */
export function removeUpstreamCorsGrant(headers: OutgoingHeaders): void {
  delete headers["access-control-allow-origin"];
  delete headers["access-control-allow-credentials"];
  delete headers["access-control-expose-headers"];
}

/** The request headers of a CORS preflight. */
export type PreflightHeaders = IncomingHttpHeaders & { readonly origin: string; readonly "access-control-request-method": string };

/** A CORS preflight: OPTIONS with an Origin and the method the browser wants to send. */
export function isPreflight(method: string, headers: IncomingHttpHeaders): headers is PreflightHeaders {
  return method === "OPTIONS" && headers.origin !== undefined && headers["access-control-request-method"] !== undefined;
}

/** As browsers serialise an origin: lower case, without the scheme's own port. */
function normaliseOrigin(origin: string): string {
  const lower = origin.toLowerCase();
  if (lower.startsWith("https://") && lower.endsWith(":443")) return lower.slice(0, -4);
  if (lower.startsWith("http://") && lower.endsWith(":80")) return lower.slice(0, -3);
  return lower;
}

/**
 * `scheme://host[:port]` split into parts; undefined for anything else (`null`, a path, a
 * list). Only the config's origins (`configured`) may have `*` or `*.` as their host.
 */
function splitOrigin(origin: string, configured = false): { scheme: string; host: string; port: string } | undefined {
  const sep = origin.indexOf("://");
  if (sep === -1) return undefined;
  const scheme = origin.slice(0, sep);
  if (!SCHEME.test(scheme)) return undefined;
  const rest = origin.slice(sep + 3);
  // The port's colon is the last one after any IPv6 literal's closing bracket.
  const colon = rest.lastIndexOf(":");
  const hasPort = colon > rest.lastIndexOf("]");
  const host = hasPort ? rest.slice(0, colon) : rest;
  const port = hasPort ? rest.slice(colon + 1) : "";
  if (port !== "" && !PORT.test(port)) return undefined;
  if (HOST.test(host) || (configured && (host === "*" || (host.startsWith("*.") && HOST.test(host.slice(2)))))) return { scheme, host, port };
  return undefined;
}

function appendVary(headers: OutgoingHeaders, name: string): void {
  const existing = headers["vary"];
  if (existing === undefined) {
    headers["vary"] = name;
    return;
  }
  const joined = typeof existing === "string" ? existing : existing.join(", ");
  const lower = name.toLowerCase();
  for (const token of joined.split(",")) {
    const t = token.trim().toLowerCase();
    if (t === lower || t === "*") return;
  }
  headers["vary"] = joined === "" ? name : `${joined}, ${name}`;
}

/** The configured names, then the response's header names a script could not read without being told. */
function exposableNames(headers: OutgoingHeaders, configured: readonly string[]): string {
  const names = [...configured];
  for (const name of Object.keys(headers)) {
    const lower = name.toLowerCase();
    if (SAFELISTED_RESPONSE_HEADERS.has(lower) || lower.startsWith("access-control-") || lower === "set-cookie" || lower === "set-cookie2") continue;
    if (!names.includes(lower)) names.push(lower);
  }
  return names.join(", ");
}
