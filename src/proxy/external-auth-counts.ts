// What ExternalAuth checks decided, per route, rule, the TrafficPolicy that gave the check
// ('' for the HTTPRoute filter) and outcome (`tollgate.ext_authz.checks`), as Envoy counts
// ext_authz.ok, denied, error, failure_mode_allowed and disabled: a request let through
// unchecked (failOpen, percentageEnabled) is counted, never silent.
export type ExternalAuthOutcome = "ok" | "denied" | "error_allowed" | "error_refused" | "not_sampled";

export class ExternalAuthCounts {
  readonly #counts = new Map<string, { route: string; rule: string; policy: string; outcome: ExternalAuthOutcome; n: number }>();

  count(outcome: ExternalAuthOutcome, policy: string, route: string, rule: string): void {
    const k = `${outcome} ${policy} ${route} ${rule}`;
    let entry = this.#counts.get(k);
    if (entry === undefined) this.#counts.set(k, (entry = { route, rule, policy, outcome, n: 0 }));
    entry.n++;
  }

  *entries(): Iterable<readonly [route: string, rule: string, policy: string, outcome: ExternalAuthOutcome, count: number]> {
    for (const e of this.#counts.values()) yield [e.route, e.rule, e.policy, e.outcome, e.n];
  }
}
