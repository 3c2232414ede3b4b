// Headers whose values are credentials: never captured or shown unless explicitly allowed.
export const SENSITIVE_HEADERS: ReadonlySet<string> = new Set(["authorization", "proxy-authorization", "cookie", "set-cookie"]);

export function isSensitiveHeader(name: string): boolean {
  return SENSITIVE_HEADERS.has(name.toLowerCase());
}

/** Query parameters whose values the HTTP semconv says must be redacted (names are case-sensitive). */
export const SENSITIVE_QUERY_PARAMS: readonly string[] = ["AWSAccessKeyId", "Signature", "sig", "X-Goog-Signature"];

export function isSensitiveQueryParam(name: string): boolean {
  return SENSITIVE_QUERY_PARAMS.includes(name);
}
