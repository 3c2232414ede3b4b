// Writes telemetry lines to stdout without ever growing memory or stalling the event loop.
// On Linux a pipe stdout (what `kubectl logs` reads through the container runtime) is
// written asynchronously: when the reader falls behind, Node buffers the rest in memory
// without limit. This writer refuses a batch while more than `maxBufferedBytes` are still
// waiting, so the batch is counted as dropped (and warned about, rate limited) by the
// queue that handed it over, instead of piling up.
import type { Writable } from "node:stream";
import { envNumber, type Env } from "../env.ts";

/** Default bound on bytes buffered in front of stdout: 1 MiB. */
export const DEFAULT_STDOUT_BUFFER_BYTES = 1 << 20;

export interface LineSink {
  /** Writes `text` (whole lines) and returns true, or returns false and writes nothing while the stream is backed up or broken. */
  write(text: string): boolean;
  /** What `write` refused for, for the export failure message. */
  readonly backlog: number;
  /** The error that broke the stream (a log reader that went away: EPIPE); nothing is written after it. */
  readonly failure: Error | undefined;
}

export function boundedWriter(stream: Writable, maxBufferedBytes: number): LineSink {
  // Without a listener a closed pipe's EPIPE would be an uncaught exception: the gateway
  // would die because its log reader did. Telemetry to it is dropped and counted instead.
  let failure: Error | undefined;
  stream.on("error", (error: Error) => {
    failure ??= error;
  });
  return {
    write(text: string): boolean {
      if (failure !== undefined || stream.destroyed || stream.writableLength > maxBufferedBytes) return false;
      stream.write(text);
      return true;
    },
    get backlog(): number {
      return stream.writableLength;
    },
    get failure(): Error | undefined {
      return failure;
    },
  };
}

/**
 * Writes whole lines for an exporter, or fails its export while stdout is backed up or
 * closed; the queue then counts the batch's items as dropped and warns, rate limited.
 */
export function writeLinesOrFail(sink: LineSink, text: string, done: (result: { code: number; error?: Error }) => void): void {
  if (sink.write(text)) done({ code: 0 });
  else if (sink.failure !== undefined) done({ code: 1, error: new Error(`stdout is closed (${sink.failure.message})`) });
  else done({ code: 1, error: new Error(`stdout is not keeping up (${sink.backlog} bytes still buffered)`) });
}

let shared: LineSink | undefined;

/** The process's one stdout writer (access logs, console metrics and console spans share its bound). */
export function stdoutWriter(env: Env): LineSink {
  shared ??= boundedWriter(process.stdout, Math.max(1024, envNumber(env, "TOLLGATE_STDOUT_BUFFER_BYTES", DEFAULT_STDOUT_BUFFER_BYTES)));
  return shared;
}
