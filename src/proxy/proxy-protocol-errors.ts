// Connections a PROXY protocol port closed before node saw them, counted by port and reason:
// no HTTP answer can carry such a failure, so without the count a balancer sending no header,
// or a client reaching the port around the balancer, would leave no trace.
import type { ProxyHeaderFailure } from "./proxy-protocol.ts";

export class ProxyProtocolErrors {
  readonly #counts = new Map<string, { readonly port: number; readonly reason: ProxyHeaderFailure; count: number }>();

  count(port: number, reason: ProxyHeaderFailure): void {
    const key = `${port}|${reason}`;
    const entry = this.#counts.get(key);
    if (entry === undefined) this.#counts.set(key, { port, reason, count: 1 });
    else entry.count++;
  }

  *entries(): Iterable<[port: number, reason: ProxyHeaderFailure, count: number]> {
    for (const { port, reason, count } of this.#counts.values()) yield [port, reason, count];
  }
}
