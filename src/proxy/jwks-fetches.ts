// Remote JWKS fetches by JWT provider and outcome, as Envoy's jwt_authn counts
// jwks_fetch_success and jwks_fetch_failed: a key server that fails shows here before every
// token it should serve is refused.

export type JwksFetchOutcome = "success" | "failure";

export class JwksFetchCounts {
  readonly #counts = new Map<string, Map<JwksFetchOutcome, number>>();

  /** `provider`: `namespace/extension/provider`. */
  count(provider: string, outcome: JwksFetchOutcome): void {
    let byOutcome = this.#counts.get(provider);
    if (byOutcome === undefined) this.#counts.set(provider, (byOutcome = new Map()));
    byOutcome.set(outcome, (byOutcome.get(outcome) ?? 0) + 1);
  }

  *entries(): Iterable<readonly [provider: string, outcome: JwksFetchOutcome, count: number]> {
    for (const [provider, byOutcome] of this.#counts) for (const [outcome, n] of byOutcome) yield [provider, outcome, n];
  }
}
