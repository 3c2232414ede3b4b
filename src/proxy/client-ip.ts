// The client address access controls (rbac and acl ranges) decide on: the effective client
// the listener's forwarded-header trust names, else the peer. A trusted proxy may forward a
// value that is no IP (`unknown`, an obfuscated RFC 7239 `for=_hidden`); as Envoy does with an
// XFF entry it cannot parse, the peer is used then, so no range check is skipped.
import { isIP } from "node:net";
import type { Exchange } from "./exchange.ts";

export type IpFamily = "ipv4" | "ipv6";

export interface ClientIp {
  readonly address: string;
  /** undefined only when not even the peer address is an IP (a closed socket). */
  readonly family: IpFamily | undefined;
}

export function clientIpOf(exchange: Exchange): ClientIp {
  const forwarded = familyOf(exchange.clientAddress);
  if (forwarded !== undefined) return { address: exchange.clientAddress, family: forwarded };
  return { address: exchange.peerAddress, family: familyOf(exchange.peerAddress) };
}

function familyOf(address: string): IpFamily | undefined {
  const version = isIP(address);
  return version === 4 ? "ipv4" : version === 6 ? "ipv6" : undefined;
}
