// One text per network address, so two spellings of it are one: what the consistent hash ring
// places endpoints by, what the config counts them by, and what a client address is hashed as.
import { isIPv6 } from "node:net";

/** `host:port`: an IPv6 literal (brackets or not) in its canonical spelling, a name in lower case. */
export function addressKey(host: string, port: number): string {
  const bare = host.startsWith("[") && host.endsWith("]") ? host.slice(1, -1) : host;
  return `${isIPv6(bare) ? canonicalIpv6(bare) : bare.toLowerCase()}:${port}`;
}

/** How many distinct addresses `endpoints` name, two spellings of one address counted once. */
export function distinctAddressCount(endpoints: readonly { readonly host: string; readonly port: number }[]): number {
  return new Set(endpoints.map((e) => addressKey(e.host, e.port))).size;
}

/** The canonical text of an IPv6 address (lower case, zeros compressed), a zone id kept; as written when it does not parse. */
export function canonicalIpv6(address: string): string {
  const percent = address.indexOf("%");
  const bare = percent < 0 ? address : address.slice(0, percent);
  try {
    const canonical = new URL(`http://[${bare}]/`).hostname.slice(1, -1);
    return percent < 0 ? canonical : canonical + address.slice(percent);
  } catch {
    return address;
  }
}
