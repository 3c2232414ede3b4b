// kgateway's TrafficPolicy `urlRewrite.pathRegex`, which is Envoy's regex_rewrite: every match
// of the pattern in the path (the query stays as it is) is replaced by the substitution, in
// which `\1` to `\9` name the pattern's groups and `\0` the whole match. It becomes the path
// of the rule's URLRewrite filter, and so meets the HTTPRoute's own filters there.
import type { FilterModel, PathModifierModel, RuleModel } from "./model.ts";
import { checkRegexSubstitution } from "./regex-substitution.ts";
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
  if (!checkRegexSubstitution(p, reporter, at, pattern, substitution, "a path rewrite")) return undefined;
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
