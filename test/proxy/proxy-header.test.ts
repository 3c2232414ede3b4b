// readProxyHeader on bytes as a connection delivers them: where a PROXY protocol header
// ends, the client it names, and what it refuses. The v2 headers are built with
// proxy-protocol-js, the v1 lines written as haproxy's proxy-protocol.txt spells them.
import assert from "node:assert/strict";
import { test } from "node:test";
import { Command, IPv6Address, IPv6ProxyAddress, TransportProtocol, UnixAddress, UnixProxyAddress, V2ProxyProtocol } from "proxy-protocol-js";
import { readProxyHeader } from "../../src/proxy/proxy-header.ts";

const bytes = (text: string): Buffer => Buffer.from(text, "latin1");
const v6 = (source: readonly number[]): Buffer =>
  Buffer.from(new V2ProxyProtocol(Command.PROXY, TransportProtocol.STREAM, new IPv6ProxyAddress(IPv6Address.createFrom([...source]), 7, IPv6Address.createFrom(new Array(16).fill(0)), 80)).build());

test("v1: TCP4 and TCP6 lines name their client; UNKNOWN keeps the connection's own; the bytes after the line are not the header's", () => {
  assert.deepEqual(readProxyHeader(bytes("PROXY TCP4 192.0.2.1 192.0.2.2 56324 443\r\nGET / HTTP/1.1\r\n")), { kind: "complete", length: 42, peer: { address: "192.0.2.1", port: 56324 } });
  assert.deepEqual(readProxyHeader(bytes("PROXY TCP6 2001:DB8:0:0::1 2001:db8::2 1 443\r\n")), { kind: "complete", length: 46, peer: { address: "2001:db8::1", port: 1 } }, "in one text per address");
  assert.deepEqual(readProxyHeader(bytes("PROXY UNKNOWN\r\n")), { kind: "complete", length: 15, peer: undefined });
  assert.deepEqual(readProxyHeader(bytes("PROXY UNKNOWN ffff::1 ffff::2 1 2\r\nGET")), { kind: "complete", length: 35, peer: undefined });
});

test("v1: incomplete until its CRLF; refused past 107 bytes, with addresses not of its family, or a port out of range", () => {
  for (const partial of ["P", "PROXY", "PROXY TCP4 192.0.2.1", "PROXY TCP4 192.0.2.1 192.0.2.2 1 2\r"]) assert.deepEqual(readProxyHeader(bytes(partial)), { kind: "incomplete" }, partial);
  assert.equal(readProxyHeader(bytes(`PROXY TCP6 ${"f".repeat(101)}`)).kind, "invalid");
  assert.equal(readProxyHeader(bytes(`PROXY TCP6 ${"1:".repeat(48)}\r\n`)).kind, "invalid");
  assert.deepEqual(readProxyHeader(bytes("PROXY TCP4 2001:db8::1 192.0.2.2 1 2\r\n")), { kind: "invalid", why: "a v1 header whose addresses are not TCP4" });
  assert.deepEqual(readProxyHeader(bytes("PROXY TCP6 192.0.2.1 2001:db8::2 1 2\r\n")), { kind: "invalid", why: "a v1 header whose addresses are not TCP6" });
  assert.deepEqual(readProxyHeader(bytes("PROXY TCP4 192.0.2.1 192.0.2.2 65536 443\r\n")), { kind: "invalid", why: "a v1 header with a port out of range" });
  assert.deepEqual(readProxyHeader(bytes("PROXY TCP4 192.0.2.1 192.0.2.2 1\r\n")), { kind: "invalid", why: "a malformed v1 header" });
  assert.deepEqual(readProxyHeader(bytes("GET / HTTP/1.1\r\n")), { kind: "invalid", why: "no PROXY protocol header" });
  assert.deepEqual(readProxyHeader(bytes("PROXZ")), { kind: "invalid", why: "no PROXY protocol header" });
});

test("v2: incomplete until its declared length; IPv6 in RFC 5952 text, an IPv4-mapped source as IPv4, a UNIX source keeping the connection's own", () => {
  const doc = v6([0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1]);
  for (const cut of [1, 12, 15, 16, doc.length - 1]) assert.deepEqual(readProxyHeader(doc.subarray(0, cut)), { kind: "incomplete" }, `first ${cut} bytes`);
  assert.deepEqual(readProxyHeader(Buffer.concat([doc, bytes("GET /")])), { kind: "complete", length: doc.length, peer: { address: "2001:db8::1", port: 7 } });
  const mapped = v6([0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 198, 51, 100, 7]);
  assert.deepEqual(readProxyHeader(mapped), { kind: "complete", length: mapped.length, peer: { address: "198.51.100.7", port: 7 } });
  const unix = Buffer.from(new V2ProxyProtocol(Command.PROXY, TransportProtocol.STREAM, new UnixProxyAddress(UnixAddress.createFrom([1]), UnixAddress.createFrom([2]))).build());
  assert.deepEqual(readProxyHeader(unix), { kind: "complete", length: unix.length, peer: undefined });
});

test("v2: a wrong version or command is refused", () => {
  const doc = v6(new Array(16).fill(1));
  const badVersion = Buffer.from(doc);
  badVersion[12] = 0x31;
  assert.deepEqual(readProxyHeader(badVersion), { kind: "invalid", why: "a malformed v2 header" });
  const badCommand = Buffer.from(doc);
  badCommand[12] = 0x2f;
  assert.deepEqual(readProxyHeader(badCommand), { kind: "invalid", why: "a malformed v2 header" });
});
