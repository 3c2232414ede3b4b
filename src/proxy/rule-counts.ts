// Counts of what a policy did to requests, per route, rule, the policy and a kind (an
// outcome, a kind of refusal): the store behind the per-rule policy counters
// (tollgate.access_control.denied, tollgate.rate_limit.checks, tollgate.ext_authz.checks).

/** Where a count belongs; named fields, so route, rule and policy cannot trade places. */
export interface RuleCountKey {
  readonly route: string;
  readonly rule: string;
  /** `namespace/name` of the policy; '' when none gave it (the HTTPRoute ExternalAuth filter). */
  readonly policy: string;
}

export class RuleCounts<Kind extends string> {
  readonly #counts = new Map<string, { route: string; rule: string; policy: string; kind: Kind; n: number }>();

  count(kind: Kind, key: RuleCountKey, n = 1): void {
    const k = `${kind} ${key.policy} ${key.route} ${key.rule}`;
    let entry = this.#counts.get(k);
    if (entry === undefined) this.#counts.set(k, (entry = { route: key.route, rule: key.rule, policy: key.policy, kind, n: 0 }));
    entry.n += n;
  }

  /** In the order of the metric's attributes: route, rule, policy, kind. */
  *entries(): Iterable<readonly [route: string, rule: string, policy: string, kind: Kind, count: number]> {
    for (const e of this.#counts.values()) yield [e.route, e.rule, e.policy, e.kind, e.n];
  }
}
