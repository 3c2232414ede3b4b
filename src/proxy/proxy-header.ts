// The PROXY protocol header a load balancer writes before a connection's first byte (v1
// text, v2 binary; haproxy's proxy-protocol.txt): how many bytes it takes, and the addresses
// it carries. proxy-protocol-js decodes a whole header; framing it out of a TCP stream, and
// checking what v1's loose grammar lets through, is done here. Nothing here may throw: it
// runs on bytes any client can send.
import { SocketAddress, isIPv4, isIPv6 } from "node:net";
import { AddressFamilyType, INETProtocol, IPv4ProxyAddress, IPv6ProxyAddress, V1ProxyProtocol, V2ProxyProtocol } from "proxy-protocol-js";

export interface ProxiedEndpoint {
  readonly address: string;
  readonly port: number;
}

/** What the header says of the connection: the client, and the address it connected to at the balancer. */
export interface ProxiedConnection {
  readonly source: ProxiedEndpoint;
  readonly destination: ProxiedEndpoint;
}

export type ProxyHeaderRead =
  /** `needs`: how many bytes the header takes in all, once that is known (a v2 header's declared length). */
  | { readonly kind: "incomplete"; readonly needs?: number }
  | { readonly kind: "invalid"; readonly why: string }
  /** `connection` undefined: a v2 LOCAL header (the balancer's own health check) or a v1 UNKNOWN one: the connection's own addresses stand. */
  | { readonly kind: "complete"; readonly length: number; readonly connection: ProxiedConnection | undefined };

const V1_PREFIX = Buffer.from("PROXY ", "latin1");
/** The spec's bound on a v1 line, CRLF included. */
const V1_MAX_BYTES = 107;
const V2_SIGNATURE = Buffer.from([0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d, 0x0a, 0x51, 0x55, 0x49, 0x54, 0x0a]);
/** Signature, version and command, family and transport, and the 16-bit length. */
const V2_FIXED_BYTES = 16;
const V2_VERSION_LOCAL = 0x20;
const V2_VERSION_PROXY = 0x21;
const INCOMPLETE: ProxyHeaderRead = Object.freeze({ kind: "incomplete" });

/** Reads the header at the start of `received` (all bytes the connection sent so far). */
export function readProxyHeader(received: Buffer): ProxyHeaderRead {
  if (startsLike(received, V2_SIGNATURE)) {
    if (received.length < V2_FIXED_BYTES) return INCOMPLETE;
    const length = V2_FIXED_BYTES + received.readUInt16BE(14);
    if (received.length < length) return { kind: "incomplete", needs: length };
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
  if (line === "PROXY UNKNOWN\r\n" || line.startsWith("PROXY UNKNOWN ")) return { kind: "complete", length: line.length, connection: undefined };
  let header: V1ProxyProtocol;
  try {
    header = V1ProxyProtocol.parse(line);
  } catch {
    return { kind: "invalid", why: "a malformed v1 header" };
  }
  const v4 = header.inetProtocol === INETProtocol.TCP4;
  const { source, destination } = header;
  // node's checks take an IPv6 zone (`fe80::1%eth0`), which no client address has (Envoy's inet_pton refuses it too).
  const isAddress = (text: string): boolean => !text.includes("%") && (v4 ? isIPv4(text) : isIPv6(text));
  if (!isAddress(source.ipAddress) || !isAddress(destination.ipAddress)) return { kind: "invalid", why: `a v1 header whose addresses are not ${header.inetProtocol}` };
  if (!isPort(source.port) || !isPort(destination.port)) return { kind: "invalid", why: "a v1 header with a port out of range" };
  const text = v4 ? (address: string): string => address : ipv6Text;
  return {
    kind: "complete",
    length: line.length,
    connection: { source: { address: text(source.ipAddress), port: source.port }, destination: { address: text(destination.ipAddress), port: destination.port } },
  };
}

function readV2(header: Buffer): ProxyHeaderRead {
  // LOCAL: the balancer speaking for itself; the family and addresses mean nothing (and may be absent).
  if (header[12] === V2_VERSION_LOCAL) return { kind: "complete", length: header.length, connection: undefined };
  if (header[12] !== V2_VERSION_PROXY) return { kind: "invalid", why: "a v2 header of another version or command" };
  let parsed: V2ProxyProtocol;
  try {
    parsed = V2ProxyProtocol.parse(header);
  } catch {
    return { kind: "invalid", why: "a malformed v2 header" };
  }
  const address = parsed.proxyAddress;
  if (parsed.addressFamilyType === AddressFamilyType.INET && address instanceof IPv4ProxyAddress) {
    return {
      kind: "complete",
      length: header.length,
      connection: { source: { address: address.sourceAddress.address.join("."), port: address.sourcePort }, destination: { address: address.destinationAddress.address.join("."), port: address.destinationPort } },
    };
  }
  if (parsed.addressFamilyType === AddressFamilyType.INET6 && address instanceof IPv6ProxyAddress) {
    return {
      kind: "complete",
      length: header.length,
      connection: { source: { address: ipv6FromBytes(address.sourceAddress.address), port: address.sourcePort }, destination: { address: ipv6FromBytes(address.destinationAddress.address), port: address.destinationPort } },
    };
  }
  // A PROXY command for AF_UNSPEC or AF_UNIX names no client an HTTP gateway can use (Envoy closes these too).
  return { kind: "invalid", why: "a v2 header for an address family other than IPv4 or IPv6" };
}

function isPort(port: number): boolean {
  return Number.isInteger(port) && port >= 0 && port <= 65535;
}

/** One text per IPv6 address, as node reports a socket's peer: inet_ntop's, an IPv4-mapped one as the IPv4 address. */
function ipv6Text(address: string): string {
  const text = new SocketAddress({ address, family: "ipv6" }).address;
  return text.startsWith("::ffff:") && text.includes(".") ? text.slice(7) : text;
}

function ipv6FromBytes(bytes: readonly number[]): string {
  const groups: string[] = [];
  for (let i = 0; i < 16; i += 2) groups.push(((bytes[i]! << 8) | bytes[i + 1]!).toString(16));
  return ipv6Text(groups.join(":"));
}
