// readProxyHeader on bytes as a connection delivers them: where a PROXY protocol header
// ends, the addresses it names, and what it refuses (never by throwing: any client can send
// these bytes). The v2 headers are built with proxy-protocol-js, the v1 lines written as
// haproxy's proxy-protocol.txt spells them.
import assert from "node:assert/strict";
import { test } from "node:test";
import { Command, IPv4Address, IPv4ProxyAddress, IPv6Address, IPv6ProxyAddress, TransportProtocol, UnixAddress, UnixProxyAddress, UnspecProxyAddress, V2ProxyProtocol } from "proxy-protocol-js";
import { readProxyHeader } from "../../src/proxy/proxy-header.ts";

const bytes = (text: string): Buffer => Buffer.from(text, "latin1");
const v6 = (source: readonly number[], command = Command.PROXY): Buffer =>
  Buffer.from(new V2ProxyProtocol(command, TransportProtocol.STREAM, new IPv6ProxyAddress(IPv6Address.createFrom([...source]), 7, IPv6Address.createFrom([...new Array(15).fill(0), 1]), 80)).build());
const complete = (length: number, source: string, sourcePort: number, destination: string, destinationPort: number) => ({
  kind: "complete",
  length,
  connection: { source: { address: source, port: sourcePort }, destination: { address: destination, port: destinationPort } },
});

test("v1: TCP4 and TCP6 lines name the client and the address it reached; UNKNOWN keeps the connection's own; the bytes after the line are not the header's", () => {
  assert.deepEqual(readProxyHeader(bytes("PROXY TCP4 192.0.2.1 192.0.2.2 56324 443\r\nGET / HTTP/1.1\r\n")), complete(42, "192.0.2.1", 56324, "192.0.2.2", 443));
  assert.deepEqual(readProxyHeader(bytes("PROXY TCP6 2001:DB8:0:0::1 2001:db8::2 1 443\r\n")), complete(46, "2001:db8::1", 1, "2001:db8::2", 443), "one text per address");
  assert.deepEqual(readProxyHeader(bytes("PROXY TCP6 ::ffff:198.51.100.7 ::FFFF:C633:6401 1 443\r\n")), complete(55, "198.51.100.7", 1, "198.51.100.1", 443), "an IPv4-mapped address is the IPv4 one, as in v2");
  assert.deepEqual(readProxyHeader(bytes("PROXY UNKNOWN\r\n")), { kind: "complete", length: 15, connection: undefined });
  assert.deepEqual(readProxyHeader(bytes("PROXY UNKNOWN ffff::1 ffff::2 1 2\r\nGET")), { kind: "complete", length: 35, connection: undefined });
});

test("v1: incomplete until its CRLF; refused past 107 bytes, with addresses not of its family or with a zone, or a port out of range", () => {
  for (const partial of ["P", "PROXY", "PROXY TCP4 192.0.2.1", "PROXY TCP4 192.0.2.1 192.0.2.2 1 2\r"]) assert.deepEqual(readProxyHeader(bytes(partial)), { kind: "incomplete" }, partial);
  assert.equal(readProxyHeader(bytes(`PROXY TCP6 ${"f".repeat(101)}`)).kind, "invalid");
  assert.equal(readProxyHeader(bytes(`PROXY TCP6 ${"1:".repeat(48)}\r\n`)).kind, "invalid");
  assert.deepEqual(readProxyHeader(bytes("PROXY TCP4 2001:db8::1 192.0.2.2 1 2\r\n")), { kind: "invalid", why: "a v1 header whose addresses are not TCP4" });
  assert.deepEqual(readProxyHeader(bytes("PROXY TCP6 192.0.2.1 2001:db8::2 1 2\r\n")), { kind: "invalid", why: "a v1 header whose addresses are not TCP6" });
  assert.deepEqual(readProxyHeader(bytes("PROXY TCP6 fe80::1%eth0 ::1 1 2\r\n")), { kind: "invalid", why: "a v1 header whose addresses are not TCP6" });
  assert.deepEqual(readProxyHeader(bytes("PROXY TCP6 ::1 fe80::1%25 1 2\r\n")), { kind: "invalid", why: "a v1 header whose addresses are not TCP6" });
  assert.deepEqual(readProxyHeader(bytes("PROXY TCP4 192.0.2.1 192.0.2.2 65536 443\r\n")), { kind: "invalid", why: "a v1 header with a port out of range" });
  assert.deepEqual(readProxyHeader(bytes("PROXY TCP4 192.0.2.1 192.0.2.2 1\r\n")), { kind: "invalid", why: "a malformed v1 header" });
  assert.deepEqual(readProxyHeader(bytes("GET / HTTP/1.1\r\n")), { kind: "invalid", why: "no PROXY protocol header" });
  assert.deepEqual(readProxyHeader(bytes("PROXZ")), { kind: "invalid", why: "no PROXY protocol header" });
});

