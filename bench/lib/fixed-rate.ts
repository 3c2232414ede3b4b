// Open-loop, fixed-rate latency: request i is due at start + i/rate and is sent when due
// whether or not earlier ones have answered (a closed-loop tool slows down when the server
// does, and so hides exactly the latency it should measure). The pool has more connections
// than the rate ever needs in flight, so a slow response never delays a send; undici
// queues only if all of them are busy, and that queueing is then counted as latency.
// We record each request's latency from its actual send, how late each send was against
// its schedule (to prove the rate was really held), and latency from the scheduled time.
// The runner calls this through a generator process of its own (fixed-rate-client.ts):
// a pause in the generator becomes a burst of late sends that a proxy then queues, so the
// generator must not share a heap with anything else.
import { Pool } from "undici";
import { percentileSorted } from "./stats.ts";

export interface FixedRateOptions {
  readonly rate: number;
  readonly durationS: number;
  readonly connections: number;
  /** Seconds sent at the same rate, on the same connections, before measuring. */
  readonly warmupS: number;
}

export interface FixedRateResult {
  readonly targetRate: number;
  /** Sends per second actually achieved over the send window. */
  readonly achievedRate: number;
  /** Requests measured; the warm-up's are in warmupRequests. */
  readonly requests: number;
  readonly warmupRequests: number;
  /** Latency from the actual send, ms. */
  readonly p50: number;
  readonly p99: number;
  readonly p999: number;
  readonly max: number;
  /** Latency from the scheduled send time (coordinated-omission corrected), ms. */
  readonly scheduledP99: number;
  /** How late sends were against the schedule, ms. */
  readonly sendLagP99: number;
  /** Failures over the warm-up and the measurement: both are the proxy at this rate. */
  readonly non2xx: number;
  readonly errors: number;
  readonly timeouts: number;
}

export async function measureFixedRate(url: string, options: FixedRateOptions): Promise<FixedRateResult> {
  const target = new URL(url);
  const path = target.pathname + target.search;
  const pool = new Pool(target.origin, {
    connections: options.connections,
    pipelining: 1,
    keepAliveTimeout: 60_000,
    headersTimeout: 10_000,
    bodyTimeout: 10_000,
  });
  // Open connections before the clock starts, so the first requests do not pay for them.
  await Promise.all(
    Array.from({ length: Math.min(options.connections, 16) }, () =>
      pool.request({ path, method: "GET" }).then((res) => res.body.dump()),
    ),
  );
  // A proxy that has just left a closed-loop run at full speed spends its first seconds at
  // a low rate collecting and re-optimising; that transition is not the steady state the
  // rate asks about.
  const warmup = options.warmupS > 0 ? await sendOnSchedule(pool, path, options.rate, options.rate * options.warmupS) : undefined;
  const run = await sendOnSchedule(pool, path, options.rate, options.rate * options.durationS);
  await pool.close();
  return summarise(options.rate, run, warmup);
}

interface ScheduleRun {
  readonly total: number;
  /** Latency from the actual send, ms; NaN for requests that failed. */
  readonly latency: Float64Array;
  readonly fromSchedule: Float64Array;
  readonly lag: Float64Array;
  readonly sendWindowMs: number;
  readonly non2xx: number;
  readonly errors: number;
  readonly timeouts: number;
}

function sendOnSchedule(pool: Pool, path: string, rate: number, count: number): Promise<ScheduleRun> {
  const total = Math.max(1, Math.round(count));
  const intervalMs = 1000 / rate;
  const latency = new Float64Array(total).fill(Number.NaN);
  const fromSchedule = new Float64Array(total).fill(Number.NaN);
  const lag = new Float64Array(total);
  let non2xx = 0;
  let errors = 0;
  let timeouts = 0;
  let finished = 0;
  let lastSendAt = 0;
  const start = performance.now() + 2;
  return new Promise<ScheduleRun>((resolveAll) => {
    let sent = 0;
    const send = (i: number, scheduled: number): void => {
      const sentAt = performance.now();
      lastSendAt = sentAt;
      lag[i] = sentAt - scheduled;
      pool
        .request({ path, method: "GET" })
        .then(async (res) => {
          await res.body.dump();
          const end = performance.now();
          latency[i] = end - sentAt;
          fromSchedule[i] = end - scheduled;
          if (res.statusCode < 200 || res.statusCode >= 300) non2xx++;
        })
        .catch((error: unknown) => {
          const code = (error as { code?: string }).code ?? "";
          if (code.includes("TIMEOUT")) timeouts++;
          else errors++;
        })
        .finally(() => {
          if (++finished === total) {
            resolveAll({ total, latency, fromSchedule, lag, sendWindowMs: lastSendAt - start, non2xx, errors, timeouts });
          }
        });
    };
    const tick = (): void => {
      const now = performance.now();
      const due = Math.min(total, Math.floor((now - start) / intervalMs) + 1);
      while (sent < due) {
        send(sent, start + sent * intervalMs);
        sent++;
      }
      if (sent < total) setTimeout(tick, Math.max(0, start + sent * intervalMs - performance.now()));
    };
    setTimeout(tick, Math.max(0, start - performance.now()));
  });
}

function summarise(rate: number, run: ScheduleRun, warmup: ScheduleRun | undefined): FixedRateResult {
  const { total, latency, fromSchedule, lag } = run;
  const ok = sortedFinite(latency);
  const sched = sortedFinite(fromSchedule);
  const lagSorted = Float64Array.from(lag).sort();
  const sendWindowS = run.sendWindowMs / 1000;
  return {
    targetRate: rate,
    achievedRate: sendWindowS > 0 ? (total - 1) / sendWindowS : Number.NaN,
    requests: total,
    warmupRequests: warmup?.total ?? 0,
    p50: percentileSorted(ok, 50),
    p99: percentileSorted(ok, 99),
    p999: percentileSorted(ok, 99.9),
    max: ok.length > 0 ? (ok[ok.length - 1] as number) : Number.NaN,
    scheduledP99: percentileSorted(sched, 99),
    sendLagP99: percentileSorted(lagSorted, 99),
    non2xx: run.non2xx + (warmup?.non2xx ?? 0),
    errors: run.errors + (warmup?.errors ?? 0),
    timeouts: run.timeouts + (warmup?.timeouts ?? 0),
  };
}

function sortedFinite(values: Float64Array): Float64Array {
  return values.filter((v) => Number.isFinite(v)).sort();
}
