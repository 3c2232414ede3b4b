// kgateway TrafficPolicy `urlRewrite.pathRegex` in the config: the URLRewrite path it loads to,
// how it meets the rule's own filters, the substitution's escapes, and the exact text of each
// error and warning.
import assert from "node:assert/strict";
import { test } from "node:test";
import type { FilterModel, RuleModel } from "../../src/config/model.ts";
import { substitutionParts } from "../../src/config/traffic-url-rewrite.ts";
import { TO_GATEWAY, TO_RULE_A, TWO_RULE_ROUTE, errors, load, trafficPolicy, warnings } from "./helpers.ts";

const policy = trafficPolicy;
const REWRITE = "  urlRewrite: {pathRegex: {pattern: '^/a/([^/]+)(/.*)$', substitution: '\\2/instance/\\1'}}\n";
const REGEX_PATH = { type: "RegexReplace", pattern: "^/a/([^/]+)(/.*)$", substitution: "\\2/instance/\\1", source: undefined as never } as const;

/** The rules, without the source positions of regex rewrites (compared where they matter). */
function rules(text: string): readonly RuleModel[] {
  const { config, diagnostics } = load(text);
  assert.ok(config, diagnostics.map((d) => d.message).join("\n"));
  return config.routes[0]!.rules.map((rule) => ({
    ...rule,
    filters: rule.filters.map((f) => (f.type === "URLRewrite" && f.path?.type === "RegexReplace" ? { ...f, path: { ...f.path, source: undefined as never } } : f)),
  }));
}
const withOwnFilter = (filter: string): string => TWO_RULE_ROUTE.replace("  - name: a\n", `  - name: a\n    filters: [${filter}]\n`);

test("a URLRewrite filter with the regex path, added to the rule or completing its own hostname-only URLRewrite", () => {
  assert.deepEqual(rules(TWO_RULE_ROUTE + policy("p", REWRITE)).map((r) => r.filters), [
    [{ type: "URLRewrite", hostname: undefined, path: REGEX_PATH }],
    [{ type: "URLRewrite", hostname: undefined, path: REGEX_PATH }],
  ]);
  const hostOnly = withOwnFilter("{type: URLRewrite, urlRewrite: {hostname: internal.example}}");
  assert.deepEqual(rules(hostOnly + policy("p", REWRITE))[0]!.filters, [{ type: "URLRewrite", hostname: "internal.example", path: REGEX_PATH }]);
  assert.deepEqual(warnings(TWO_RULE_ROUTE + policy("p", REWRITE)), []);
  const loaded = load(TWO_RULE_ROUTE + policy("p", REWRITE)).config!.routes[0]!.rules[0]!.filters[0];
  const path = loaded?.type === "URLRewrite" ? loaded.path : undefined;
  assert.deepEqual(path?.type === "RegexReplace" ? [path.source.line, path.source.path] : [], [34, "spec.urlRewrite.pathRegex.pattern"], "a plan compile error would point at the pattern");
});

test("the rule's own URLRewrite path wins, and a redirecting rule is left alone, each warned at the policy", () => {
  const ownPath = withOwnFilter("{type: URLRewrite, urlRewrite: {path: {type: ReplaceFullPath, replaceFullPath: /own}}}");
  assert.deepEqual(rules(ownPath + policy("p", REWRITE))[0]!.filters, [{ type: "URLRewrite", hostname: undefined, path: { type: "ReplaceFullPath", replaceFullPath: "/own" } }] satisfies FilterModel[]);
  assert.deepEqual(warnings(ownPath + policy("p", REWRITE)), [
    "t.yaml:35:15: spec.urlRewrite: warning: HTTPRoute default/web rule a has a URLRewrite filter with a path of its own, which takes precedence; this policy's urlRewrite does not apply to it",
  ]);
  const redirect = withOwnFilter("{type: RequestRedirect, requestRedirect: {hostname: elsewhere.example}}");
  assert.deepEqual(warnings(redirect + policy("p", REWRITE)), [
    "t.yaml:26:18: spec.rules[0].backendRefs: warning: backendRefs are never used: a RequestRedirect or DirectResponse filter answers first (hint: remove the backendRefs or the filter)",
    "t.yaml:35:15: spec.urlRewrite: warning: HTTPRoute default/web rule a answers without forwarding (a redirect or a direct response), so urlRewrite does not apply to it",
  ]);
});

