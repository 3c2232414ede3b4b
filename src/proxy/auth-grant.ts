// What an allowing ExternalAuth check does to the request it lets through: headers to put on
// the forwarded request (set, appended, added when absent, replaced when present), headers to
// take off it, and, from a gRPC service, headers to add to the answer the client gets.
import type { OutgoingHeaders } from "../telemetry/hooks.ts";

/**
 * How a header is written, as Envoy's HeaderValueOption.HeaderAppendAction: `append` adds the
 * value after any present one, `addIfAbsent` writes only a missing header, `overwrite`
 * replaces or adds, `overwriteIfExists` replaces only a present one.
 */
export type HeaderAction = "append" | "addIfAbsent" | "overwrite" | "overwriteIfExists";

export interface HeaderMutation {
  /** Lower case. */
  readonly name: string;
  readonly value: string | string[];
  readonly action: HeaderAction;
}

export class AuthGrant {
  /** Applied in order to the forwarded request's headers. */
  readonly mutations: readonly HeaderMutation[];
  /** Taken off the forwarded request after the mutations; lower case, never Host. */
  readonly remove: readonly string[];
  /** Applied to the answer the client gets; undefined when there are none. */
  readonly responseMutations: readonly HeaderMutation[] | undefined;

  constructor(mutations: readonly HeaderMutation[], remove: readonly string[], responseMutations: readonly HeaderMutation[] | undefined) {
    this.mutations = mutations;
    this.remove = remove;
    this.responseMutations = responseMutations;
  }

  applyTo(headers: OutgoingHeaders): void {
    applyMutations(this.mutations, headers);
    for (const name of this.remove) delete headers[name];
  }
}

/**
 * Two grants applied one after the other (an ExternalAuth check's, then a rate limit
 * service's): the second's headers are set after the first's, and a header the first removes
 * but the second sets stays.
 */
export function combinedGrant(first: AuthGrant | undefined, second: AuthGrant | undefined): AuthGrant | undefined {
  if (first === undefined || second === undefined) return first ?? second;
  const set = new Set(second.mutations.map((m) => m.name));
  const responseMutations = first.responseMutations === undefined ? second.responseMutations : second.responseMutations === undefined ? first.responseMutations : [...first.responseMutations, ...second.responseMutations];
  return new AuthGrant([...first.mutations, ...second.mutations], first.remove.filter((name) => !set.has(name)), responseMutations);
}

export function applyMutations(mutations: readonly HeaderMutation[], headers: OutgoingHeaders): void {
  for (const m of mutations) {
    // Own keys only: `constructor` must read as absent, not as Object's.
    const present = Object.hasOwn(headers, m.name) ? headers[m.name] : undefined;
    switch (m.action) {
      case "overwrite":
        headers[m.name] = m.value;
        break;
      case "overwriteIfExists":
        if (present !== undefined) headers[m.name] = m.value;
        break;
      case "addIfAbsent":
        if (present === undefined) headers[m.name] = m.value;
        break;
      case "append":
        headers[m.name] = present === undefined ? m.value : appended(m.name, present, m.value);
        break;
    }
  }
}

/** Set-Cookie cannot be folded into one line; any other header's values join with a comma (RFC 9110 §5.3). */
function appended(name: string, present: string | string[], value: string | string[]): string | string[] {
  if (name === "set-cookie") return [...(typeof present === "string" ? [present] : present), ...(typeof value === "string" ? [value] : value)];
  const head = typeof present === "string" ? present : present.join(",");
  return `${head},${typeof value === "string" ? value : value.join(",")}`;
}
