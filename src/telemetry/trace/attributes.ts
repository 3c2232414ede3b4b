// Attribute helpers shared by spans (and, in issue 4, log records): method normalisation,
// URL redaction, header capture and the OTel attribute limits. All configuration is read
// once; the per-request functions avoid work when there is nothing to do.
import type { Attributes, AttributeValue } from "@opentelemetry/api";
import { envList, envNumber, type Env } from "../env.ts";
import { isSensitiveHeader, redactQueryValues } from "../../config/sensitive.ts";

// ------------------------------------------------------------------ methods

const DEFAULT_KNOWN_METHODS = ["CONNECT", "DELETE", "GET", "HEAD", "OPTIONS", "PATCH", "POST", "PUT", "TRACE"];

export class MethodNormalizer {
  readonly #known: ReadonlySet<string>;

  /** OTEL_INSTRUMENTATION_HTTP_KNOWN_METHODS replaces the default list (case-sensitive, as the semconv says). */
  constructor(env: Env) {
    this.#known = new Set(envList(env, "OTEL_INSTRUMENTATION_HTTP_KNOWN_METHODS") ?? DEFAULT_KNOWN_METHODS);
  }

  /** The semconv value: the method when known, else `_OTHER`. */
  normalize(method: string): string {
    return this.#known.has(method) ? method : "_OTHER";
  }
}

// ------------------------------------------------------------------ URLs

export const REDACTED = "REDACTED";

/** Redacts sensitive parameter values; returns the input itself when none is present. */
export function redactQuery(query: string): string {
  return redactQueryValues(query, REDACTED);
}

/** url.full: user info removed (semconv: replaced by REDACTED:REDACTED), sensitive query values redacted. */
export function sanitizeFullUrl(url: string): string {
  // Most upstream URLs carry neither user info nor a query: nothing to redact.
  if (url.indexOf("@") < 0 && url.indexOf("?") < 0) return url;
  let out = url;
  const schemeEnd = out.indexOf("://");
  if (schemeEnd >= 0) {
    const authorityStart = schemeEnd + 3;
    let authorityEnd = out.length;
    for (const ch of ["/", "?", "#"]) {
      const i = out.indexOf(ch, authorityStart);
      if (i >= 0 && i < authorityEnd) authorityEnd = i;
    }
    const at = out.lastIndexOf("@", authorityEnd);
    if (at >= authorityStart) out = out.slice(0, authorityStart) + `${REDACTED}:${REDACTED}@` + out.slice(at + 1);
  }
  return redactUrlQuery(out);
}

/** A URL or reference with the sensitive values of its query (before any fragment) redacted. */
function redactUrlQuery(url: string): string {
  const q = url.indexOf("?");
  if (q < 0) return url;
  const hash = url.indexOf("#", q);
  const query = hash < 0 ? url.slice(q + 1) : url.slice(q + 1, hash);
  const redacted = redactQuery(query);
  if (redacted === query) return url;
  return url.slice(0, q + 1) + redacted + (hash < 0 ? "" : url.slice(hash));
}

/**
 * Headers whose value is a URL or a request target. A redirect's `Location` repeats the
 * request's query, a `Referer` may carry userinfo: they are cleaned as `url.full` and
 * `url.query` are wherever they are captured or logged.
 */
const URL_VALUED_HEADERS: ReadonlySet<string> = new Set(["location", "content-location", "referer", "origin", "x-envoy-original-path"]);

/** A header's value as telemetry may show it: a URL-valued one cleaned by sanitizeUrlHeader. */
export function shownHeaderValue(name: string, value: string): string {
  return URL_VALUED_HEADERS.has(name) ? sanitizeUrlHeader(value) : value;
}

/** The value of a URL-valued header without userinfo and with sensitive query values redacted. */
export function sanitizeUrlHeader(value: string): string {
  // A URL parser drops tabs (and line breaks) anywhere, so `ht\ttps://u:pw@h` is a URL with userinfo.
  const url = value.indexOf("\t") < 0 ? value : value.replaceAll("\t", "");
  return redactFragment(redactUrlQuery(url.indexOf("@") < 0 ? url : redactUserinfo(url)));
}

/**
 * An OAuth implicit-grant redirect carries its token in the fragment
 * (`#access_token=…&token_type=bearer`): a fragment of parameters is redacted as a query.
 */
function redactFragment(url: string): string {
  const hash = url.indexOf("#");
  if (hash < 0 || url.indexOf("=", hash) < 0) return url;
  const fragment = url.slice(hash + 1);
  const redacted = redactQuery(fragment);
  return redacted === fragment ? url : `${url.slice(0, hash + 1)}${redacted}`;
}

// Where the authority starts as a browser, undici or Node's URL reads a header's URL. A special
// scheme (http, https, ws, wss, ftp) or a reference resolved against one (the HTTP case) takes
// `\` for `/`, any number of slashes after the scheme, none at all (`https:u:pw@h`), and a
// reference starting with two of them (`//h`, `/\h`, `\\h`) as network-path; other schemes
// need `//`.
const SPECIAL_AUTHORITY_START = /^(?:(?:https?|wss?|ftp):[\\/]*|[\\/]{2,})/i;
const OTHER_AUTHORITY_START = /^[a-z][a-z0-9+.-]*:\/\//i;