test("v2: incomplete until its declared length, which it names; IPv6 as node writes it, an IPv4-mapped source as IPv4", () => {
  const doc = v6([0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1]);
  for (const cut of [1, 12, 15]) assert.deepEqual(readProxyHeader(doc.subarray(0, cut)), { kind: "incomplete" }, `first ${cut} bytes`);
  for (const cut of [16, doc.length - 1]) assert.deepEqual(readProxyHeader(doc.subarray(0, cut)), { kind: "incomplete", needs: doc.length }, `first ${cut} bytes`);
  assert.deepEqual(readProxyHeader(Buffer.concat([doc, bytes("GET /")])), complete(doc.length, "2001:db8::1", 7, "::1", 80));
  const v4 = Buffer.from(new V2ProxyProtocol(Command.PROXY, TransportProtocol.STREAM, new IPv4ProxyAddress(IPv4Address.createFrom([192, 0, 2, 9]), 65535, IPv4Address.createFrom([10, 0, 0, 1]), 443)).build());
  assert.deepEqual(readProxyHeader(v4), complete(v4.length, "192.0.2.9", 65535, "10.0.0.1", 443));
  const mapped = v6([0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 198, 51, 100, 7]);
  assert.deepEqual(readProxyHeader(mapped), complete(mapped.length, "198.51.100.7", 7, "::1", 80));
  const long = Buffer.concat([v6(new Array(16).fill(1)), Buffer.alloc(60_000)]);
  long.writeUInt16BE(long.length - 16, 14);
  assert.deepEqual(readProxyHeader(long.subarray(0, 100)), { kind: "incomplete", needs: long.length }, "TLVs up to the 16-bit length are read past");
  assert.equal(readProxyHeader(long).kind, "complete");
});

test("v2: LOCAL keeps the connection's own addresses whatever its family says; a PROXY command for a non-IP family, another version or command is refused", () => {
  const local = v6(new Array(16).fill(1), Command.LOCAL);
  assert.deepEqual(readProxyHeader(local), { kind: "complete", length: local.length, connection: undefined });
  // A LOCAL header for INET6 with no address block: its length says 0.
  const bare = Buffer.from(local.subarray(0, 16));
  bare.writeUInt16BE(0, 14);
  assert.deepEqual(readProxyHeader(bare), { kind: "complete", length: 16, connection: undefined });
  const unix = Buffer.from(new V2ProxyProtocol(Command.PROXY, TransportProtocol.STREAM, new UnixProxyAddress(UnixAddress.createFrom([1]), UnixAddress.createFrom([2]))).build());
  assert.deepEqual(readProxyHeader(unix), { kind: "invalid", why: "a v2 header for an address family other than IPv4 or IPv6" });
  const unspec = Buffer.from(new V2ProxyProtocol(Command.PROXY, TransportProtocol.UNSPEC, new UnspecProxyAddress()).build());
  assert.deepEqual(readProxyHeader(unspec), { kind: "invalid", why: "a v2 header for an address family other than IPv4 or IPv6" });
  const doc = v6(new Array(16).fill(1));
  for (const versionAndCommand of [0x31, 0x2f, 0x11]) {
    const other = Buffer.from(doc);
    other[12] = versionAndCommand;
    assert.deepEqual(readProxyHeader(other), { kind: "invalid", why: "a v2 header of another version or command" }, versionAndCommand.toString(16));
  }
  const short = Buffer.from(doc.subarray(0, 16 + 4));
  short.writeUInt16BE(4, 14);
  assert.deepEqual(readProxyHeader(short), { kind: "invalid", why: "a malformed v2 header" }, "an address block shorter than its family's");
});

test("bytes any client may send never make it throw: 5,000 seeded mutations of valid headers and random lines", () => {
  // A fixed-seed generator, so a failure names an input that reproduces.
  let seed = 0x2545f491;
  const random = (n: number): number => {
    seed ^= seed << 13;
    seed ^= seed >>> 17;
    seed ^= seed << 5;
    return (seed >>> 0) % n;
  };
  const seeds = [bytes("PROXY TCP4 192.0.2.1 192.0.2.2 56324 443\r\n"), bytes("PROXY TCP6 2001:db8::1 ::ffff:1.2.3.4 1 443\r\n"), v6(new Array(16).fill(7)), v6(new Array(16).fill(7), Command.LOCAL)];
  const alphabet = bytes("PROXY TCP46UNKOW 0123456789abcdef:.%\r\n\u0000\u00ff-+ ");
  for (let i = 0; i < 5000; i++) {
    const input = Buffer.from(seeds[random(seeds.length)]!);
    for (let edits = 1 + random(4); edits > 0; edits--) {
      const at = random(input.length);
      input[at] = random(3) === 0 ? random(256) : alphabet[random(alphabet.length)]!;
    }
    const cut = input.subarray(0, 1 + random(input.length));
    let read;
    try {
      read = readProxyHeader(cut);
    } catch (error) {
      assert.fail(`input ${cut.toString("hex")} threw ${String(error)}`);
    }
    if (read.kind === "complete" && read.connection !== undefined) {
      for (const end of [read.connection.source, read.connection.destination]) {
        assert.ok(end.port >= 0 && end.port <= 65535 && /^[0-9a-f.:]+$/.test(end.address), `input ${cut.toString("hex")} gave ${JSON.stringify(end)}`);
      }
    }
  }
});
