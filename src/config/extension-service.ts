// What every GatewayExtension service block (`grpcService`, `httpService`) shares: the fields
// Tollgate reads but does not apply, warned about in one voice, and its time limit.
import { parseDuration } from "./duration.ts";
import type { Reporter, Resource, Segments } from "./resources.ts";

export function warnUnappliedServiceFields(e: Resource, reporter: Reporter, service: Record<string, unknown>, at: Segments, decides: string): void {
  if (service["authority"] !== undefined) {
    reporter.warn(e, [...at, "authority"], "authority is not applied: calls carry the service's host as their :authority", "remove authority, or point backendRef at the name the service expects");
  }
  if (service["retry"] !== undefined) {
    reporter.warn(e, [...at, "retry"], `retry is not applied: a failed call is not repeated (${decides} decides what the request gets)`, "remove retry");
  }
}

/** A service's `requestTimeout` in ms, `fallback` when unset; undefined (reported) when it is zero. */
export function serviceTimeoutMs(e: Resource, reporter: Reporter, raw: unknown, at: Segments, fallback: number, what: string, defaultText: string): number | undefined {
  if (raw === undefined) return fallback;
  const ms = parseDuration(String(raw));
  if (ms === 0) {
    reporter.error(e, at, `${what} cannot have a zero time limit`, `use at least 1ms; ${defaultText}`);
    return undefined;
  }
  return ms;
}
