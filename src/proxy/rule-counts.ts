// Counts of what a policy did to requests, per route, rule, the policy and a kind (an
// outcome, a kind of refusal): the store behind the per-rule policy counters
// (tollgate.access_control.denied, tollgate.rate_limit.checks, tollgate.ext_authz.checks).
export class RuleCounts<Kind extends string> {
  readonly #counts = new Map<string, { route: string; rule: string; policy: string; kind: Kind; n: number }>();

  count(kind: Kind, policy: string, route: string, rule: string): void {
    const k = `${kind} ${policy} ${route} ${rule}`;
    let entry = this.#counts.get(k);
    if (entry === undefined) this.#counts.set(k, (entry = { route, rule, policy, kind, n: 0 }));
    entry.n++;
  }

  *entries(): Iterable<readonly [route: string, rule: string, policy: string, kind: Kind, count: number]> {
    for (const e of this.#counts.values()) yield [e.route, e.rule, e.policy, e.kind, e.n];
  }
}
