// The client address access controls (rbac and acl ranges) decide on: the effective client
// the listener's forwarded-header trust names, else the peer. A trusted proxy may forward a
// value that is no IP (`unknown`, an obfuscated RFC 7239 `for=_hidden`); as Envoy does with an
// XFF entry it cannot parse, the peer is used then, so no range check is skipped.
import { isIP } from "node:net";
import type { Exchange } from "./exchange.ts";
import { mappedIpv4 } from "./ip-bits.ts";

export type IpFamily = "ipv4" | "ipv6";

export interface ClientIp {
  readonly address: string;
  /** undefined only when not even the peer address is an IP (a closed socket). */
  readonly family: IpFamily | undefined;
}

export function clientIpOf(exchange: Exchange): ClientIp {
  const forwarded = ipOf(exchange.clientAddress);
  return forwarded.family !== undefined ? forwarded : ipOf(exchange.peerAddress);
}

/**
 * An IPv4-mapped IPv6 address in any spelling (`::ffff:7f00:1`, `0:0:0:0:0:ffff:127.0.0.1`,
 * as a dual-stack proxy may forward it) is its IPv4 address, so IPv4 ranges judge it.
 */
function ipOf(address: string): ClientIp {
  const version = isIP(address);
  if (version === 4) return { address, family: "ipv4" };
  if (version !== 6) return { address, family: undefined };
  const v4 = mappedIpv4(address);
  return v4 === undefined ? { address, family: "ipv6" } : { address: v4, family: "ipv4" };
}
