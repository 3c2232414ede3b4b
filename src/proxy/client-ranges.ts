// Client IP ranges for access controls, one net.BlockList per address family: node's
// BlockList would test an IPv4 client against IPv6 ranges as `::ffff:a.b.c.d` (so `::/0`
// would hold every IPv4 client), where Envoy never matches across families.
import { BlockList } from "node:net";
import { parseCidr } from "../config/cidr.ts";
import type { ClientIp } from "./client-ip.ts";

export class ClientRanges {
  readonly #ipv4 = new BlockList();
  readonly #ipv6 = new BlockList();
  readonly size: number;

  /** The config stage checked every range; one that does not parse here is a bug. */
  constructor(cidrs: readonly string[]) {
    for (const text of cidrs) {
      const cidr = parseCidr(text);
      if ("problem" in cidr) throw new Error(`CIDR ${text}: ${cidr.problem}`);
      (cidr.family === "ipv4" ? this.#ipv4 : this.#ipv6).addSubnet(cidr.address, cidr.prefix, cidr.family);
    }
    this.size = cidrs.length;
  }

  has(client: ClientIp): boolean {
    if (client.family === undefined) return false;
    return (client.family === "ipv4" ? this.#ipv4 : this.#ipv6).check(client.address, client.family);
  }
}
