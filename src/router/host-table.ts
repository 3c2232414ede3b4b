// The candidates serving one hostname (or every hostname), indexed so a request inspects
// only those whose path can match:
//   exact paths   Map path → candidates
//   regexes       one list, longest pattern first
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
  private readonly regex: readonly Candidate[];
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
    this.regex = Object.freeze(regex);
    this.prefixes = prefixes;
    this.prefixLengths = Object.freeze([...new Set([...prefixes.keys()].map((p) => p.length))].sort((a, b) => b - a));
    this.root = Object.freeze(root);
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
    const regex = this.regex;
    for (let i = 0; i < regex.length; i++) {
      const c = regex[i]!;
      if (c.pathRegex!.test(path) && passes(c, method, headers, query)) return c;
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
