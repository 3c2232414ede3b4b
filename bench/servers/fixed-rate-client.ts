// The fixed-rate load generator, in a process of its own. In the runner it shared a heap
// with autocannon's results and every child's output: its scavenges took 10-22 ms, each
// pause turned into a burst of late sends, and a proxy answering that burst one request at
// a time showed the generator's pause as its own p99. Here the heap holds one run.
// Stdin: one JSON line per run, {"url", "rate", "durationS", "connections", "warmupS"};
// stdout: {"fixedRate": result} or {"fixedRateError": message}, in order.
import { measureFixedRate, type FixedRateOptions } from "../lib/fixed-rate.ts";
import { announceReady, guard } from "./guard.ts";

interface RunCommand extends FixedRateOptions {
  readonly url: string;
}

let queue = Promise.resolve();
guard(undefined, (line) => {
  if (line === "") return;
  queue = queue.then(() => run(line));
});
announceReady({});

async function run(line: string): Promise<void> {
  try {
    const { url, ...options } = JSON.parse(line) as RunCommand;
    const result = await measureFixedRate(url, options);
    process.stdout.write(JSON.stringify({ fixedRate: result }) + "\n");
  } catch (error) {
    process.stdout.write(JSON.stringify({ fixedRateError: (error as Error).message }) + "\n");
  }
}
