// Asks the ack receiver (servers/ack-receiver.ts) how many exports it has acknowledged.
import type { Tracked } from "./children.ts";

export interface SignalCount {
  readonly requests: number;
  readonly bytes: number;
}
export interface ReceiverStats {
  readonly traces: SignalCount;
  readonly metrics: SignalCount;
  readonly logs: SignalCount;
}

export function receiverStatsReader(receiver: Tracked): () => Promise<ReceiverStats> {
  const waiting: ((stats: ReceiverStats) => void)[] = [];
  receiver.onLine((line) => {
    if (!line.startsWith('{"stats"')) return;
    const stats = (JSON.parse(line) as { stats: ReceiverStats }).stats;
    for (const resolve of waiting.splice(0)) resolve(stats);
  });
  return () =>
    new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error("ack receiver did not answer `stats`")), 5000);
      waiting.push((stats) => {
        clearTimeout(timer);
        resolve(stats);
      });
      receiver.send("stats");
    });
}

export function diffStats(after: ReceiverStats, before: ReceiverStats): ReceiverStats {
  const d = (a: SignalCount, b: SignalCount): SignalCount => ({ requests: a.requests - b.requests, bytes: a.bytes - b.bytes });
  return { traces: d(after.traces, before.traces), metrics: d(after.metrics, before.metrics), logs: d(after.logs, before.logs) };
}
