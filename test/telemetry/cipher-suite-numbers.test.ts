// The IANA numbers of the cipher suites, checked against OpenSSL's own registry table
// (`openssl ciphers -V -stdname`): every entry is OpenSSL's number for that standard name, and
// every certificate-authenticated suite Node's OpenSSL offers has an entry.
import { test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { getCiphers } from "node:tls";
import { CIPHER_SUITE_NUMBERS } from "../../src/telemetry/logs/cipher-suite-numbers.ts";

const TLS13 = "TLS_AES_128_GCM_SHA256:TLS_AES_256_GCM_SHA384:TLS_CHACHA20_POLY1305_SHA256:TLS_AES_128_CCM_SHA256:TLS_AES_128_CCM_8_SHA256";

/** OpenSSL's table: standard name → [number, OpenSSL name]. */
function opensslTable(): Map<string, [number, string]> {
  const out = execFileSync("openssl", ["ciphers", "-V", "-stdname", "-ciphersuites", TLS13, "ALL:!PSK:!SRP:!aNULL:!eNULL:@SECLEVEL=0"], { encoding: "utf8" });
  const table = new Map<string, [number, string]>();
  for (const line of out.split("\n")) {
    const m = /^\s*0x([0-9A-F]{2}),0x([0-9A-F]{2}) - (\S+)\s+- (\S+)/.exec(line);
    if (m !== null) table.set(m[3]!, [parseInt(m[1]! + m[2]!, 16), m[4]!]);
  }
  return table;
}

test("every number is OpenSSL's for that standard name", () => {
  const table = opensslTable();
  assert.ok(table.size > 50, `openssl listed ${table.size} suites`);
  for (const [name, number] of Object.entries(CIPHER_SUITE_NUMBERS)) {
    const known = table.get(name);
    if (known === undefined) continue;
    assert.equal(number, known[0], name);
  }
  // The two most negotiated suites, by the registry's own numbers.
  assert.equal(CIPHER_SUITE_NUMBERS["TLS_AES_256_GCM_SHA384"], 0x1302);
  assert.equal(CIPHER_SUITE_NUMBERS["TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256"], 0xc02f);
});

test("every certificate-authenticated suite of Node's OpenSSL has a number", () => {
  const byOpensslName = new Map([...opensslTable()].map(([standard, [, openssl]]) => [openssl.toLowerCase(), standard]));
  // Every suite this Node can negotiate with a certificate (not PSK or SRP), none skipped.
  const negotiable = getCiphers().filter((name) => !/psk|srp/.test(name));
  assert.ok(negotiable.length >= 30, `${negotiable.length} suites`);
  for (const name of negotiable) {
    const standard = byOpensslName.get(name);
    assert.ok(standard !== undefined, `${name} is not in openssl's table`);
    assert.ok(CIPHER_SUITE_NUMBERS[standard] !== undefined, `${name} (${standard}) has no number`);
  }
});
