import { test } from "node:test";
import assert from "node:assert/strict";
import { compileFullMatch, literalPrefix } from "../../src/router/regex.ts";
import { gateway, plan, regex, route, src, winner } from "../plan/config-builder.ts";

test("literal prefixes stop at metacharacters and respect quantifiers", () => {
  assert.equal(literalPrefix("/users/[0-9]+"), "/users/");
  assert.equal(literalPrefix("/api/v1/.*"), "/api/v1/");
  assert.equal(literalPrefix("/users?"), "/user", "an optional char is not part of the literal");
  assert.equal(literalPrefix("/ab*"), "/a");
  assert.equal(literalPrefix("/ab{2}"), "/a");
  assert.equal(literalPrefix("/ab+"), "/ab", "+ still requires one");
  assert.equal(literalPrefix("/a\\.b"), "/a");
  assert.equal(literalPrefix("/a/(x|y)"), "/a/", "alternation inside a group is fine");
  assert.equal(literalPrefix("/a/x|/b"), "", "top-level alternation has no common prefix");
  assert.equal(literalPrefix("/a/[|]x"), "/a/", "a pipe in a class is not an alternation");
  assert.equal(literalPrefix(".*"), "");
  assert.equal(literalPrefix("^/x"), "");
});

test("compiled patterns are anchored full matches", () => {
  const re = compileFullMatch("a|b", src());
  assert.equal(re.test("a"), true);
  assert.equal(re.test("ab"), false);
  assert.equal(re.flags, "", "no g/y flags: test() keeps no state");
});

test("regexes bucketed by first segment and the others interleave by precedence", () => {
  const p = plan({
    gateways: [gateway("gw", [{}])],
    routes: [
      route("bucketed-short", { rules: [{ matches: [regex("/a/.*")] }] }),
      route("generic-long", { rules: [{ matches: [regex("/(a|b)/[a-z]+/[0-9]+")] }] }),
      route("bucketed-long", { rules: [{ matches: [regex("/a/items/[0-9]+/[a-z]+/x")] }] }),
      route("generic-short", { rules: [{ matches: [regex(".+")] }] }),
    ],
  });
  assert.equal(winner(p, { path: "/a/items/1/b/x" }), "default/bucketed-long");
  assert.equal(winner(p, { path: "/a/items/1" }), "default/generic-long");
  assert.equal(winner(p, { path: "/a/items" }), "default/bucketed-short");
  assert.equal(winner(p, { path: "/b/items/1" }), "default/generic-long");
  assert.equal(winner(p, { path: "/c" }), "default/generic-short");
});

test("a pattern that backtracks exponentially is still matched in time linear in the path (V8's linear engine takes over)", { timeout: 60_000 }, () => {
  // On the backtracking engine alone this one match takes about 2^60 steps: the test would never end.
  const p = plan({
    gateways: [gateway("gw", [{ name: "web" }])],
    routes: [route("nested", { rules: [{ matches: [regex("/api/(a+)+b")] }] }), route("header", { rules: [{ matches: [regex("/h/.*", { headers: [{ name: "x-v", value: "(a|aa)+c", type: "RegularExpression" }] })] }] })],
  });
  assert.equal(winner(p, { path: `/api/${"a".repeat(60)}!` }), "none");
  assert.equal(winner(p, { path: `/api/${"a".repeat(60)}b` }), "default/nested");
  assert.equal(winner(p, { path: "/h/x", headers: { "x-v": `${"a".repeat(80)}!` } }), "none");
});
