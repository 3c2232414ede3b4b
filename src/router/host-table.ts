// The candidates serving one hostname (or every hostname), indexed so a request inspects
// only those whose path can match:
//   exact paths   Map path → candidates
//   regexes       bucketed by the literal first path segment their pattern starts with
//                 (`/users/[0-9]+` → `/users`), the rest in one list prefiltered by literal
//                 prefix; the two are merged in precedence order while matching
//   prefixes      Map prefix → candidates, probed at the request path's `/` boundaries,
//                 longest first, then the root prefix `/`
// Every list is already in precedence order, so the first candidate that passes wins.
import type { IncomingHttpHeaders } from "node:http";
import type { Candidate } from "./candidate.ts";
import { comparePrecedence } from "./precedence.ts";

/** Per-request scratch: the query string parsed at most once, only when a candidate needs it. */
export class QueryScratch {
  raw = "";
  parsed: URLSearchParams | undefined = undefined;

  get(): URLSearchParams {
    if (this.parsed === undefined) this.parsed = new URLSearchParams(this.raw);
    return this.parsed;
  }
}

export class HostTable {
  /** The hostname as configured (`example.com`, `*.example.com`) or `*` for any host. */
  readonly hostname: string;
  /** All candidates in precedence order, for describe(). */
  readonly ordered: readonly Candidate[];
  private readonly exact: ReadonlyMap<string, readonly Candidate[]>;
  private readonly regexBySegment: ReadonlyMap<string, RankedList>;
  private readonly regexOther: RankedList;
  private readonly prefixes: ReadonlyMap<string, readonly Candidate[]>;
  /** Distinct prefix lengths above 1, longest first. */
  private readonly prefixLengths: readonly number[];
  private readonly root: readonly Candidate[];

  constructor(hostname: string, candidates: readonly Candidate[]) {
    this.hostname = hostname;
    const ordered = [...candidates].sort(comparePrecedence);
    this.ordered = Object.freeze(ordered);
    const exact = new Map<string, Candidate[]>();
    const prefixes = new Map<string, Candidate[]>();
    const regex: Candidate[] = [];
    const root: Candidate[] = [];
    for (const c of ordered) {
      if (c.pathType === "Exact") push(exact, c.pathKey, c);
      else if (c.pathType === "RegularExpression") regex.push(c);
      else if (c.pathKey === "/") root.push(c);
      else push(prefixes, c.pathKey, c);
    }
    for (const list of exact.values()) Object.freeze(list);
    for (const list of prefixes.values()) Object.freeze(list);
    this.exact = exact;
    const bySegment = new Map<string, Candidate[]>();
    const other: Candidate[] = [];
    for (const c of regex) {
      const segment = literalFirstSegment(c.regexLiteral);
      if (segment === undefined) other.push(c);
      else push(bySegment, segment, c);
    }
    const rankOf = new Map(regex.map((c, i) => [c, i]));
    this.regexBySegment = new Map([...bySegment].map(([k, list]) => [k, new RankedList(list, rankOf)]));
    this.regexOther = new RankedList(other, rankOf);
    this.prefixes = prefixes;
    this.prefixLengths = Object.freeze([...new Set([...prefixes.keys()].map((p) => p.length))].sort((a, b) => b - a));
    this.root = Object.freeze(root);
    Object.freeze(this);
  }

  get size(): number {
    return this.ordered.length;
  }

  match(method: string, path: string, headers: IncomingHttpHeaders, query: QueryScratch): Candidate | undefined {
    const exact = this.exact.get(path);
    if (exact !== undefined) {
      const hit = firstPassing(exact, method, headers, query);
      if (hit !== undefined) return hit;
    }
    if (this.regexBySegment.size !== 0 || this.regexOther.items.length !== 0) {
      const hit = this.matchRegex(method, path, headers, query);
      if (hit !== undefined) return hit;
    }
    const lengths = this.prefixLengths;
    const pathLength = path.length;
    for (let i = 0; i < lengths.length; i++) {
      const len = lengths[i]!;
      if (len > pathLength) continue;
      // Element boundary: the prefix ends the path or is followed by `/`.
      if (len < pathLength && path.charCodeAt(len) !== 47) continue;
      const bucket = this.prefixes.get(len === pathLength ? path : path.slice(0, len));
      if (bucket === undefined) continue;
      const hit = firstPassing(bucket, method, headers, query);
      if (hit !== undefined) return hit;
    }
    if (this.root.length !== 0 && path.charCodeAt(0) === 47) return firstPassing(this.root, method, headers, query);
    return undefined;
  }

  /** Walks the path's segment bucket and the other regexes together, in precedence order. */
  private matchRegex(method: string, path: string, headers: IncomingHttpHeaders, query: QueryScratch): Candidate | undefined {
    const other = this.regexOther;
    let bucket: RankedList | undefined;
    if (this.regexBySegment.size !== 0) {
      const slash = path.indexOf("/", 1);
      if (slash !== -1 && path.charCodeAt(0) === 47) bucket = this.regexBySegment.get(path.slice(0, slash));
    }
    let i = 0;
    let j = 0;
    const bucketLength = bucket === undefined ? 0 : bucket.items.length;
    const otherLength = other.items.length;
    while (i < bucketLength || j < otherLength) {
      let c: Candidate;
      if (j >= otherLength || (i < bucketLength && bucket!.ranks[i]! < other.ranks[j]!)) c = bucket!.items[i++]!;
      else c = other.items[j++]!;
      if (c.regexLiteral.length !== 0 && !path.startsWith(c.regexLiteral)) continue;
      if (c.pathRegex!.test(path) && passes(c, method, headers, query)) return c;
    }
    return undefined;
  }
}

/** Candidates with their positions in the table's regex order, for merging. */
class RankedList {
  readonly items: readonly Candidate[];
  readonly ranks: Int32Array;

  constructor(items: readonly Candidate[], rankOf: ReadonlyMap<Candidate, number>) {
    this.items = Object.freeze([...items]);
    this.ranks = Int32Array.from(items, (c) => rankOf.get(c)!);
  }
}

/** `/users` for `/users/…`; undefined when the literal does not hold a whole first segment. */
function literalFirstSegment(literal: string): string | undefined {
  if (literal.charCodeAt(0) !== 47) return undefined;
  const slash = literal.indexOf("/", 1);
  return slash === -1 ? undefined : literal.slice(0, slash);
}

function firstPassing(
  list: readonly Candidate[],
  method: string,
  headers: IncomingHttpHeaders,
  query: QueryScratch,
): Candidate | undefined {
  for (let i = 0; i < list.length; i++) {
    const c = list[i]!;
    if (passes(c, method, headers, query)) return c;
  }
  return undefined;
}

function passes(c: Candidate, method: string, headers: IncomingHttpHeaders, query: QueryScratch): boolean {
  if (!c.testMethodAndHeaders(method, headers)) return false;
  return c.query.length === 0 || c.testQuery(query.get());
}

function push(map: Map<string, Candidate[]>, key: string, c: Candidate): void {
  const list = map.get(key);
  if (list === undefined) map.set(key, [c]);
  else list.push(c);
}
