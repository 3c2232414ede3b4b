// kgateway's TrafficPolicy `urlRewrite.pathRegex`, which is Envoy's regex_rewrite: every match
// of the pattern in the path (the query stays as it is) is replaced by the substitution, in
// which `\1` to `\9` name the pattern's groups and `\0` the whole match. It becomes the path
// of the rule's URLRewrite filter, and so meets the HTTPRoute's own filters there.
import { canSearchLinearly } from "../router/linear-regex.ts";
import type { FilterModel, PathModifierModel, RuleModel } from "./model.ts";
import { regexProblem } from "./regex-check.ts";
import { checkPathCharacters, checkRequestTargetCharacters } from "./resolve-filters.ts";
import { type Reporter, type Resource, key } from "./resources.ts";

export interface PolicyUrlRewrite {
  readonly policy: Resource;
  readonly path: PathModifierModel;
}

export function policyUrlRewrite(p: Resource, reporter: Reporter, cfg: Record<string, unknown>): PolicyUrlRewrite | undefined {
  const regex = cfg["pathRegex"] as Record<string, unknown> | undefined;
  if (regex === undefined) {
    reporter.error(p, ["spec", "urlRewrite"], "pathRegex must be set", "add pathRegex: {pattern: '^/v1/(.*)$', substitution: '/\\1'}");
    return undefined;
  }
  const at = ["spec", "urlRewrite", "pathRegex"];
  const pattern = String(regex["pattern"]);
  const substitution = String(regex["substitution"]);
  const problem = regexProblem(pattern);
  if (problem?.severity === "error") {
    reporter.error(p, [...at, "pattern"], problem.message, problem.hint);
    return undefined;
  }
  // A rewrite searches the whole path from every position, which takes a backtracking
  // engine quadratic time even on shapes a full match runs fast; so it runs on V8's
  // linear-time engine alone, as RE2 would (and the fallback warnings do not apply).
  if (!canSearchLinearly(pattern)) {
    reporter.error(p, [...at, "pattern"], "a path rewrite runs on V8's linear-time engine, which cannot run this pattern (it takes no repeat count above 16 and no inline modifier such as (?i:…))", "use a smaller repeat count, or spell the alternatives out");
    return undefined;
  }
  // A pattern that also matches '' reports its group count in the match's length.
  const groups = new RegExp(`${pattern}|`).exec("")!.length - 1;
  const escape = badEscape(substitution, groups);
  if (escape !== undefined) {
    reporter.error(p, [...at, "substitution"], escape, "write \\1 to \\9 for a group of the pattern, \\0 for the whole match, \\\\ for a backslash");
    return undefined;
  }
  checkPathCharacters(p, reporter, substitution, [...at, "substitution"]);
  checkRequestTargetCharacters(p, reporter, substitution, [...at, "substitution"], "the substitution");
  return { policy: p, path: { type: "RegexReplace", pattern, substitution, source: reporter.source(p, [...at, "pattern"]) } };
}

/** The substitution (its escapes checked) as literal text and group numbers, `\0` being the whole match. */
export function substitutionParts(substitution: string): readonly (string | number)[] {
  const parts: (string | number)[] = [];
  let text = "";
  for (let i = 0; i < substitution.length; i++) {
    const ch = substitution[i]!;
    const next = substitution[i + 1];
    if (ch !== "\\" || next === undefined) {
      text += ch;
      continue;
    }
    i++;
    if (next === "\\") {
      text += "\\";
      continue;
    }
    if (text !== "") parts.push(text);
    text = "";
    parts.push(Number(next));
  }
  if (text !== "") parts.push(text);
  return parts;
}

function badEscape(substitution: string, groups: number): string | undefined {
  for (let i = 0; i < substitution.length; i++) {
    if (substitution[i] !== "\\") continue;
    const next = substitution[i + 1];
    if (next === "\\") {
      i++;
      continue;
    }
    if (next !== undefined && next >= "0" && next <= "9") {
      if (Number(next) > groups) return `\\${next} names group ${next}, and the pattern has ${groups === 0 ? "no groups" : groups === 1 ? "1 group" : `${groups} groups`}`;
      i++;
      continue;
    }
    return next === undefined ? "the substitution ends with a lone backslash" : `\\${next} is not a substitution escape`;
  }
  return undefined;
}

/**
 * Each rule's URLRewrite with its TrafficPolicy's path: a URLRewrite path of the rule's own
 * or of a backendRef's takes precedence, and a rule that answers without forwarding has
 * nothing to rewrite; each case is warned about at the policy.
 */
export function withPolicyUrlRewrite(route: Resource, rules: readonly RuleModel[], rewrites: ReadonlyMap<number, PolicyUrlRewrite> | undefined, reporter: Reporter): readonly RuleModel[] {
  if (rewrites === undefined) return rules;
  return rules.map((rule) => {
    const rewrite = rewrites.get(rule.index);
    if (rewrite === undefined) return rule;
    const ruleName = `HTTPRoute ${key(route)} rule ${rule.name ?? `#${rule.index}`}`;
    if (rule.filters.some((f) => f.type === "RequestRedirect" || f.type === "DirectResponse")) {
      reporter.warn(rewrite.policy, ["spec", "urlRewrite"], `${ruleName} answers without forwarding (a redirect or a direct response), so urlRewrite does not apply to it`, undefined);
      return rule;
    }
    const own = rule.filters.find((f): f is Extract<FilterModel, { type: "URLRewrite" }> => f.type === "URLRewrite");
    if (rule.backends.some((b) => b.filters.some((f) => f.type === "URLRewrite" && f.path !== undefined))) {
      reporter.warn(rewrite.policy, ["spec", "urlRewrite"], `${ruleName} has a backendRef whose URLRewrite filter sets a path, which takes precedence; this policy's urlRewrite does not apply to it`, undefined);
      return rule;
    }
    if (own?.path !== undefined) {
      reporter.warn(rewrite.policy, ["spec", "urlRewrite"], `${ruleName} has a URLRewrite filter with a path of its own, which takes precedence; this policy's urlRewrite does not apply to it`, undefined);
      return rule;
    }
    const filters: FilterModel[] =
      own === undefined ? [...rule.filters, { type: "URLRewrite", hostname: undefined, path: rewrite.path }] : rule.filters.map((f) => (f === own ? { ...own, path: rewrite.path } : f));
    return { ...rule, filters };
  });
}
