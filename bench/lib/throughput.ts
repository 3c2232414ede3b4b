// Closed-loop throughput with autocannon: N keep-alive connections, each sending its next
// request as soon as the previous response ends, for a fixed time. Runs in the runner's
// process; the runner does nothing else while a load run is on.
import autocannon from "autocannon";

export interface ThroughputOptions {
  readonly connections: number;
  readonly durationS: number;
  readonly pipelining?: number;
}

export interface ThroughputResult {
  readonly rps: number;
  readonly requests: number;
  readonly durationS: number;
  /** Latency in ms (autocannon's histogram resolution). */
  readonly p50: number;
  readonly p99: number;
  readonly p999: number;
  readonly non2xx: number;
  readonly errors: number;
  readonly timeouts: number;
}

export async function measureThroughput(url: string, options: ThroughputOptions): Promise<ThroughputResult> {
  const result = await autocannon({
    url,
    connections: options.connections,
    pipelining: options.pipelining ?? 1,
    duration: options.durationS,
    // A request stuck this long is a failure, not a latency sample.
    timeout: 10,
  });
  const durationS = result.duration > 0 ? result.duration : options.durationS;
  return {
    rps: result.requests.total / durationS,
    requests: result.requests.total,
    durationS,
    p50: result.latency.p50,
    p99: result.latency.p99,
    p999: result.latency.p99_9,
    non2xx: result.non2xx,
    errors: result.errors,
    timeouts: result.timeouts,
  };
}

/** Why a load run is not a valid measurement, or undefined when it is. */
export function loadProblem(r: { requests: number; non2xx: number; errors: number; timeouts: number }): string | undefined {
  if (r.requests === 0) return "no responses at all";
  const parts: string[] = [];
  if (r.non2xx > 0) parts.push(`${r.non2xx} non-2xx responses`);
  if (r.errors > 0) parts.push(`${r.errors} connection errors`);
  if (r.timeouts > 0) parts.push(`${r.timeouts} timeouts`);
  return parts.length > 0 ? parts.join(", ") : undefined;
}
