// The semantic-conventions version Tollgate follows, and the instrumentation scope every
// signal shares. Attribute keys themselves live in the registry (registry.ts).
import type { InstrumentationScope } from "@opentelemetry/core";
import { TOLLGATE_VERSION } from "./version.ts";

export const SEMCONV_VERSION = "1.37.0";
export const SCHEMA_URL = `https://opentelemetry.io/schemas/${SEMCONV_VERSION}`;

/** One scope object, shared: the OTLP serialisers group by scope identity. */
export const TOLLGATE_SCOPE: InstrumentationScope = {
  name: "tollgate",
  version: TOLLGATE_VERSION,
  schemaUrl: SCHEMA_URL,
};

/**
 * Whether a served request failed, by the HTTP span status rule for the server side: a 5xx,
 * or a failure its status does not tell (no status was sent, or the response broke off
 * after its status went out). A 4xx alone is the client's error.
 */
export function serverRequestFailed(status: number, errorType: string | undefined): boolean {
  return status >= 500 || (errorType !== undefined && errorType !== String(status));
}
