// Process signals: SIGHUP reloads; SIGTERM and SIGINT drain. A second SIGINT while
// draining (an impatient Ctrl-C) exits at once; a repeated SIGTERM changes nothing.
import type { Logger } from "./log.ts";

export type DrainSignal = "SIGTERM" | "SIGINT";

export function onReloadSignal(reload: () => void): () => void {
  const handler = (): void => reload();
  process.on("SIGHUP", handler);
  return () => process.off("SIGHUP", handler);
}

/**
 * Installed first thing at start, so a SIGTERM that arrives while the config is still
 * loading is not lost to node's default handler: it is held until `handle()` is called.
 */
export class DrainSignals {
  readonly #log: Logger;
  #drain: ((signal: DrainSignal) => Promise<void>) | undefined;
  #pending: DrainSignal | undefined;
  #started = false;

  constructor(log: Logger) {
    this.#log = log;
    process.on("SIGTERM", () => this.trigger("SIGTERM"));
    process.on("SIGINT", () => this.trigger("SIGINT"));
  }

  /** Sets what a drain does; runs it at once if a signal already arrived. */
  handle(drain: (signal: DrainSignal) => Promise<void>): void {
    this.#drain = drain;
    if (this.#pending !== undefined) this.trigger(this.#pending);
  }

  trigger(signal: DrainSignal): void {
    if (this.#started) {
      if (signal === "SIGINT") {
        this.#log.warn("second SIGINT while draining; exiting now", { exitCode: 1 });
        process.exit(1);
      }
      this.#log.info("already draining", { signal });
      return;
    }
    const drain = this.#drain;
    if (drain === undefined) {
      this.#pending ??= signal;
      return;
    }
    this.#started = true;
    drain(signal).catch((error: unknown) => {
      this.#log.error("drain failed", { error });
      process.exit(1);
    });
  }
}