/** `value` with the userinfo of its authority, up to the authority's last `@`, as `REDACTED:REDACTED@`. */
function redactUserinfo(value: string): string {
  const special = SPECIAL_AUTHORITY_START.exec(value);
  const start = (special ?? OTHER_AUTHORITY_START.exec(value))?.[0].length;
  if (start === undefined) return value;
  const length = value.slice(start).search(special === null ? /[/?#]/ : /[\\/?#]/);
  const at = value.lastIndexOf("@", length < 0 ? value.length : start + length - 1);
  return at < start ? value : `${value.slice(0, start)}${REDACTED}:${REDACTED}@${value.slice(at + 1)}`;
}

// ------------------------------------------------------------------ header capture

export interface HeaderCapture {
  /** Lower-case header names; empty when nothing is captured. */
  readonly serverRequest: readonly string[];
  readonly serverResponse: readonly string[];
  readonly clientRequest: readonly string[];
  /** Sensitive headers explicitly allowed (TOLLGATE_TRACES_ALLOW_SENSITIVE_HEADERS). */
  readonly allowedSensitive: ReadonlySet<string>;
}

/**
 * OTEL_INSTRUMENTATION_HTTP_SERVER_CAPTURE_REQUEST_HEADERS, ..._SERVER_CAPTURE_RESPONSE_HEADERS
 * and ..._CLIENT_CAPTURE_REQUEST_HEADERS (the names the OTel instrumentations use). A
 * sensitive header is captured only when TOLLGATE_TRACES_ALLOW_SENSITIVE_HEADERS names it too.
 */
export function headerCaptureFromEnv(env: Env): { capture: HeaderCapture; problems: string[] } {
  const problems: string[] = [];
  const allowedSensitive = new Set((envList(env, "TOLLGATE_TRACES_ALLOW_SENSITIVE_HEADERS") ?? []).map((h) => h.toLowerCase()));
  const read = (name: string): string[] => {
    const list = (envList(env, name) ?? []).map((h) => h.toLowerCase());
    return list.filter((h) => {
      if (isSensitiveHeader(h) && !allowedSensitive.has(h)) {
        problems.push(`${name}: '${h}' is sensitive and is not captured unless TOLLGATE_TRACES_ALLOW_SENSITIVE_HEADERS lists it`);
        return false;
      }
      return true;
    });
  };
  return {
    capture: {
      serverRequest: read("OTEL_INSTRUMENTATION_HTTP_SERVER_CAPTURE_REQUEST_HEADERS"),
      serverResponse: read("OTEL_INSTRUMENTATION_HTTP_SERVER_CAPTURE_RESPONSE_HEADERS"),
      clientRequest: read("OTEL_INSTRUMENTATION_HTTP_CLIENT_CAPTURE_REQUEST_HEADERS"),
      allowedSensitive,
    },
    problems,
  };
}

export type CapturedHeaders = Array<readonly [string, string[]]>;

type HeaderBag = Readonly<Record<string, string | string[] | number | undefined>>;

/** Values as string arrays, the semconv shape; undefined when none of the names is present. */
export function captureHeaders(names: readonly string[], headers: HeaderBag, allowedSensitive: ReadonlySet<string>): CapturedHeaders | undefined {
  let out: CapturedHeaders | undefined;
  for (let i = 0; i < names.length; i++) {
    const name = names[i]!;
    const v = headers[name];
    if (v === undefined) continue;
    // Checked again per request: a config loaded after the lists were read may have made the
    // name a credential (the key source of an apiKeyAuth).
    if (isSensitiveHeader(name) && !allowedSensitive.has(name)) continue;
    const values = Array.isArray(v) ? v.slice() : [String(v)];
    if (URL_VALUED_HEADERS.has(name)) for (let j = 0; j < values.length; j++) values[j] = sanitizeUrlHeader(values[j]!);
    (out ??= []).push([name, values]);
  }
  return out;
}

// ------------------------------------------------------------------ limits

export interface AttributeLimits {
  readonly countLimit: number;
  /** Infinity when unlimited. */
  readonly valueLengthLimit: number;
}

/** OTEL_SPAN_ATTRIBUTE_COUNT_LIMIT / OTEL_ATTRIBUTE_COUNT_LIMIT and the value length limits. */
export function spanLimitsFromEnv(env: Env): AttributeLimits {
  const generalCount = envNumber(env, "OTEL_ATTRIBUTE_COUNT_LIMIT", 128);
  const generalLength = envNumber(env, "OTEL_ATTRIBUTE_VALUE_LENGTH_LIMIT", Number.POSITIVE_INFINITY);
  return {
    countLimit: envNumber(env, "OTEL_SPAN_ATTRIBUTE_COUNT_LIMIT", generalCount),
    valueLengthLimit: envNumber(env, "OTEL_SPAN_ATTRIBUTE_VALUE_LENGTH_LIMIT", generalLength),
  };
}

/** Applies the limits in place; returns how many attributes were dropped. */
export function applyLimits(attrs: Attributes, limits: AttributeLimits): number {
  let dropped = 0;
  let kept = 0;
  const truncate = Number.isFinite(limits.valueLengthLimit);
  for (const key in attrs) {
    if (kept >= limits.countLimit) {
      delete attrs[key];
      dropped++;
      continue;
    }
    kept++;
    if (truncate) {
      const v = attrs[key];
      if (typeof v === "string" && v.length > limits.valueLengthLimit) attrs[key] = v.slice(0, limits.valueLengthLimit);
      else if (Array.isArray(v)) attrs[key] = v.map((x) => (typeof x === "string" && x.length > limits.valueLengthLimit ? x.slice(0, limits.valueLengthLimit) : x)) as AttributeValue;
    }
  }
  return dropped;
}
