// normalizePath against RFC 3986's own examples (§5.2.4, §5.4) and the bypass shapes a
// prefix-matching router must not fall for; alternateReading for the servers that decode
// escaped slashes or drop `;params`.
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { alternateReading, normalizePath, pathNeedsWork } from "../../src/router/path-normalize.ts";

/** No backslash, no `//`, no dot segment, and every escape upper-case hex of a reserved byte. */
function isNormalForm(path: string): boolean {
  if (path.includes("\\") || path.includes("//") || /(^|\/)\.\.?(\/|$)/.test(path)) return false;
  for (const escape of path.matchAll(/%(.{0,2})/g)) {
    if (!/^[0-9A-F]{2}$/.test(escape[1]!)) return false;
    if (/[A-Za-z0-9\-._~]/.test(String.fromCharCode(parseInt(escape[1]!, 16)))) return false;
  }
  return true;
}

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
    ["/.hidden/..dir/x../.well-known", "/.hidden/..dir/x../.well-known"],
    ["//admin", "/admin"],
    ["/a///b//", "/a/b/"],
    ["/public/../admin", "/admin"],
    ["/public/%2e%2E/admin", "/admin"],
    ["/public\\..\\admin", "/admin"],
    ["/%61dmin/%7Euser/%2d%5f", "/admin/~user/-_"],
    ["/a%20b/%c3%a9", "/a%20b/%C3%A9"],
    ["/%252e%252e/x", "/%252e%252e/x"],
    ["/api/group%2fproject", "/api/group%2Fproject"],
    ["/files/a%5cb", "/files/a%5Cb"],
    ["/java/..;/x", "/java/..;/x"],
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

  // A % that starts no escape could combine with a decoded neighbour into a new escape
  // (`%2%65` → `%2e`) that the upstream decodes once more.
  for (const input of ["/bad%zz", "/trailing%4", "/end%", "/public/%2%65%2%65/admin", "/%%32%65%%32%65/admin"]) {
    test(`${input} has a bad escape`, () => {
      assert.equal(normalizePath(input), undefined);
    });
  }

  // A server written in C may end the path at a decoded NUL: `/admin%00` would reach it as
  // `/admin` through a rule that `/admin` itself does not match.
  for (const input of ["/admin%00", "/admin%00/x", "/a/%00"]) {
    test(`${input} holds an escaped NUL and is refused like a bad escape`, () => {
      assert.equal(normalizePath(input), undefined);
    });
  }

  test("escapes of other control characters are kept, upper-cased", () => {
    assert.equal(normalizePath("/a%0a%01%7f"), "/a%0A%01%7F");
  });

  test("normalising is idempotent (generated paths over the characters that matter)", () => {
    const alphabet = ["/", ".", "%", "2", "e", "E", "f", "F", "5", "c", "6", "1", "\\", ";", "a", "%2e", "%2F", "%5c", "%61", "..", "//"];
    let seed = 12345;
    const next = (n: number): number => {
      seed = (seed * 1103515245 + 12345) % 2147483648;
      return seed % n;
    };
    let checked = 0;
    for (let i = 0; i < 20_000; i++) {
      let path = "/";
      const length = 1 + next(12);
      for (let j = 0; j < length; j++) path += alphabet[next(alphabet.length)];
      const once = normalizePath(path);
      if (once === undefined) continue;
      checked++;
      assert.equal(normalizePath(once), once, `${path} → ${once}`);
      assert.ok(isNormalForm(once), `${path} → ${once} is in normal form`);
    }
    assert.ok(checked > 5_000, `only ${checked} generated paths were valid`);
  });
});

describe("alternateReading", () => {
  const cases: [string, string | undefined][] = [
    ["/plain", undefined],
    ["/admin%2Fsecret", "/admin/secret"],
    ["/admin%5Csecret", "/admin/secret"],
    ["/public/..%2Fadmin", "/admin"],
    ["/public/..;/admin", "/admin"],
    ["/admin;x/secret", "/admin/secret"],
    ["/api;jsessionid=1", "/api"],
    ["/a%2F%2Fb", "/a/b"],
  ];
  for (const [input, expected] of cases) {
    test(`${input} → ${String(expected)}`, () => {
      assert.equal(alternateReading(input), expected);
    });
  }
});

describe("pathNeedsWork", () => {
  test("only paths that normalisation could change or that have another reading need work", () => {
    for (const path of ["/", "/api/v1/x", "/a.b/c-d_e~f", "*"]) assert.equal(pathNeedsWork(path), false, path);
    for (const path of ["//a", "/./a", "/a/..", "/.well-known", "/a%20b", "/a;b", "/a\\b"]) assert.equal(pathNeedsWork(path), true, path);
    // Everything that needs no work is its own normal form with no other reading.
    for (const path of ["/", "/api/v1/x", "/a.b/c-d_e~f"]) {
      assert.equal(normalizePath(path), path);
      assert.equal(alternateReading(path), undefined);
    }
  });
});
