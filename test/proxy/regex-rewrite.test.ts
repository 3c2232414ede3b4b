// The regex path rewrite as RE2's GlobalReplace runs it: every match, groups by number, an
// empty match right after a replaced one skipped, and a long path in linear time's reach.
import { test } from "node:test";
import assert from "node:assert/strict";
import { RegexRewrite } from "../../src/proxy/regex-rewrite.ts";

const rewrite = (pattern: string, substitution: string, input: string): string => new RegexRewrite(pattern, substitution).apply(input);

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
  const shared = new RegexRewrite("one", "two");
  assert.equal(shared.apply("/one/one"), "/two/two");
  assert.equal(shared.apply("/one"), "/two");
  assert.equal(shared.apply("/none"), "/ntwo");
});

test("the rewrite runs on the linear-time engine alone: a pattern only a backtracking engine runs is refused", () => {
  assert.throws(() => new RegexRewrite("a{0,17}[a-z]*X", "/b"), SyntaxError);
  assert.equal(new RegexRewrite("a{0,16}[a-z]*X", "/b").apply(`/${"a".repeat(100)}X`), "//b");
});
