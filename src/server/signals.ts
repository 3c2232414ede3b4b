// Process signals: SIGHUP reloads; SIGTERM and SIGINT drain. A second SIGINT while
// draining (an impatient Ctrl-C) exits at once; a repeated SIGTERM changes nothing.
import type { Logger } from "./log.ts";

export type DrainSignal = "SIGTERM" | "SIGINT";

/**
 * SIGHUP reloads. Installed first thing at start and kept until exit: without a listener,
 * node's default action for SIGHUP ends the process (a config-reloader sidecar, `tini` or
 * systemd can send one at any time), dropping every request in flight. One that arrives
 * while the config is still loading is held and reloads once the gateway serves; one during
 * a drain is logged and ignored.
 */
export class ReloadSignal {
  readonly #log: Logger;
  #reload: (() => void) | undefined;
  #pending = false;
  #stopped = false;

  constructor(log: Logger) {
    this.#log = log;
    process.on("SIGHUP", () => this.trigger());
  }

  /** Sets what a reload does; runs it at once if a SIGHUP already arrived. */
  handle(reload: () => void): void {
    this.#reload = reload;
    if (this.#pending) {
      this.#pending = false;
      reload();
    }
  }

  /** From now on a SIGHUP changes nothing (the process is draining). */
  stop(): void {
    this.#stopped = true;
    this.#reload = undefined;
  }

  trigger(): void {
    if (this.#stopped) {
      this.#log.info("SIGHUP ignored: draining");
      return;
    }
    if (this.#reload === undefined) this.#pending = true;
    else this.#reload();
  }
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
