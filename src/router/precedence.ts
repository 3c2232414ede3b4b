// Gateway API match precedence among the candidates that can answer one host. HostTable
// orders a hostname's candidates by comparePrecedence, a merged host table by
// precedenceAcrossHostnames; an unmerged chain applies criterion 4 between its tables
// (router.ts).
//
// 1. Exact path, then RegularExpression (longer pattern first), then PathPrefix (longer
//    prefix first). Regexes rank between Exact and PathPrefix: see docs/routing.md.
// 2. A method match beats none.
// 3. More header matches, then more query-param matches.
// 4. The more specific route hostname through which the candidate serves the host: exact,
//    then longer wildcards, then none. Core conformance (HTTPRouteMatchingAcrossRoutes)
//    makes this a tiebreak after the match itself, not a filter before it.
// 5. Oldest route creationTimestamp, then `namespace/name` alphabetically.
// 6. Rule order inside the route, match order inside the rule, listener attachment order.
import type { PathMatchType } from "../config/model.ts";
import type { Candidate } from "./candidate.ts";

export function pathTypeRank(type: PathMatchType): number {
  return type === "Exact" ? 0 : type === "RegularExpression" ? 1 : 2;
}

/** Criteria 1-3: negative when `a` is the stronger match. */
export function compareMatchStrength(a: Candidate, b: Candidate): number {
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
  return b.query.length - a.query.length;
}

/** Criteria 5-6: a total order, so no two distinct candidates tie. */
export function compareRouteOrder(a: Candidate, b: Candidate): number {
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

/** Criteria 1-3 and 5-6: negative when `a` must be tried before `b` within one hostname. */
export function comparePrecedence(a: Candidate, b: Candidate): number {
  return compareMatchStrength(a, b) || compareRouteOrder(a, b);
}

/**
 * The order of a table merging several hostnames' candidates for one host: criterion 4 is
 * `hostnameRank`, each candidate's most specific hostname for that host (0 is the most specific).
 */
export function precedenceAcrossHostnames(hostnameRank: ReadonlyMap<Candidate, number>): (a: Candidate, b: Candidate) => number {
  return (a, b) => compareMatchStrength(a, b) || hostnameRank.get(a)! - hostnameRank.get(b)! || compareRouteOrder(a, b);
}

function compareStrings(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
