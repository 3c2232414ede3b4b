// Requests an access control refused, per route, rule, the TrafficPolicy that refused them and
// its kind (`tollgate.access_control.denied`), as Envoy counts `rbac.denied` per filter: a
// dashboard can tell a policy that works from one that locks clients out without reading
// access logs.
export type AccessControlKind = "rbac" | "acl";

export class AccessDenials {
  readonly #counts = new Map<string, { route: string; rule: string; policy: string; kind: AccessControlKind; n: number }>();

  count(kind: AccessControlKind, policy: string, route: string, rule: string): void {
    const k = `${kind} ${policy} ${route} ${rule}`;
    let entry = this.#counts.get(k);
    if (entry === undefined) this.#counts.set(k, (entry = { route, rule, policy, kind, n: 0 }));
    entry.n++;
  }

  *entries(): Iterable<readonly [route: string, rule: string, policy: string, kind: AccessControlKind, count: number]> {
    for (const e of this.#counts.values()) yield [e.route, e.rule, e.policy, e.kind, e.n];
  }
}
