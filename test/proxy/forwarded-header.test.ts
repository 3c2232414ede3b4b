// The RFC 7239 reader honours quoted-strings and escapes, and never throws on malformed input.
import { test } from "node:test";
import assert from "node:assert/strict";
import { formatForwardedValue, parseForwarded } from "../../src/proxy/forwarded-header.ts";
import { stripForwardedUserinfo } from "../../src/proxy/forwarded-userinfo.ts";

/** Each element of a well-formed header as `name=value` strings, values unquoted. */
function read(header: string): string[][] {
  const parsed = parseForwarded(header);
  assert.equal(parsed.wellFormed, true, header);
  return parsed.elements.map((element) => element.map((pair) => `${pair.name}=${pair.value}`));
}

/** The same for a header that must read as not well-formed. */
function readMalformed(header: string): string[][] {
  const parsed = parseForwarded(header);
  assert.equal(parsed.wellFormed, false, header);
  return parsed.elements.map((element) => element.map((pair) => `${pair.name}=${pair.value}`));
}

function stripped(forwarded: string): string | undefined {
  const headers: Record<string, string> = { forwarded };
  stripForwardedUserinfo(headers);
  return headers.forwarded;
}

test("separators inside a quoted-string belong to the value", () => {
  assert.deepEqual(read('for="_a;b,c=d";proto=https, for=192.0.2.2'), [["for=_a;b,c=d", "proto=https"], ["for=192.0.2.2"]]);
  assert.deepEqual(read(String.raw`host="a\"b\\c;d"`), [[String.raw`host=a"b\c;d`]]);
});

test("names are trimmed and lower-cased; values are trimmed; spaces around separators are allowed", () => {
  assert.deepEqual(read(' For = "[2001:db8::1]:4711" ;  PROTO=http ,for=x '), [["for=[2001:db8::1]:4711", "proto=http"], ["for=x"]]);
});

test("empty list elements are skipped; an element without a parameter still counts as a hop", () => {
  assert.deepEqual(read(",, for=a ,, ,for=b,"), [["for=a"], ["for=b"]]);
  assert.deepEqual(read("for=a, garbage, for=b"), [["for=a"], [], ["for=b"]]);
  assert.deepEqual(read(""), []);
});

test("a quote that opens no closed quoted-string at a value's start is an ordinary character, and the header is not well-formed", () => {
  // A client's unclosed quote must not swallow the element a proxy appends after it.
  assert.deepEqual(readMalformed('for=198.51.100.7;x=", for=203.0.113.9'), [["for=198.51.100.7", "x="], ["for=203.0.113.9"]]);
  assert.deepEqual(readMalformed('for="a,b;c'), [["for=a"], []]);
  assert.deepEqual(readMalformed('for=a"b;proto=https'), [['for=a"b', "proto=https"]]);
  assert.deepEqual(readMalformed('"for"=x'), [['"for"=x']]);
  // A client's unclosed quote that a proxy's quoted value would close: text after the closing quote.
  assert.equal(parseForwarded('for="a, for="[2001:db8::1]"').wellFormed, false);
  assert.deepEqual(readMalformed('host="a"b;proto=https'), [["host=ab", "proto=https"]]);
  assert.deepEqual(read("for=a=b;=c"), [["for=a=b", "=c"]]);
  assert.deepEqual(readMalformed('for="ends\\'), [["for=ends\\"]], "a trailing backslash escapes nothing");
});

test("value spans point at the value as written, quotes included", () => {
  const header = 'for=x; host = "h:1" ;proto=https';
  const host = parseForwarded(header).elements[0]!.find((pair) => pair.name === "host")!;
  assert.equal(header.slice(host.valueStart, host.valueEnd), '"h:1"');
  assert.equal(host.quoted, true);
});

test("a value is written bare only when it is a token", () => {
  assert.equal(formatForwardedValue("shop.example", false), "shop.example");
  assert.equal(formatForwardedValue("shop.example", true), '"shop.example"');
  assert.equal(formatForwardedValue("shop.example:8443", false), '"shop.example:8443"');
  assert.equal(formatForwardedValue(String.raw`a"b\c`, false), String.raw`"a\"b\\c"`);
  assert.equal(formatForwardedValue("", false), '""');
});

test("userinfo is stripped from every host= only, separators and escapes in it included; every other byte is kept", () => {
  assert.equal(stripped('for="_x;host=a@b";host="alice:pa;ss,w\\"d@shop.example";proto=https'), 'for="_x;host=a@b";host="shop.example";proto=https');
  assert.equal(stripped("host=alice:pw@shop.example, for=x;HOST=bob@two.example:8443"), 'host=shop.example, for=x;HOST="two.example:8443"');
  assert.equal(stripped('for=x;host="alice:pa;ss@h'), undefined, "a malformed header with an @ goes whole");
  assert.equal(stripped('for=x;host="a"lice:pw@h'), undefined);
  assert.equal(stripped("for=a@b;by=c@d"), "for=a@b;by=c@d", "only host= carries an authority");
});
