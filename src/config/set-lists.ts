// Gateway API listType=set fields: each entry once, `*` alone, header names as HTTP tokens.
import { HTTP_TOKEN_HINT, isHttpToken } from "./name-formats.ts";
import type { Reporter, Resource, Segments } from "./resources.ts";

/**
 * A listType=set field: each entry once (compared after `normalise`), and `*` only alone
 * unless `wildcardMayJoin`. Entries `normalise` refuses (returns undefined) are left out.
 */
export function uniqueList(
  r: Resource,
  reporter: Reporter,
  raw: unknown,
  at: Segments,
  normalise: (value: string, where: Segments) => string | undefined,
  wildcardMayJoin = false,
): string[] {
  if (!Array.isArray(raw)) return [];
  const out: string[] = [];
  const firstIndex = new Map<string, number>();
  raw.forEach((entry, i) => {
    const value = String(entry);
    const normalised = normalise(value, [...at, i]);
    if (normalised === undefined) return;
    const key = normalised.toLowerCase();
    const prev = firstIndex.get(key);
    if (prev !== undefined) {
      reporter.error(r, [...at, i], `"${value}" appears twice (also [${prev}])`, "list each value once");
      return;
    }
    firstIndex.set(key, i);
    out.push(normalised);
  });
  if (!wildcardMayJoin && raw.length > 1) {
    const star = raw.findIndex((entry) => entry === "*");
    if (star !== -1) reporter.error(r, [...at, star], `"*" allows everything, so it cannot stand beside other values`, `keep "*" alone, or list the values without it`);
  }
  return out;
}

/** A header name entry, lower-cased; undefined (reported) when it is not an HTTP token. */
export function headerName(r: Resource, reporter: Reporter, value: string, at: Segments): string | undefined {
  if (isHttpToken(value)) return value.toLowerCase();
  reporter.error(r, at, `"${value}" is not a valid header name`, HTTP_TOKEN_HINT);
  return undefined;
}
