// One (rule × match) entry of a router table, with everything its test needs precompiled.
import type { IncomingHttpHeaders } from "node:http";
import type { MatchModel, PathMatchType } from "../config/model.ts";
import type { CompiledMatch, CompiledRule } from "../plan/types.ts";
import { compileFullMatch, literalPrefix } from "./regex.ts";

/** A header or query-param predicate: an exact value, or a regex when `regex` is set. */
export class ValuePredicate {
  readonly name: string;
  /** As written in the config. */
  readonly value: string;
  readonly regex: RegExp | undefined;

  constructor(name: string, value: string, regex: RegExp | undefined) {
    this.name = name;
    this.value = value;
    this.regex = regex;
  }

  test(value: string): boolean {
    return this.regex === undefined ? value === this.value : this.regex.test(value);
  }
}

/**
 * PathPrefix values match element by element and a trailing `/` is ignored, so `/foo/` and
 * `/foo` are the same prefix. The root stays `/`.
 */
export function normalizePrefix(prefix: string): string {
  let end = prefix.length;
  while (end > 1 && prefix.charCodeAt(end - 1) === 47 /* / */) end--;
  return end === prefix.length ? prefix : prefix.slice(0, end);
}

export class Candidate {
  readonly rule: CompiledRule;
  readonly matchIndex: number;
  /** Order of the listener attachment that produced the rule: the last tiebreak. */
  readonly attachment: number;
  readonly pathType: PathMatchType;
  /** Exact: the path. PathPrefix: the normalized prefix. RegularExpression: the pattern. */
  readonly pathKey: string;
  readonly pathRegex: RegExp | undefined;
  /** RegularExpression only: text every matching path starts with ('' when unknown). */
  readonly regexLiteral: string;
  readonly method: string | undefined;
  readonly headers: readonly ValuePredicate[];
  readonly query: readonly ValuePredicate[];
  /** Preallocated, so a hit returns without allocating. */
  readonly result: CompiledMatch;

  constructor(rule: CompiledRule, matchIndex: number, attachment: number, model: MatchModel) {
    this.rule = rule;
    this.matchIndex = matchIndex;
    this.attachment = attachment;
    this.pathType = model.path.type;
    this.pathKey = model.path.type === "PathPrefix" ? normalizePrefix(model.path.value) : model.path.value;
    this.pathRegex =
      model.path.type === "RegularExpression" ? compileFullMatch(model.path.value, model.source) : undefined;
    this.regexLiteral = model.path.type === "RegularExpression" ? literalPrefix(model.path.value) : "";
    this.method = model.method === undefined ? undefined : model.method.toUpperCase();
    this.headers = Object.freeze(firstByName(model.headers, true).map((h) => predicate(h, model)));
    this.query = Object.freeze(firstByName(model.queryParams, false).map((q) => predicate(q, model)));
    this.result = Object.freeze({ rule, pathType: model.path.type, pathValue: model.path.value });
  }

  /** Method and header predicates; query predicates are tested separately (lazily parsed). */
  testMethodAndHeaders(method: string, headers: IncomingHttpHeaders): boolean {
    if (this.method !== undefined && this.method !== method) return false;
    const preds = this.headers;
    for (let i = 0; i < preds.length; i++) {
      const p = preds[i]!;
      const value = headers[p.name];
      if (value === undefined) return false;
      if (typeof value === "string") {
        if (!p.test(value)) return false;
      } else if (!anyPasses(p, value)) return false;
    }
    return true;
  }

  testQuery(params: URLSearchParams): boolean {
    const preds = this.query;
    for (let i = 0; i < preds.length; i++) {
      const p = preds[i]!;
      // The first occurrence of a repeated parameter is the one that counts.
      const value = params.get(p.name);
      if (value === null || !p.test(value)) return false;
    }
    return true;
  }
}

function anyPasses(p: ValuePredicate, values: readonly string[]): boolean {
  for (let i = 0; i < values.length; i++) if (p.test(values[i]!)) return true;
  return false;
}

type ValueMatch = MatchModel["headers"][number];

/** Gateway API: when several entries name the same header/param, only the first counts. */
function firstByName(entries: readonly ValueMatch[], caseInsensitive: boolean): ValueMatch[] {
  const seen = new Set<string>();
  const out: ValueMatch[] = [];
  for (const e of entries) {
    const key = caseInsensitive ? e.name.toLowerCase() : e.name;
    if (seen.has(key)) continue;
    seen.add(key);
    out.push(caseInsensitive ? { ...e, name: key } : e);
  }
  return out;
}

function predicate(m: ValueMatch, model: MatchModel): ValuePredicate {
  return m.type === "RegularExpression"
    ? new ValuePredicate(m.name, m.value, compileFullMatch(m.value, model.source))
    : new ValuePredicate(m.name, m.value, undefined);
}
