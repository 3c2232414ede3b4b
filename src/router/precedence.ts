// Gateway API match precedence among candidates that serve the same hostname.
//
// 1. Exact path, then RegularExpression (longer pattern first), then PathPrefix (longer
//    prefix first). Regexes rank between Exact and PathPrefix: see docs/routing.md.
// 2. A method match beats none.
// 3. More header matches, then more query-param matches.
// 4. Oldest route creationTimestamp, then `namespace/name` alphabetically.
// 5. Rule order inside the route, match order inside the rule, listener attachment order.
import type { PathMatchType } from "../config/model.ts";
import type { Candidate } from "./candidate.ts";

export function pathTypeRank(type: PathMatchType): number {
  return type === "Exact" ? 0 : type === "RegularExpression" ? 1 : 2;
}

/** Negative when `a` must be tried before `b`. A total order: no two candidates tie. */
export function comparePrecedence(a: Candidate, b: Candidate): number {
  const typeDiff = pathTypeRank(a.pathType) - pathTypeRank(b.pathType);
  if (typeDiff !== 0) return typeDiff;
  if (a.pathType !== "Exact") {
    const lenDiff = b.pathKey.length - a.pathKey.length;
    if (lenDiff !== 0) return lenDiff;
  }
  const methodDiff = (a.method === undefined ? 1 : 0) - (b.method === undefined ? 1 : 0);
  if (methodDiff !== 0) return methodDiff;
  const headerDiff = b.headers.length - a.headers.length;
  if (headerDiff !== 0) return headerDiff;
  const queryDiff = b.query.length - a.query.length;
  if (queryDiff !== 0) return queryDiff;
  const ra = a.rule.route.ref;
  const rb = b.rule.route.ref;
  const ageDiff = ra.creationTimestampMs - rb.creationTimestampMs;
  if (ageDiff !== 0) return ageDiff;
  const keyDiff = compareStrings(a.rule.routeKey, b.rule.routeKey);
  if (keyDiff !== 0) return keyDiff;
  const ruleDiff = a.rule.model.index - b.rule.model.index;
  if (ruleDiff !== 0) return ruleDiff;
  const matchDiff = a.matchIndex - b.matchIndex;
  if (matchDiff !== 0) return matchDiff;
  const attachDiff = a.attachment - b.attachment;
  if (attachDiff !== 0) return attachDiff;
  // Only reachable for distinct path values of the same type and length, which can never
  // both match one request; order them by value so describe() is stable.
  return compareStrings(a.pathKey, b.pathKey);
}

function compareStrings(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
