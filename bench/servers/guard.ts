// Imported first by every process the bench starts. The runner keeps a pipe on our
// stdin: when it closes (the runner exited or was killed) or the run's deadline passes,
// we stop. Lines written to stdin are commands for processes that take them.
import { createInterface } from "node:readline";

export function guard(onStop: () => void = () => process.exit(0), onCommand?: (line: string) => void): void {
  let stopping = false;
  const stop = (): void => {
    if (stopping) return;
    stopping = true;
    onStop();
  };
  const lines = createInterface({ input: process.stdin });
  lines.on("line", (line) => onCommand?.(line.trim()));
  lines.on("close", stop);
  process.stdin.on("error", stop);
  const deadline = Number(process.env.BENCH_DEADLINE_MS ?? "");
  if (Number.isFinite(deadline) && deadline > 0) {
    setTimeout(stop, Math.max(0, deadline - Date.now())).unref();
  }
}

/** The one line the runner waits for before using this process. */
export function announceReady(info: Record<string, unknown>): void {
  process.stdout.write(JSON.stringify({ ready: true, pid: process.pid, ...info }) + "\n");
}

/** `--name value` from argv. */
export function argValue(name: string): string | undefined {
  const index = process.argv.indexOf(`--${name}`);
  return index >= 0 ? process.argv[index + 1] : undefined;
}

export function requiredArg(name: string): string {
  const value = argValue(name);
  if (value === undefined || value === "") {
    process.stderr.write(`missing --${name}\n`);
    process.exit(2);
  }
  return value;
}
