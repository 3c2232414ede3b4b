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
    assert.deepEqual(literalRuns("/a(%2f)?b|c{2}d"), ["/a", "%2f", "b", "d"]);
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

  const matchable = ["/files/%2F.*", "/ok%C3%A9/.*", "/x%2f?", "/x%2[fF]", "[%2f]", "/api/[^/]+/items", "/a/./b", "/a(?!%2f)/b", "(?<=%2f)x", "(?i:/x%2f)", "/a%25/b"];
  for (const pattern of matchable) {
    test(`${pattern}: nothing to warn about`, () => {
      assert.equal(neverMatchedText(pattern), undefined);
    });
  }
});
