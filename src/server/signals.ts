// Process signals: SIGHUP reloads; SIGTERM and SIGINT drain. A second SIGINT while
// draining (an impatient Ctrl-C) exits at once; a repeated SIGTERM changes nothing.
import type { Logger } from "./log.ts";

export type DrainSignal = "SIGTERM" | "SIGINT" | "primary" | "disconnect";

export function onReloadSignal(reload: () => void): () => void {
  const handler = (): void => reload();
  process.on("SIGHUP", handler);
  return () => process.off("SIGHUP", handler);
}

/** Calls `drain` once, on the first SIGTERM/SIGINT (or a call to the returned trigger). */
export function onDrainSignals(log: Logger, drain: (signal: DrainSignal) => Promise<void>): (signal: DrainSignal) => void {
  let started = false;
  const trigger = (signal: DrainSignal): void => {
    if (started) {
      if (signal === "SIGINT") {
        log.warn("second SIGINT while draining; exiting now", { exitCode: 1 });
        process.exit(1);
      }
      log.info("already draining", { signal });
      return;
    }
    started = true;
    drain(signal).catch((error: unknown) => {
      log.error("drain failed", { error });
      process.exit(1);
    });
  };
  process.on("SIGTERM", () => trigger("SIGTERM"));
  process.on("SIGINT", () => trigger("SIGINT"));
  return trigger;
}
