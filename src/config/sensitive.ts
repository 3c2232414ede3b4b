// Headers whose values are credentials: never captured or shown unless explicitly allowed.
export const SENSITIVE_HEADERS: ReadonlySet<string> = new Set(["authorization", "proxy-authorization", "cookie", "set-cookie"]);

export function isSensitiveHeader(name: string): boolean {
  return SENSITIVE_HEADERS.has(name.toLowerCase());
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

// Read once per process: the primary (admin redaction) and the workers (telemetry) inherit
// the same environment, so every view redacts the same names.
export const SENSITIVE_QUERY_PARAMS: readonly string[] = sensitiveQueryParams(process.env[SENSITIVE_QUERY_PARAMS_ENV]);

export function isSensitiveQueryParam(name: string): boolean {
  return SENSITIVE_QUERY_PARAMS.includes(name);
}
