// Header bytes (read by node as Latin-1 characters) as text: for a gRPC service, any bytes
// must travel; for rbac's comparisons, only UTF-8 bytes may equal a UTF-8 literal.
import assert from "node:assert/strict";
import { test } from "node:test";
import { asText, utf8Text } from "../../src/proxy/header-text.ts";

const utf8Bytes = Buffer.from("José", "utf8").toString("latin1");
const latin1Byte = "Jos\xe9";

test("UTF-8 bytes read as their text both ways; ASCII is left as it is", () => {
  assert.equal(utf8Text(utf8Bytes), "José");
  assert.equal(asText(utf8Bytes), "José");
  assert.equal(utf8Text("plain"), "plain");
});

test("a byte that is not UTF-8 never reads as a UTF-8 literal for rbac, while a gRPC service still gets a character naming it", () => {
  assert.equal(utf8Text(latin1Byte), "Jos\ufffd", "Envoy compares bytes: 0xE9 alone is not José");
  assert.notEqual(utf8Text(latin1Byte), utf8Text(utf8Bytes));
  assert.equal(asText(latin1Byte), "José");
});
