// Headers whose values are credentials: never captured or shown unless explicitly allowed.
export const SENSITIVE_HEADERS: ReadonlySet<string> = new Set(["authorization", "proxy-authorization", "cookie", "set-cookie"]);

export function isSensitiveHeader(name: string): boolean {
  return SENSITIVE_HEADERS.has(name.toLowerCase());
}

/**
 * Query parameters whose values are redacted (names are case-sensitive): the HTTP semconv's
 * default list, plus the AWS SigV4 presigned-URL credentials, which the semconv's
 * `AWSAccessKeyId` and `Signature` only cover for SigV2.
 */
export const SENSITIVE_QUERY_PARAMS: readonly string[] = ["AWSAccessKeyId", "Signature", "sig", "X-Goog-Signature", "X-Amz-Signature", "X-Amz-Credential", "X-Amz-Security-Token"];

export function isSensitiveQueryParam(name: string): boolean {
  return SENSITIVE_QUERY_PARAMS.includes(name);
}
