// Address arithmetic for the access-control prefix tables, against values worked out by hand.
import assert from "node:assert/strict";
import { test } from "node:test";
import { addressBits, mappedIpv4, networkKey } from "../../src/proxy/ip-bits.ts";

test("addresses to bits: IPv4, IPv6 with and without ::, an IPv4 tail, a zone", () => {
  assert.equal(addressBits("10.1.2.3", "ipv4"), 0x0a010203n);
  assert.equal(addressBits("2001:db8::1", "ipv6"), 0x20010db8000000000000000000000001n);
  assert.equal(addressBits("1:2:3:4:5:6:7:8", "ipv6"), 0x00010002000300040005000600070008n);
  assert.equal(addressBits("::", "ipv6"), 0n);
  assert.equal(addressBits("fe80::", "ipv6"), 0xfe80n << 112n);
  assert.equal(addressBits("::ffff:192.0.2.1", "ipv6"), 0xffffc0000201n);
  assert.equal(addressBits("fe80::1%eth0", "ipv6"), (0xfe80n << 112n) | 1n);
});

test("IPv4-mapped addresses in every spelling, and addresses that are not mapped", () => {
  for (const spelling of ["::ffff:127.0.0.1", "::ffff:7f00:1", "0:0:0:0:0:ffff:127.0.0.1", "0:0:0:0:0:FFFF:7F00:0001"]) assert.equal(mappedIpv4(spelling), "127.0.0.1", spelling);
  for (const other of ["::1", "::7f00:1", "64:ff9b::7f00:1", "2001:db8::ffff:7f00:1"]) assert.equal(mappedIpv4(other), undefined, other);
});

test("network keys: the first prefix bits, the whole address for a full prefix, one key for /0", () => {
  assert.equal(networkKey(0x0a010203n, 32, 8), 0x0an);
  assert.equal(networkKey(0x0aff0203n, 32, 8), 0x0an);
  assert.equal(networkKey(0x0a010203n, 32, 32), 0x0a010203n);
  assert.equal(networkKey(0x0a010203n, 32, 0), networkKey(0xc0000201n, 32, 0));
  assert.equal(networkKey(0x20010db8000000000000000000000001n, 128, 32), 0x20010db8n);
});
