// The per-port router: host first, then path/method/headers/query.
//
// A request host picks a precomputed chain of HostTables, most specific hostname first:
// the exact hostname, then every wildcard that admits it from the longest suffix down,
// then the tables of routes with no hostname. Gateway API gives hostname specificity
// precedence over every match criterion, so the first table in the chain with a passing
// candidate decides.
import type { IncomingHttpHeaders } from "node:http";
import type { CompiledMatch, Router } from "../plan/types.ts";
import type { Candidate } from "./candidate.ts";
import { HostTable, QueryScratch } from "./host-table.ts";
import { hostnameAdmits, isWildcardHostname } from "./hostnames.ts";
import { isSensitiveHeader, isSensitiveQueryParam } from "../config/sensitive.ts";
import { REDACTED } from "../config/url-credentials.ts";

/** The candidates of one route attachment and the hostnames it serves (`"any"`: no restriction). */
export interface RouterEntry {
  readonly hostnames: readonly string[] | "any";
  readonly candidates: readonly Candidate[];
}

const ANY_HOST = "*";

export class CompiledRouter implements Router {
  readonly size: number;
  private readonly exactHosts: ReadonlyMap<string, readonly HostTable[]>;
  /** Keyed by the wildcard without its `*`, e.g. `.example.com`. */
  private readonly wildcardHosts: ReadonlyMap<string, readonly HostTable[]>;
  private readonly anyHostChain: readonly HostTable[];
  /** Every table once, in describe() order. */
  private readonly tables: readonly HostTable[];
  private readonly scratch = new QueryScratch();

  constructor(entries: readonly RouterEntry[]) {
    const byHostname = new Map<string, Candidate[]>();
    for (const entry of entries) {
      const names = entry.hostnames === "any" ? [ANY_HOST] : entry.hostnames;
      for (const name of names) {
        const list = byHostname.get(name);
        if (list === undefined) byHostname.set(name, [...entry.candidates]);
        else list.push(...entry.candidates);
      }
    }
    const tables = new Map<string, HostTable>();
    for (const [name, candidates] of byHostname) tables.set(name, new HostTable(name, candidates));

    const anyTable = tables.get(ANY_HOST);
    const exactNames = [...tables.keys()].filter((n) => n !== ANY_HOST && !isWildcardHostname(n)).sort();
    // Longest (most specific) wildcard first; the spec counts characters.
    const wildcardNames = [...tables.keys()]
      .filter(isWildcardHostname)
      .sort((a, b) => b.length - a.length || (a < b ? -1 : 1));

    const tail = anyTable === undefined ? [] : [anyTable];
    const chainFor = (host: string, first: HostTable): readonly HostTable[] => {
      const chain = [first];
      for (const w of wildcardNames) if (w !== first.hostname && hostnameAdmits(w, host)) chain.push(tables.get(w)!);
      chain.push(...tail);
      return Object.freeze(chain);
    };

    const exactHosts = new Map<string, readonly HostTable[]>();
    for (const name of exactNames) exactHosts.set(name, chainFor(name, tables.get(name)!));
    const wildcardHosts = new Map<string, readonly HostTable[]>();
    // A host under `*.b.example.com` is also under every shorter wildcard that admits the
    // suffix itself, so the chain of the longest matching wildcard is complete.
    for (const name of wildcardNames) wildcardHosts.set(name.slice(1), chainFor(`x${name.slice(1)}`, tables.get(name)!));

    this.exactHosts = exactHosts;
    this.wildcardHosts = wildcardHosts;
    this.anyHostChain = Object.freeze(tail);
    this.tables = Object.freeze([
      ...exactNames.map((n) => tables.get(n)!),
      ...wildcardNames.map((n) => tables.get(n)!),
      ...tail,
    ]);
    let size = 0;
    for (const t of this.tables) size += t.size;
    this.size = size;
    Object.freeze(this);
  }

  match(host: string, method: string, path: string, rawQuery: string, headers: IncomingHttpHeaders): CompiledMatch | undefined {
    const chain = this.exactHosts.get(host) ?? this.wildcardChain(host);
    const scratch = this.scratch;
    scratch.raw = rawQuery;
    scratch.parsed = undefined;
    let result: CompiledMatch | undefined;
    for (let i = 0; i < chain.length; i++) {
      const hit = chain[i]!.match(method, path, headers, scratch);
      if (hit !== undefined) {
        result = hit.result;
        break;
      }
    }
    // Do not keep request data alive on the shared router.
    scratch.raw = "";
    scratch.parsed = undefined;
    return result;
  }

  private wildcardChain(host: string): readonly HostTable[] {
    if (this.wildcardHosts.size !== 0) {
      // Suffixes from longest to shortest; the first label must be non-empty.
      for (let dot = host.indexOf(".", 1); dot !== -1; dot = host.indexOf(".", dot + 1)) {
        const chain = this.wildcardHosts.get(host.slice(dot));
        if (chain !== undefined) return chain;
      }
    }
    return this.anyHostChain;
  }

  describe(): RouteTableRow[] {
    const rows: RouteTableRow[] = [];
    for (const table of this.tables) {
      for (const c of table.ordered) rows.push(describeCandidate(table.hostname, c));
    }
    return rows;
  }
}

export interface RouteTableRow {
  readonly hostname: string;
  readonly path: { readonly type: string; readonly value: string };
  readonly method: string | null;
  readonly headers: readonly { readonly name: string; readonly type: string; readonly value: string }[];
  readonly queryParams: readonly { readonly name: string; readonly type: string; readonly value: string }[];
  readonly route: string;
  readonly rule: string;
  readonly ruleId: number;
  readonly matchIndex: number;
  readonly httpRoute: string;
  readonly gateway: string;
  readonly listener: string;
  readonly terminal: boolean;
  readonly backends: readonly { readonly name: string; readonly weight: number }[];
}

function describeCandidate(hostname: string, c: Candidate): RouteTableRow {
  const rule = c.rule;
  const gw = rule.gateway.ref;
  return {
    hostname,
    path: { type: c.result.pathType, value: c.result.pathValue },
    method: c.method ?? null,
    // Matched values of credential headers and of the semconv's sensitive query parameters are secrets too.
    headers: c.headers.map((h) => ({ name: h.name, type: h.regex ? "RegularExpression" : "Exact", value: isSensitiveHeader(h.name) ? REDACTED : h.value })),
    queryParams: c.query.map((q) => ({ name: q.name, type: q.regex ? "RegularExpression" : "Exact", value: isSensitiveQueryParam(q.name) ? REDACTED : q.value })),
    route: rule.routeKey,
    rule: rule.ruleName,
    ruleId: rule.id,
    matchIndex: c.matchIndex,
    httpRoute: rule.httpRoute,
    gateway: `${gw.namespace}/${gw.name}`,
    listener: rule.listener.name,
    terminal: rule.filters.terminal,
    backends: rule.backends.entries.map((b) => ({ name: b.backend.displayName, weight: b.weight })),
  };
}
