// The regex path rewrite as RE2's GlobalReplace runs it: every match, groups by number, an
// empty match right after a replaced one skipped, and a long path in linear time's reach.
import { test } from "node:test";
import assert from "node:assert/strict";
import { MAX_REPLACEMENTS, RegexRewrite } from "../../src/proxy/regex-rewrite.ts";
import { PlanCompileError } from "../../src/plan/errors.ts";

const SOURCE = { file: "t.yaml", line: 1, col: 1, path: "spec.urlRewrite.pathRegex.pattern" };
const rewrite = (pattern: string, substitution: string, input: string): string => new RegexRewrite(pattern, substitution, SOURCE).apply(input);

test("groups by number, the whole match, a literal $ and backslash, every match left to right", () => {
  assert.equal(rewrite("^/service/([^/]+)(/.*)$", "\\2/instance/\\1", "/service/foo/bar"), "/bar/instance/foo");
  assert.equal(rewrite("o", "[\\0]", "/foo/boo"), "/f[o][o]/b[o][o]");
  assert.equal(rewrite("^/(a)", "/$1\\\\\\1", "/ab"), "/$1\\ab");
  assert.equal(rewrite("^/(a)(b)(c)(d)(e)(f)(g)(h)(i)(j)$", "/\\10", "/abcdefghij"), "/a0", "\\10 is group 1 then 0, as in RE2");
  assert.equal(rewrite("^/(x)?(y)", "/[\\1]\\2", "/y"), "/[]y", "a group that took no part is empty");
  assert.equal(rewrite("zzz", "q", "/abc"), "/abc");
});

test("an empty match right after a replaced match is skipped, as RE2's GlobalReplace does", () => {
  assert.equal(rewrite("/?$", "/index.html", "/docs/"), "/docs/index.html");
  assert.equal(rewrite("/?$", "/index.html", "/docs"), "/docs/index.html");
  assert.equal(rewrite("x*", "-", "/ab"), "-/-a-b-");
});

test("the same rewrite serves request after request: no state carried between uses", () => {
  const shared = new RegexRewrite("one", "two", SOURCE);
  assert.equal(shared.apply("/one/one"), "/two/two");
  assert.equal(shared.apply("/one"), "/two");
  assert.equal(shared.apply("/none"), "/ntwo");
});

test("the rewrite runs on the linear-time engine alone: a pattern only a backtracking engine runs is refused", () => {
  assert.throws(() => new RegexRewrite("a{0,17}[a-z]*X", "/b", SOURCE), (err) => err instanceof PlanCompileError && /cannot run on the linear-time engine/.test(err.message));
  assert.equal(new RegexRewrite("a{0,16}[a-z]*X", "/b", SOURCE).apply(`/${"a".repeat(100)}X`), "//b");
});

test("a crafted path gets at most MAX_REPLACEMENTS replacements; the rest of it is left as it is", () => {
  const path = `/${"a".repeat(MAX_REPLACEMENTS + 10)}`;
  assert.equal(rewrite("a.*b|a", "x", path), `/${"x".repeat(MAX_REPLACEMENTS)}${"a".repeat(10)}`);
  assert.equal(rewrite("a", "x", `/${"a".repeat(MAX_REPLACEMENTS)}`), `/${"x".repeat(MAX_REPLACEMENTS)}`, "up to the bound, every match");
});
