// What every mode of `tollgate run` starts from.
import type { Logger } from "./log.ts";
import type { ServerSettings } from "./settings.ts";

export interface RunContext {
  /** Absolute path of the config file. */
  readonly configPath: string;
  readonly settings: ServerSettings;
  readonly log: Logger;
  readonly version: string;
}

/** Exit code of a worker that could not start (config invalid, port taken): the primary stops instead of restarting it. */
export const EXIT_STARTUP_FAILED = 78;
