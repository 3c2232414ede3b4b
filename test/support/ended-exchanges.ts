// Request telemetry that keeps every ended Exchange, for tests that check what the proxy
// recorded about a request (status, flags, backend, response headers).
import type { Exchange } from "../../src/proxy/exchange.ts";
import { type RequestTelemetry, noopTelemetry } from "../../src/telemetry/hooks.ts";
import { until } from "./until.ts";

export interface EndedExchanges {
  readonly telemetry: RequestTelemetry;
  /** The first ended exchange for `path`, once it has ended. */
  endOf(path: string): Promise<Exchange>;
}

export function endedExchanges(): EndedExchanges {
  const ended: Exchange[] = [];
  return {
    telemetry: { ...noopTelemetry, onRequestEnd: (exchange: Exchange) => void ended.push(exchange) },
    async endOf(path: string): Promise<Exchange> {
      await until(() => ended.some((e) => e.path === path));
      return ended.find((e) => e.path === path)!;
    },
  };
}
