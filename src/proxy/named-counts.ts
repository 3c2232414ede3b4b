// Counts by a name (a backend, a JWT provider) and a reason or outcome, kept since start for
// the counters observed at collection and the /metrics fallback.
export class NamedCounts<Reason extends string> {
  readonly #counts = new Map<string, Map<Reason, number>>();

  count(name: string, reason: Reason): void {
    let byReason = this.#counts.get(name);
    if (byReason === undefined) this.#counts.set(name, (byReason = new Map()));
    byReason.set(reason, (byReason.get(reason) ?? 0) + 1);
  }

  *entries(): Iterable<readonly [name: string, reason: Reason, count: number]> {
    for (const [name, byReason] of this.#counts) for (const [reason, n] of byReason) yield [name, reason, n];
  }
}
