// What counts as a secret in a header or a query parameter. Every view agrees on it: spans,
// access logs, the admin API and config messages. The lists are read once per process: the
// primary (admin redaction) and the workers (telemetry) inherit the same environment. A
// config that loads adds the names its apiKeyAuth policies read keys from (markCredentialNames),
// before anything of it is compiled; names are never taken off again, so a reload can only
// hide more. Its own checks see its own names only (isCredentialHeaderForConfig).

/** Headers that carry credentials in every HTTP deployment. */
export const DEFAULT_SENSITIVE_HEADERS: readonly string[] = ["authorization", "proxy-authorization", "cookie", "set-cookie"];

/** The name of the environment variable that adds header names (comma-separated, any case). */
export const SENSITIVE_HEADERS_ENV = "TOLLGATE_SENSITIVE_HEADERS";

/** The defaults and the names `value` (the variable's value) adds, lower-cased. */
export function sensitiveHeaders(value: string | undefined): ReadonlySet<string> {
  const added = (value ?? "").split(",").map((n) => n.trim().toLowerCase()).filter((n) => n !== "");
  return new Set([...DEFAULT_SENSITIVE_HEADERS, ...added]);
}

const CONFIGURED_HEADERS: ReadonlySet<string> = sensitiveHeaders(process.env[SENSITIVE_HEADERS_ENV]);
const SENSITIVE_HEADERS = new Set(CONFIGURED_HEADERS);
/** The names the config loaded last reads API keys from. */
let configCredentialHeaders: ReadonlySet<string> = new Set();

/** Whether a header's values are credentials: never captured or shown unless explicitly allowed. */
export function isSensitiveHeader(name: string): boolean {
  return SENSITIVE_HEADERS.has(name.toLowerCase());
}

/**
 * The same for a config's own checks: the defaults, the environment's and this config's
 * apiKeyAuth names, not those of configs loaded before it, so that whether a file loads does
 * not depend on what the process loaded earlier (a respawned worker must agree).
 */
export function isCredentialHeaderForConfig(name: string): boolean {
  const lower = name.toLowerCase();
  return CONFIGURED_HEADERS.has(lower) || configCredentialHeaders.has(lower);
}

/**
 * Query parameters whose values are redacted (names are case-sensitive): the HTTP semconv's
 * default list, the AWS SigV4 presigned-URL credentials (the semconv's `AWSAccessKeyId` and
 * `Signature` only cover SigV2), and RFC 6750's `access_token`, the bearer token in a URI.
 */
export const DEFAULT_SENSITIVE_QUERY_PARAMS: readonly string[] = [
  "AWSAccessKeyId",
  "Signature",
  "sig",
  "X-Goog-Signature",
  "X-Amz-Signature",
  "X-Amz-Credential",
  "X-Amz-Security-Token",
  "access_token",
];

/** The name of the environment variable that adds names to the list (comma-separated). */
export const SENSITIVE_QUERY_PARAMS_ENV = "TOLLGATE_SENSITIVE_QUERY_PARAMS";

/** The defaults and the names `value` (the variable's value) adds. */
export function sensitiveQueryParams(value: string | undefined): readonly string[] {
  const added = (value ?? "").split(",").map((n) => n.trim()).filter((n) => n !== "" && !DEFAULT_SENSITIVE_QUERY_PARAMS.includes(n));
  return [...DEFAULT_SENSITIVE_QUERY_PARAMS, ...new Set(added)];
}

const QUERY_PARAMS = [...sensitiveQueryParams(process.env[SENSITIVE_QUERY_PARAMS_ENV])];
export const SENSITIVE_QUERY_PARAMS: readonly string[] = QUERY_PARAMS;

/** The header names (any case) the config being loaded reads API keys from, for its own checks (isCredentialHeaderForConfig). */
export function useConfigCredentialHeaders(headers: readonly string[]): void {
  configCredentialHeaders = new Set(headers.map((name) => name.toLowerCase()));
}

/**
 * Header names (any case) and query parameter names (as written) that carry credentials in a
 * config that loaded, for every view from now on.
 */
export function markCredentialNames(headers: readonly string[], queryParams: readonly string[]): void {
  for (const name of headers) SENSITIVE_HEADERS.add(name.toLowerCase());
  for (const name of queryParams) if (!QUERY_PARAMS.includes(name)) QUERY_PARAMS.push(name);
}

export function isSensitiveQueryParam(name: string): boolean {
  return SENSITIVE_QUERY_PARAMS.includes(name);
}

// A parameter name holding a percent escape (`si%67=`): the application reads it decoded.
const ESCAPED_NAME = /(?:^|&)[^=&]*%/;

/** `query` (without `?`) with sensitive parameter values replaced; the input itself when none is present. */
export function redactQueryValues(query: string, replacement: string): string {
  if (query === "") return query;
  let suspicious = false;
  for (const p of SENSITIVE_QUERY_PARAMS) {
    if (query.includes(p)) {
      suspicious = true;
      break;
    }
  }
  if (!suspicious && !ESCAPED_NAME.test(query)) return query;
  return query
    .split("&")
    .map((pair) => {
      const eq = pair.indexOf("=");
      if (eq < 0) return pair;
      const name = pair.slice(0, eq);
      return isSensitiveQueryParam(name.includes("%") ? decodedName(name) : name) ? `${name}=${replacement}` : pair;
    })
    .join("&");
}

function decodedName(name: string): string {
  try {
    return decodeURIComponent(name);
  } catch {
    return name;
  }
}
