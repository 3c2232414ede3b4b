// An IP range in CIDR notation, as an rbac policy lists them: checked in the config stage, so
// the proxy hands net.BlockList (which does the matching) only ranges known to be good.
import { BlockList, isIP } from "node:net";

export interface Cidr {
  readonly address: string;
  readonly prefix: number;
  readonly family: "ipv4" | "ipv6";
}

/** The range `text` names (a bare address is the one-address range), or why it names none. */
export function parseCidr(text: string): Cidr | { readonly problem: string } {
  const slash = text.indexOf("/");
  const address = slash < 0 ? text : text.slice(0, slash);
  const version = isIP(address);
  if (version === 0) return { problem: `"${address}" is not an IPv4 or IPv6 address` };
  const bits = version === 4 ? 32 : 128;
  const prefixText = slash < 0 ? String(bits) : text.slice(slash + 1);
  if (!/^(0|[1-9][0-9]{0,2})$/.test(prefixText) || Number(prefixText) > bits) {
    return { problem: `the prefix length "${prefixText}" must be a whole number from 0 to ${bits}` };
  }
  return { address, prefix: Number(prefixText), family: version === 4 ? "ipv4" : "ipv6" };
}

/**
 * Whether an IPv6 range wider than /96 holds the IPv4-mapped block (`::/0`, `::/80`): the
 * proxy judges clients written `::ffff:a.b.c.d` as IPv4, so that part of the range never
 * matches them.
 */
export function holdsIpv4Mapped(cidr: Cidr): boolean {
  if (cidr.family !== "ipv6" || cidr.prefix >= 96) return false;
  const range = new BlockList();
  range.addSubnet(cidr.address, cidr.prefix, "ipv6");
  return range.check("::ffff:0:0", "ipv6");
}

export const IPV4_MAPPED_WARNING = "this IPv6 range holds the IPv4-mapped block ::ffff:0:0/96, but a client forwarded as ::ffff:a.b.c.d is judged as its IPv4 address, which IPv6 ranges never hold";
export const IPV4_MAPPED_HINT = "list the IPv4 range too (0.0.0.0/0 for all of them)";
