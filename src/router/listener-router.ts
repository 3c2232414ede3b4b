// Gateway API listener isolation: a request belongs to the most specific listener on its
// port whose hostname admits the request host (the exact hostname, then the longest
// wildcard, then the listener without a hostname), and only routes attached to that
// listener may answer it. A route attached to a catch-all listener cannot take paths on a
// host that a more specific listener, with its own allowedRoutes, serves. Listeners of
// several Gateways with the same port and hostname share one table.
import type { IncomingHttpHeaders } from "node:http";
import type { CompiledMatch, Router } from "../plan/types.ts";
import type { CompiledRouter, RouteTableRow } from "./router.ts";
import { isWildcardHostname } from "./hostnames.ts";

/** Used by compilePlan only when a port has listeners with different hostnames. */
export class ListenerRouter implements Router {
  readonly size: number;
  readonly #exact: ReadonlyMap<string, CompiledRouter>;
  /** Keyed by the wildcard without its `*`, e.g. `.example.com`. */
  readonly #wildcards: ReadonlyMap<string, CompiledRouter>;
  readonly #anyHost: CompiledRouter | undefined;
  /** Most specific listener first, the order describe() lists them in. */
  readonly #ordered: readonly CompiledRouter[];

  /** `byHostname`: each listener hostname's router; the key undefined is the listener without one. */
  constructor(byHostname: ReadonlyMap<string | undefined, CompiledRouter>) {
    const exact = new Map<string, CompiledRouter>();
    const wildcards = new Map<string, CompiledRouter>();
    for (const [hostname, router] of byHostname) {
      if (hostname === undefined) continue;
      if (isWildcardHostname(hostname)) wildcards.set(hostname.slice(1), router);
      else exact.set(hostname, router);
    }
    this.#exact = exact;
    this.#wildcards = wildcards;
    this.#anyHost = byHostname.get(undefined);
    const wildcardOrder = [...wildcards.keys()].sort((a, b) => b.length - a.length || (a < b ? -1 : 1));
    this.#ordered = [
      ...[...exact.keys()].sort().map((h) => exact.get(h)!),
      ...wildcardOrder.map((s) => wildcards.get(s)!),
      ...(this.#anyHost === undefined ? [] : [this.#anyHost]),
    ];
    this.size = this.#ordered.reduce((n, r) => n + r.size, 0);
  }

  match(host: string, method: string, path: string, rawQuery: string, headers: IncomingHttpHeaders): CompiledMatch | undefined {
    return this.#listenerFor(host)?.match(host, method, path, rawQuery, headers);
  }

  #listenerFor(host: string): CompiledRouter | undefined {
    const exact = this.#exact.get(host);
    if (exact !== undefined) return exact;
    if (this.#wildcards.size !== 0) {
      // Suffixes from longest to shortest; a wildcard needs at least one label in front.
      for (let dot = host.indexOf(".", 1); dot !== -1; dot = host.indexOf(".", dot + 1)) {
        const router = this.#wildcards.get(host.slice(dot));
        if (router !== undefined) return router;
      }
    }
    return this.#anyHost;
  }

  describe(): RouteTableRow[] {
    return this.#ordered.flatMap((r) => r.describe());
  }
}
