// The effective config as JSON for the admin `GET /config`, with secrets removed: values of
// credential-carrying headers (in header modifiers and literal attributes), the values rbac
// expressions compare with, and credentials embedded in URLs.
import { withRedactedLiterals } from "../cel/redacted-literals.ts";
import type { ResolvedConfig } from "./model.ts";
import { isSensitiveHeader, isSensitiveQueryParam } from "./sensitive.ts";
import { REDACTED, redactUrlCredentials } from "./url-credentials.ts";

export { REDACTED };

export function redactConfigForAdmin(config: ResolvedConfig): unknown {
  return redact(config);
}

function redact(value: unknown): unknown {
  if (typeof value === "string") return redactUrlCredentials(value);
  if (Array.isArray(value)) return value.map(redact);
  if (value === null || typeof value !== "object") return value;
  const obj = value as Record<string, unknown>;
  // A model class says what of it may be shown (UpstreamTls: where trust comes from, not the PEM).
  if (typeof obj["toJSON"] === "function") return redact((obj["toJSON"] as () => unknown)());
  // What an rbac expression compares the request with may be a credential: values are hidden.
  if (obj["type"] === "Authorization" && Array.isArray(obj["expressions"])) {
    return { ...obj, expressions: (obj["expressions"] as string[]).map((expr) => withRedactedLiterals(expr, REDACTED)) };
  }
  const name = typeof obj["name"] === "string" ? obj["name"] : undefined;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(obj)) {
    if (name !== undefined && (isSensitiveHeader(name) || isSensitiveQueryParam(name)) && k === "value") {
      // `{name, value: "..."}` header modifier entries and header or query matches, and `{name, value: {from: "literal"}}` attributes.
      if (typeof v === "string") out[k] = REDACTED;
      else if (v !== null && typeof v === "object" && (v as Record<string, unknown>)["from"] === "literal") out[k] = { ...(v as object), value: REDACTED };
      else out[k] = redact(v);
      continue;
    }
    // By listener name; a Map would show as {}. Each value is redacted as the Gateway's own sections are.
    if (k === "listenerPolicies" && v instanceof Map) {
      out[k] = Object.fromEntries([...(v as Map<string, unknown>)].map(([listener, policies]) => [listener, redact(policies)]));
      continue;
    }
    if (k === "resourceAttributes" && v !== null && typeof v === "object" && !Array.isArray(v)) {
      out[k] = Object.fromEntries(Object.entries(v as Record<string, unknown>).map(([rk, rv]) => [rk, isSensitiveHeader(rk) ? REDACTED : redact(rv)]));
      continue;
    }
    out[k] = redact(v);
  }
  return out;
}
