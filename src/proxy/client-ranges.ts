// Client IP ranges for access controls, as longest-prefix tables per address family: for each
// prefix length present, a map from the range's network bits to what the range stands for.
// A lookup costs one map probe per prefix length, however many ranges there are (node's
// BlockList walks every range). An IPv4 client is never tested against IPv6 ranges (Envoy
// does not match across families); an IPv4-mapped IPv6 range (`::ffff:10.0.0.0/104`) is its
// IPv4 range, since clients in that form are judged as IPv4 (client-ip.ts).
import { parseCidr } from "../config/cidr.ts";
import type { ClientIp, IpFamily } from "./client-ip.ts";
import { addressBits, mappedIpv4, networkKey } from "./ip-bits.ts";

const WIDTH: Readonly<Record<IpFamily, number>> = { ipv4: 32, ipv6: 128 };

interface Table<T> {
  /** Longest first. */
  readonly prefixes: number[];
  readonly byPrefix: Map<number, Map<bigint, T>>;
}

export class PrefixTable<T> {
  readonly #tables: Record<IpFamily, Table<T>> = { ipv4: { prefixes: [], byPrefix: new Map() }, ipv6: { prefixes: [], byPrefix: new Map() } };

  /** Adds a range (checked by the config stage); the first value given for a range stays. */
  add(cidrText: string, value: T): void {
    const cidr = parseCidr(cidrText);
    if ("problem" in cidr) throw new Error(`CIDR ${cidrText}: ${cidr.problem}`);
    let family: IpFamily = cidr.family;
    let address = cidr.address;
    let prefix = cidr.prefix;
    const v4 = family === "ipv6" && prefix >= 96 ? mappedIpv4(address) : undefined;
    if (v4 !== undefined) [family, address, prefix] = ["ipv4", v4, prefix - 96];
    const table = this.#tables[family];
    let byKey = table.byPrefix.get(prefix);
    if (byKey === undefined) {
      byKey = new Map();
      table.byPrefix.set(prefix, byKey);
      table.prefixes.push(prefix);
      table.prefixes.sort((a, b) => b - a);
    }
    const k = networkKey(addressBits(address, family), WIDTH[family], prefix);
    if (!byKey.has(k)) byKey.set(k, value);
  }

  /** What the longest range holding the client stands for; undefined when none does. */
  longest(client: ClientIp): T | undefined {
    if (client.family === undefined) return undefined;
    const table = this.#tables[client.family];
    if (table.prefixes.length === 0) return undefined;
    const bits = addressBits(client.address, client.family);
    const width = WIDTH[client.family];
    for (const prefix of table.prefixes) {
      const found = table.byPrefix.get(prefix)!.get(networkKey(bits, width, prefix));
      if (found !== undefined) return found;
    }
    return undefined;
  }
}

/** A set of ranges: whether a client is in one of them. */
export class ClientRanges {
  readonly #table = new PrefixTable<true>();

  constructor(cidrs: readonly string[]) {
    for (const text of cidrs) this.#table.add(text, true);
  }

  has(client: ClientIp): boolean {
    return this.#table.longest(client) === true;
  }
}
