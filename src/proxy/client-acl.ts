// A rule's acl (kgateway TrafficPolicy `acl`): the rule whose range holds the client IP with
// the longest prefix decides, else the default action; rule order does not matter (a tie
// between two rules on the same range goes to the one listed first). Decided before the
// ExternalAuth check, after a CORS preflight is answered: a client the ranges refuse costs no
// call to the authorization service.
import { parseCidr } from "../config/cidr.ts";
import type { ClientAclModel } from "../config/model.ts";
import type { ClientIp } from "./client-ip.ts";
import { ClientRanges } from "./client-ranges.ts";
import { Failure } from "./failures.ts";

interface RangeGroup {
  readonly prefix: number;
  readonly ranges: ClientRanges;
  readonly allow: boolean;
  /** What the blocked-by header says when this group denies: the rule's name, or `rule`. */
  readonly blockedBy: string;
}

export class ClientAcl {
  /** `namespace/name` of the TrafficPolicy. */
  readonly policy: string;
  readonly failure: Failure;
  readonly #headers: Readonly<Record<string, string>>;
  readonly #blockedByHeader: string | undefined;
  readonly #defaultAllows: boolean;
  /** Per family, longest prefix first. */
  readonly #groups: { readonly ipv4: readonly RangeGroup[]; readonly ipv6: readonly RangeGroup[] };

  constructor(model: ClientAclModel) {
    this.policy = model.policy;
    this.failure = new Failure(String(model.denyStatus), "", model.denyStatus, "acl_denied", "", false, false);
    this.#headers = Object.fromEntries(model.denyHeaders.map((h) => [h.name, h.value]));
    this.#blockedByHeader = model.blockedByHeader;
    this.#defaultAllows = model.defaultAction === "allow";
    const groups = { ipv4: [] as RangeGroup[], ipv6: [] as RangeGroup[] };
    model.rules.forEach((rule) => {
      // One range list per rule, family and prefix length, so a lookup walks few of them.
      const byKey = new Map<string, string[]>();
      for (const text of rule.cidrs) {
        const cidr = parseCidr(text);
        if ("problem" in cidr) throw new Error(`acl CIDR ${text}: ${cidr.problem}`);
        const k = `${cidr.family}/${cidr.prefix}`;
        byKey.set(k, [...(byKey.get(k) ?? []), text]);
      }
      for (const [k, cidrs] of byKey) {
        const [family, prefix] = k.split("/") as ["ipv4" | "ipv6", string];
        groups[family].push({ prefix: Number(prefix), ranges: new ClientRanges(cidrs), allow: rule.action === "allow", blockedBy: rule.name ?? "rule" });
      }
    });
    // Stable: among equal prefixes the rule listed first stays first.
    for (const list of [groups.ipv4, groups.ipv6]) list.sort((a, b) => b.prefix - a.prefix);
    this.#groups = groups;
  }

  /** undefined when the client may go on; else what denied it (a rule's name, `rule` or `default`). */
  denial(client: ClientIp): string | undefined {
    if (client.family !== undefined) {
      for (const group of this.#groups[client.family]) {
        if (!group.ranges.has(client)) continue;
        return group.allow ? undefined : group.blockedBy;
      }
    }
    return this.#defaultAllows ? undefined : "default";
  }

  /** The denial's extra headers, with the blocked-by header when the policy asks for one. */
  denialHeaders(blockedBy: string): Readonly<Record<string, string>> {
    return this.#blockedByHeader === undefined ? this.#headers : { ...this.#headers, [this.#blockedByHeader]: blockedBy };
  }
}

/** The response code details of an acl denial: the policy and what in it denied. */
export function aclDenialDetails(acl: ClientAcl, blockedBy: string): string {
  return `acl_denied[${acl.policy}:${blockedBy.replace(/\s/g, "_")}]`;
}
