// The runner's handle on the fixed-rate generator process (servers/fixed-rate-client.ts):
// one run at a time, each answered by one stdout line.
import { join } from "node:path";
import { spawnTracked } from "../lib/children.ts";
import type { FixedRateOptions, FixedRateResult } from "../lib/fixed-rate.ts";
import { pinnedNode, serversDir } from "../lib/paths.ts";
import { childEnv } from "./launch.ts";

export interface FixedRateGenerator {
  measure(url: string, options: FixedRateOptions): Promise<FixedRateResult>;
  stop(): Promise<void>;
}

interface Pending {
  readonly resolve: (result: FixedRateResult) => void;
  readonly reject: (error: Error) => void;
}

export async function startFixedRateGenerator(): Promise<FixedRateGenerator> {
  const { tracked } = await spawnTracked("fixed-rate-client", pinnedNode(), [join(serversDir, "fixed-rate-client.ts")], {
    env: childEnv(),
    waitForReadyLine: true,
    readyTimeoutMs: 30_000,
  });
  const pending: Pending[] = [];
  tracked.onLine((line) => {
    if (!line.startsWith('{"fixedRate')) return; // anything else stays in the output tail
    // JSON has no NaN: a percentile of zero successful requests arrives as null.
    const message = JSON.parse(line, (_key, value: unknown) => (value === null ? Number.NaN : value)) as {
      fixedRate?: FixedRateResult;
      fixedRateError?: string;
    };
    const next = pending.shift();
    if (next === undefined) return;
    if (message.fixedRate !== undefined) next.resolve(message.fixedRate);
    else next.reject(new Error(message.fixedRateError ?? `unexpected line from the generator: ${line}`));
  });
  void tracked.exited.then(({ code, signal }) => {
    for (const p of pending.splice(0)) p.reject(new Error(`the generator exited (code ${code}, signal ${signal})\n${tracked.tail()}`));
  });
  return {
    measure: (url, options) =>
      new Promise<FixedRateResult>((resolve, reject) => {
        const budgetMs = (options.warmupS + options.durationS) * 1000 + 30_000;
        const timer = setTimeout(() => reject(new Error(`no fixed-rate result after ${budgetMs} ms`)), budgetMs);
        pending.push({
          resolve: (result) => {
            clearTimeout(timer);
            resolve(result);
          },
          reject: (error) => {
            clearTimeout(timer);
            reject(error);
          },
        });
        tracked.send(JSON.stringify({ url, ...options }));
      }),
    stop: () => tracked.stop(),
  };
}
