// normalizePath against RFC 3986's own examples (§5.2.4, §5.4) and the bypass shapes a
// prefix-matching router must not fall for.
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { normalizePath } from "../../src/proxy/path-normalize.ts";

describe("normalizePath", () => {
  const cases: [string, string][] = [
    ["/", "/"],
    ["/plain/path", "/plain/path"],
    ["/a/b/c/./../../g", "/a/g"],
    ["/mid/content=5/../6", "/mid/6"],
    ["/b/c/./g", "/b/c/g"],
    ["/b/c/g/.", "/b/c/g/"],
    ["/b/c/..", "/b/"],
    ["/b/c/../..", "/"],
    ["/../../g", "/g"],
    ["/.", "/"],
    ["/..", "/"],
    ["/.hidden/..dir/x..", "/.hidden/..dir/x.."],
    ["//admin", "/admin"],
    ["/a///b//", "/a/b/"],
    ["/public/../admin", "/admin"],
    ["/public/%2e%2E/admin", "/admin"],
    ["/%61dmin/%7Euser/%2d%5f", "/admin/~user/-_"],
    ["/a%20b/%c3%a9", "/a%20b/%C3%A9"],
    ["/api/group%2fproject", "/api/group%2Fproject"],
    ["/files/a%5cb", "/files/a%5Cb"],
    ["/bad%zzescape/%4", "/bad%zzescape/%4"],
    ["*", "*"],
  ];
  for (const [input, expected] of cases) {
    test(`${input} → ${expected}`, () => {
      assert.equal(normalizePath(input), expected);
    });
  }

  test("an already normal path comes back as the same string", () => {
    const path = "/v1/orders/42";
    assert.equal(normalizePath(path), path);
  });

  const ambiguous = ["/public/..%2Fadmin", "/public/..%2fadmin", "/public/..%5cadmin", "/public\\..\\admin", "/a%2F%2Fb", "/x/%2e%2e%2fadmin"];
  for (const input of ambiguous) {
    test(`${input} is ambiguous`, () => {
      assert.equal(normalizePath(input), undefined);
    });
  }
});
