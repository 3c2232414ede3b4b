// The PROXY protocol header a load balancer writes before a connection's first byte (v1
// text, v2 binary; haproxy's proxy-protocol.txt): how many bytes it takes, and the client
// address it carries. proxy-protocol-js decodes a whole header; framing it out of a TCP
// stream, and checking what v1's loose grammar lets through, is done here.
import { isIPv4, isIPv6 } from "node:net";
import { AddressFamilyType, Command, INETProtocol, IPv4ProxyAddress, IPv6ProxyAddress, V1ProxyProtocol, V2ProxyProtocol } from "proxy-protocol-js";

/** The client the header names: the connection's remote address from now on. */
export interface ProxiedPeer {
  readonly address: string;
  readonly port: number;
}

export type ProxyHeaderRead =
  | { readonly kind: "incomplete" }
  | { readonly kind: "invalid"; readonly why: string }
  /** `peer` undefined: a v2 LOCAL header (the balancer's own health check), a v1 UNKNOWN one, or a v2 family without an IP address: the connection's own address stands. */
  | { readonly kind: "complete"; readonly length: number; readonly peer: ProxiedPeer | undefined };

const V1_PREFIX = Buffer.from("PROXY ", "latin1");
/** The spec's bound on a v1 line, CRLF included. */
const V1_MAX_BYTES = 107;
const V2_SIGNATURE = Buffer.from([0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d, 0x0a, 0x51, 0x55, 0x49, 0x54, 0x0a]);
/** Signature, version and command, family and transport, and the 16-bit length. */
const V2_FIXED_BYTES = 16;
const INCOMPLETE: ProxyHeaderRead = Object.freeze({ kind: "incomplete" });

/** Reads the header at the start of `received` (all bytes the connection sent so far). */
export function readProxyHeader(received: Buffer): ProxyHeaderRead {
  if (startsLike(received, V2_SIGNATURE)) {
    if (received.length < V2_FIXED_BYTES) return INCOMPLETE;
    const length = V2_FIXED_BYTES + received.readUInt16BE(14);
    if (received.length < length) return INCOMPLETE;
    return readV2(received.subarray(0, length));
  }
  if (startsLike(received, V1_PREFIX)) {
    const end = received.indexOf("\r\n", 0, "latin1");
    if (end < 0) return received.length >= V1_MAX_BYTES ? { kind: "invalid", why: `a v1 header longer than ${V1_MAX_BYTES} bytes` } : INCOMPLETE;
    if (end + 2 > V1_MAX_BYTES) return { kind: "invalid", why: `a v1 header longer than ${V1_MAX_BYTES} bytes` };
    return readV1(received.toString("latin1", 0, end + 2));
  }
  return { kind: "invalid", why: "no PROXY protocol header" };
}

/** Whether `received` is `prefix`, or as much of it as has arrived. */
function startsLike(received: Buffer, prefix: Buffer): boolean {
  const n = Math.min(received.length, prefix.length);
  return n > 0 && received.compare(prefix, 0, n, 0, n) === 0;
}

function readV1(line: string): ProxyHeaderRead {
  if (line === "PROXY UNKNOWN\r\n" || line.startsWith("PROXY UNKNOWN ")) return { kind: "complete", length: line.length, peer: undefined };
  let header: V1ProxyProtocol;
  try {
    header = V1ProxyProtocol.parse(line);
  } catch {
    return { kind: "invalid", why: "a malformed v1 header" };
  }
  const isAddress = header.inetProtocol === INETProtocol.TCP4 ? isIPv4 : isIPv6;
  const { source, destination } = header;
  if (!isAddress(source.ipAddress) || !isAddress(destination.ipAddress)) return { kind: "invalid", why: `a v1 header whose addresses are not ${header.inetProtocol}` };
  if (!isPort(source.port) || !isPort(destination.port)) return { kind: "invalid", why: "a v1 header with a port out of range" };
  const address = header.inetProtocol === INETProtocol.TCP4 ? source.ipAddress : canonicalIpv6(source.ipAddress);
  return { kind: "complete", length: line.length, peer: { address, port: source.port } };
}

function readV2(header: Buffer): ProxyHeaderRead {
  let parsed: V2ProxyProtocol;
  try {
    parsed = V2ProxyProtocol.parse(header);
  } catch {
    return { kind: "invalid", why: "a malformed v2 header" };
  }
  if (parsed.command === Command.LOCAL) return { kind: "complete", length: header.length, peer: undefined };
  const address = parsed.proxyAddress;
  if (parsed.addressFamilyType === AddressFamilyType.INET && address instanceof IPv4ProxyAddress) {
    return { kind: "complete", length: header.length, peer: { address: address.sourceAddress.address.join("."), port: address.sourcePort } };
  }
  if (parsed.addressFamilyType === AddressFamilyType.INET6 && address instanceof IPv6ProxyAddress) {
    return { kind: "complete", length: header.length, peer: { address: ipv6Text(address.sourceAddress.address), port: address.sourcePort } };
  }
  // AF_UNSPEC or AF_UNIX: nothing an HTTP client address could be.
  return { kind: "complete", length: header.length, peer: undefined };
}

function isPort(port: number): boolean {
  return Number.isInteger(port) && port >= 0 && port <= 65535;
}

/** The text of 16 address bytes. */
function ipv6Text(bytes: readonly number[]): string {
  // An IPv4-mapped source is the IPv4 client, as node reports a dual-stack socket's peer.
  if (bytes.slice(0, 10).every((b) => b === 0) && bytes[10] === 0xff && bytes[11] === 0xff) return bytes.slice(12).join(".");
  const groups: string[] = [];
  for (let i = 0; i < 16; i += 2) groups.push(((bytes[i]! << 8) | bytes[i + 1]!).toString(16));
  return canonicalIpv6(groups.join(":"));
}

/** One text per IPv6 address, as node reports a socket's (the WHATWG URL parser's RFC 5952 form). */
function canonicalIpv6(text: string): string {
  return new URL(`http://[${text}]/`).hostname.slice(1, -1);
}
