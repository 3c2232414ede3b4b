// A rule's acl (kgateway TrafficPolicy `acl`): the rule whose range holds the client IP with
// the longest prefix decides, else the default action; rule order does not matter (a tie
// between two rules on the same range goes to the one listed first). Decided before the
// ExternalAuth check, after a CORS preflight is answered: a client the ranges refuse costs no
// call to the authorization service.
import type { ClientAclModel } from "../config/model.ts";
import type { ClientIp } from "./client-ip.ts";
import { PrefixTable } from "./client-ranges.ts";
import { Failure } from "./failures.ts";

interface RuleOutcome {
  readonly allow: boolean;
  /** What the blocked-by header says when this rule denies: its name, or `rule`. */
  readonly blockedBy: string;
}

export class ClientAcl {
  /** `namespace/name` of the TrafficPolicy. */
  readonly policy: string;
  readonly failure: Failure;
  readonly #headers: Readonly<Record<string, string>>;
  readonly #blockedByHeader: string | undefined;
  readonly #defaultAllows: boolean;
  readonly #rules = new PrefixTable<RuleOutcome>();

  constructor(model: ClientAclModel) {
    this.policy = model.policy;
    this.failure = new Failure(String(model.denyStatus), "", model.denyStatus, "acl_denied", "the client address is not allowed here", false, false);
    this.#headers = Object.fromEntries(model.denyHeaders.map((h) => [h.name, h.value]));
    this.#blockedByHeader = model.blockedByHeader;
    this.#defaultAllows = model.defaultAction === "allow";
    // In the rules' order: a range two rules list stays with the first.
    for (const rule of model.rules) {
      const outcome: RuleOutcome = { allow: rule.action === "allow", blockedBy: rule.name ?? "rule" };
      for (const cidr of rule.cidrs) this.#rules.add(cidr, outcome);
    }
  }

  /** undefined when the client may go on; else what denied it (a rule's name, `rule` or `default`). */
  denial(client: ClientIp): string | undefined {
    const rule = this.#rules.longest(client);
    if (rule === undefined) return this.#defaultAllows ? undefined : "default";
    return rule.allow ? undefined : rule.blockedBy;
  }

  /** The denial's extra headers, with the blocked-by header when the policy asks for one. */
  denialHeaders(blockedBy: string): Readonly<Record<string, string>> {
    return this.#blockedByHeader === undefined ? this.#headers : { ...this.#headers, [this.#blockedByHeader]: blockedBy };
  }
}

/** The response code details of an acl denial: the policy and what in it denied. */
export function aclDenialDetails(acl: ClientAcl, blockedBy: string): string {
  // Envoy's details hold no whitespace; `[`, `]` and `:` would blur where the name ends.
  return `acl_denied[${acl.policy}:${blockedBy.replace(/[\s[\]:]/g, "_")}]`;
}