test("bad patterns and substitutions are errors at the field; on a Gateway urlRewrite is warned about and ignored", () => {
  const rewrite = (pattern: string, substitution: string): string[] => errors(TWO_RULE_ROUTE + policy("p", `  urlRewrite: {pathRegex: {pattern: '${pattern}', substitution: '${substitution}'}}\n`));
  assert.deepEqual(rewrite("^/a/(.*)$", "/\\2"), ["t.yaml:34:64: spec.urlRewrite.pathRegex.substitution: \\2 names group 2, and the pattern has 1 group (hint: write \\1 to \\9 for a group of the pattern, \\0 for the whole match, \\\\ for a backslash)"]);
  assert.deepEqual(rewrite("^/a", "/b\\"), ["t.yaml:34:58: spec.urlRewrite.pathRegex.substitution: the substitution ends with a lone backslash (hint: write \\1 to \\9 for a group of the pattern, \\0 for the whole match, \\\\ for a backslash)"]);
  assert.deepEqual(rewrite("^/a", "/\\n"), ["t.yaml:34:58: spec.urlRewrite.pathRegex.substitution: \\n is not a substitution escape (hint: write \\1 to \\9 for a group of the pattern, \\0 for the whole match, \\\\ for a backslash)"]);
  assert.match(rewrite("^/(a", "/b")[0] ?? "", /^t\.yaml:34:37: spec\.urlRewrite\.pathRegex\.pattern: invalid regular expression: /);
  assert.match(rewrite("^/(a)\\1", "/b")[0] ?? "", /^t\.yaml:34:37: spec\.urlRewrite\.pathRegex\.pattern: the backreference \\1 is not RE2 syntax/);
  assert.deepEqual(errors(TWO_RULE_ROUTE + policy("p", "  urlRewrite: {}\n")), ["t.yaml:34:15: spec.urlRewrite: pathRegex must be set (hint: add pathRegex: {pattern: '^/v1/(.*)$', substitution: '/\\1'})"]);

  const onGateway = TWO_RULE_ROUTE + policy("p", REWRITE, TO_GATEWAY);
  assert.deepEqual(warnings(onGateway), [
    "t.yaml:33:16: spec.targetRefs[0]: warning: urlRewrite does not apply to a Gateway (only acl, apiKeyAuth, basicAuth, buffer, compression, cors, csrf, extAuth, faultInjection, headerModifiers, jwtAuth, rateLimit, rbac, retry and timeouts do); it is ignored for Gateway default/gw (hint: target the HTTPRoutes for urlRewrite)",
  ]);
  assert.deepEqual(rules(onGateway)[0]!.filters, []);
});

test("the substitution splits into literal text and group numbers: \\0 the whole match, \\\\ a backslash, $ literal", () => {
  assert.deepEqual(substitutionParts("\\2/instance/\\1"), [2, "/instance/", 1]);
  assert.deepEqual(substitutionParts("/x\\0y"), ["/x", 0, "y"]);
  assert.deepEqual(substitutionParts("/price$1/\\\\"), ["/price$1/\\"]);
  assert.deepEqual(substitutionParts("/\\10"), ["/", 1, "0"], "RE2 reads \\10 as group 1, then 0");
});

test("a pattern only the backtracking engine runs, whitespace or # in the substitution are errors; ? is a warning", () => {
  const at = (pattern: string, substitution: string, pick: typeof errors): string[] => pick(TWO_RULE_ROUTE + policy("p", `  urlRewrite: {pathRegex: {pattern: '${pattern}', substitution: '${substitution}'}}\n`));
  assert.deepEqual(at("a{0,17}[a-z]*X", "/b", errors), [
    "t.yaml:34:37: spec.urlRewrite.pathRegex.pattern: a path rewrite runs on V8's linear-time engine, which cannot run this pattern (it takes no repeat count above 16 and no inline modifier such as (?i:…)) (hint: use a smaller repeat count, or spell the alternatives out)",
  ]);
  assert.deepEqual(at("^/sp", "/a b", errors), ["t.yaml:34:59: spec.urlRewrite.pathRegex.substitution: the substitution holds whitespace, which a request target cannot carry (hint: percent-encode it (%20 for a space, %23 for #))"]);
  assert.deepEqual(at("^/h", "/a#b", errors), ["t.yaml:34:58: spec.urlRewrite.pathRegex.substitution: the substitution holds #, which starts a fragment, which a request target cannot carry (hint: percent-encode it (%20 for a space, %23 for #))"]);
  assert.deepEqual(at("^/q", "/x?y=1", warnings), ["t.yaml:34:58: spec.urlRewrite.pathRegex.substitution: warning: the substitution holds ?, so the rewritten path carries a query of its own before the request's (as in Envoy) (hint: leave queries to the client, or percent-encode it (%3F))"]);
});

test("a backendRef's own URLRewrite path takes precedence too, warned", () => {
  const text = TWO_RULE_ROUTE.replace("    backendRefs: [{name: app, port: 80}]\n", "    backendRefs: [{name: app, port: 80, filters: [{type: URLRewrite, urlRewrite: {path: {type: ReplaceFullPath, replaceFullPath: /b}}}]}]\n") + policy("p", REWRITE, TO_RULE_A);
  assert.deepEqual(rules(text)[0]!.filters, []);
  assert.deepEqual(warnings(text), [
    "t.yaml:34:15: spec.urlRewrite: warning: HTTPRoute default/web rule a has a backendRef whose URLRewrite filter sets a path, which takes precedence; this policy's urlRewrite does not apply to it",
  ]);
});
