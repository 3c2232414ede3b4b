// Addresses as numbers, for longest-prefix tables: net.BlockList answers "is it in one of
// these ranges" by walking them all, not "which range, longest first". Inputs are checked
// addresses (net.isIP, or a config CIDR the config stage parsed).

/** The address's bits: a 32-bit value for IPv4, 128-bit for IPv6 (a zone suffix ignored). */
export function addressBits(address: string, family: "ipv4" | "ipv6"): bigint {
  return family === "ipv4" ? ipv4Bits(address) : ipv6Bits(address);
}

function ipv4Bits(address: string): bigint {
  let value = 0n;
  for (const part of address.split(".")) value = (value << 8n) | BigInt(Number(part));
  return value;
}

function ipv6Bits(address: string): bigint {
  let text = address;
  const zone = text.indexOf("%");
  if (zone >= 0) text = text.slice(0, zone);
  // An IPv4 tail (`::ffff:10.0.0.1`) stands for the last two groups.
  const lastColon = text.lastIndexOf(":");
  const tail = text.slice(lastColon + 1);
  if (tail.includes(".")) {
    const v4 = ipv4Bits(tail);
    text = `${text.slice(0, lastColon + 1)}${(v4 >> 16n).toString(16)}:${(v4 & 0xffffn).toString(16)}`;
  }
  const split = text.indexOf("::");
  const head = split < 0 ? text : text.slice(0, split);
  const rest = split < 0 ? "" : text.slice(split + 2);
  const headGroups = head === "" ? [] : head.split(":");
  const restGroups = rest === "" ? [] : rest.split(":");
  const groups = split < 0 ? headGroups : [...headGroups, ...new Array<string>(8 - headGroups.length - restGroups.length).fill("0"), ...restGroups];
  let value = 0n;
  for (const group of groups) value = (value << 16n) | BigInt(parseInt(group, 16));
  return value;
}

const MAPPED_PREFIX = 0xffffn << 32n;

/**
 * The IPv4 address an IPv4-mapped IPv6 address (`::ffff:a.b.c.d`, in any spelling) stands
 * for, else undefined: a dual-stack proxy forwards IPv4 clients in that form.
 */
export function mappedIpv4(address: string): string | undefined {
  const bits = ipv6Bits(address);
  if (bits >> 32n !== MAPPED_PREFIX >> 32n) return undefined;
  const v4 = bits & 0xffffffffn;
  return [24n, 16n, 8n, 0n].map((shift) => String((v4 >> shift) & 0xffn)).join(".");
}

/** The first `prefix` bits of an address of `width` bits: the key of its range of that length. */
export function networkKey(bits: bigint, width: number, prefix: number): bigint {
  return prefix === 0 ? 0n : bits >> BigInt(width - prefix);
}
