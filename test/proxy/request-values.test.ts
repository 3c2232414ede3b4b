// Reading a query parameter or a cookie out of a request, as Envoy reads them: decoded for the
// API key and JWT sources, as written for a consistent hash key; cookie quotes taken off.
import { test } from "node:test";
import assert from "node:assert/strict";
import { cookieValue, queryValue, rawQueryValue } from "../../src/proxy/request-values.ts";

test("rawQueryValue: the first value of the name as written, no decoding; a bare name is an empty value", () => {
  assert.equal(rawQueryValue("a=1&tenant=v%31&tenant=2", "tenant"), "v%31");
  assert.equal(rawQueryValue("t%65nant=x", "tenant"), undefined);
  assert.equal(rawQueryValue("flag&x=1", "flag"), "");
  assert.equal(rawQueryValue("x=a+b", "x"), "a+b");
  assert.equal(rawQueryValue("", "x"), undefined);
  // queryValue decodes name and value, as the API key and JWT sources read them.
  assert.equal(queryValue("t%65nant=v%31", "tenant")!.toString("latin1"), "v1");
});

test("cookieValue: the named cookie, quotes taken off, whitespace around ignored", () => {
  assert.equal(cookieValue('a=1; aff="abc"; b=2', "aff"), "abc");
  assert.equal(cookieValue("a=1;aff=xyz", "aff"), "xyz");
  assert.equal(cookieValue("aff=", "aff"), "");
  assert.equal(cookieValue("affx=1", "aff"), undefined);
  assert.equal(cookieValue(undefined, "aff"), undefined);
});
