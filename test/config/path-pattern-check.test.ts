// RegularExpression path values meet the normalised request path: text a normalised path
// never holds is found (so the config can warn), and text a pattern can still match, or only
// tests for without consuming, is not.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { literalRuns, neverMatchedText } from "../../src/config/path-pattern-check.ts";
import { normalizePath } from "../../src/router/path-normalize.ts";

describe("literalRuns", () => {
  test("escapes are the character they match; classes, class escapes, groups and quantified characters end a run", () => {
    assert.deepEqual(literalRuns("/a/\\.\\./b"), ["/a/../b"]);
    assert.deepEqual(literalRuns("/v[0-9]+/x%2e"), ["/v", "/x%2e"]);
    assert.deepEqual(literalRuns("/\\d+//"), ["/", "//"]);
    assert.deepEqual(literalRuns("/x%2f?"), ["/x%2"]);
    assert.deepEqual(literalRuns("/ac{2}d"), ["/a", "d"]);
    assert.deepEqual(literalRuns("/a\\x2f\\u002f\\u{2f}\\cJ\\p{L}\\1b"), ["/a", "b"]);
  });

  test("a group counts when every match goes through it: not optional, no alternation", () => {
    assert.deepEqual(literalRuns("/a(%2f)+b(?:c){1,2}"), ["/a", "%2f", "b", "c"]);
    assert.deepEqual(literalRuns("/a(%2f)?b(c)*d(?:e){0,2}f"), ["/a", "b", "d", "f"]);
    assert.deepEqual(literalRuns("/x(?:%2f|%2F)y(?<n>(a)|b)z"), ["/x", "y", "z"]);
    assert.deepEqual(literalRuns("/a/b|/c"), []);
  });

  test("group prefixes are not text, and a lookaround's text is not consumed", () => {
    assert.deepEqual(literalRuns("(?:/a)(?<id>b)(?i:c)"), ["/a", "b", "c"]);
    assert.deepEqual(literalRuns("/a(?!%2f)(?=x[)])(?<=y)(?<!z)/b"), ["/a", "/b"]);
  });
});

describe("neverMatchedText", () => {
  const cases: [pattern: string, text: string, hint: string][] = [
    ["/files/%2f.*", "%2f", "write %2F"],
    ["/%41pi/.*", "%41", "write A"],
    ["/v[0-9]+/%2e%2e/x", "%2e", "write \\."],
    ["/x%7e", "%7e", "write ~"],
    ["/x%00", "%00", "remove it"],
    ["/a//b", "//", "match a single /"],
    ["/a/\\/\\/b", "//", "match a single /"],
    ["/a\\\\b", "\\", "match / instead"],
    ["/a/\\.\\./b", "/../", "match the path they resolve to"],
    ["/a/\\./b", "/./", "match the path they resolve to"],
  ];
  for (const [pattern, text, hint] of cases) {
    test(`${pattern}: no normalised path contains ${text}`, () => {
      const found = neverMatchedText(pattern);
      assert.equal(found?.text, text);
      assert.equal(found?.hint, hint);
      // The claim itself: a request path that spells the text out loses it to normalisation.
      const path = `/p/${text}/q`;
      const normal = normalizePath(path);
      assert.ok(normal === undefined || !normal.includes(text), `${path} normalises to ${normal}`);
    });
  }

  // Each pattern with a request path it matches once normalised: a warning would be wrong.
  const matchable: [pattern: string, path: string][] = [
    ["/files/%2F.*", "/files/%2fa"],
    ["/ok%C3%A9/.*", "/ok%c3%a9/x"],
    ["/x%2[fF]", "/x%2f"],
    ["/a[%2f]", "/af"],
    ["/api/[^/]+/items", "/api/x/items"],
    ["/a/./b", "/a/x/b"],
    ["/a(?!%2f)/b", "/a/b"],
    ["/a(?<=a)x", "/ax"],
    ["(?i:/x%2f)", "/x%2F"],
    ["(?si:/x%2f)", "/x%2F"],
    ["/a%25/b", "/a%25/b"],
    ["/files(?:%2f|%2F).*", "/files%2Fa"],
    ["/files%2f.*|/files%2F.*", "/files%2Fa"],
    ["/a(?:\\/\\/)?b", "/ab"],
  ];
  for (const [pattern, path] of matchable) {
    test(`${pattern} matches ${path}: nothing to warn about`, () => {
      assert.match(normalizePath(path) ?? "", new RegExp(`^(?:${pattern})$`));
      assert.equal(neverMatchedText(pattern), undefined);
    });
  }
});
