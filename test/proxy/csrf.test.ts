// The csrf policy on its own: shares drawn per request, the scheme's default port on the
// target, safeRegex anchored at both ends, and ignoreCase on an origin that is not an
// http(s) URL (compared whole, as Envoy does).
import { test } from "node:test";
import assert from "node:assert/strict";
import type { CsrfModel } from "../../src/config/model.ts";
import { CsrfPolicy } from "../../src/proxy/csrf.ts";

const policy = (over: Partial<CsrfModel>): CsrfPolicy => new CsrfPolicy({ type: "Csrf", policy: "default/p", enabledShare: 1, shadowShare: 0, additionalOrigins: [], ...over });

test("percentageEnabled draws per request: a draw under the share is checked and refused, one over it is not checked", (t) => {
  const half = policy({ enabledShare: 0.5 });
  const random = t.mock.method(Math, "random", () => 0.4);
  assert.deepEqual(half.check("POST", { origin: "https://evil.example" }, "shop.example", "http"), { outcome: "invalid", refused: true });
  random.mock.mockImplementation(() => 0.6);
  assert.equal(half.check("POST", { origin: "https://evil.example" }, "shop.example", "http"), undefined);
  const shadow = policy({ enabledShare: 0, shadowShare: 0.5 });
  random.mock.mockImplementation(() => 0.4);
  assert.deepEqual(shadow.check("POST", {}, "shop.example", "http"), { outcome: "missing_origin", refused: false });
});

test("the target drops its scheme's default port: 443 under https, 80 under http", () => {
  const p = policy({});
  assert.equal(p.check("PUT", { origin: "https://shop.example" }, "shop.example:443", "https")?.outcome, "valid");
  assert.equal(p.check("PUT", { origin: "https://shop.example" }, "shop.example:443", "http")?.outcome, "invalid");
  assert.equal(p.check("PUT", { origin: "http://shop.example" }, "shop.example:80", "http")?.outcome, "valid");
  assert.equal(p.check("PUT", { origin: "http://shop.example" }, undefined, "http")?.outcome, "invalid", "no host: nothing is the same origin");
});

test("a safeRegex matches the whole source; ignoreCase compares a non-http origin whole, case aside", () => {
  const p = policy({
    additionalOrigins: [
      { kind: "safeRegex", value: "tools-[0-9]+\\.example\\.com:8443", ignoreCase: false },
      { kind: "exact", value: "capacitor://localhost", ignoreCase: true },
      { kind: "prefix", value: "app.", ignoreCase: false },
    ],
  });
  const outcome = (origin: string): string | undefined => p.check("POST", { origin }, "shop.example", "https")?.outcome;
  assert.equal(outcome("https://tools-7.example.com:8443"), "valid");
  // Not a URL (the port is out of range), so compared as written: the pattern is only part of it.
  assert.equal(outcome("https://tools-7.example.com:84430"), "invalid");
  assert.equal(outcome("tools-7.example.com:84430"), "invalid", "the pattern must reach the end");
  assert.equal(outcome("xtools-7.example.com:8443"), "invalid", "the pattern must start at the start");
  assert.equal(outcome("capacitor://LOCALHOST"), "valid");
  assert.equal(outcome("https://app.example.org"), "valid");
  assert.equal(outcome("https://App.example.org"), "valid", "the URL's host is lower-cased before matching");
  assert.equal(outcome("chrome-extension://abc"), "invalid");
});
