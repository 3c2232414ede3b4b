// The `tollgate` command line: run, validate, schema, --version, --help.
import cluster from "node:cluster";
import { createLogger } from "../server/log.ts";
import { readServerSettings, SettingsError } from "../server/settings.ts";
import { parseCommandLine, UsageError, type Command } from "./args.ts";
import { resolveConfigPath } from "./config-path.ts";
import { helpText } from "./help.ts";
import { packageVersion } from "./version.ts";
import { capYoungGeneration } from "./young-generation.ts";

const EXIT_USAGE = 2;

export async function main(argv: readonly string[]): Promise<number> {
  const version = packageVersion();
  let command: Command;
  try {
    command = parseCommandLine(argv);
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    process.stderr.write(`tollgate: ${error.message}\nRun "tollgate --help" for usage.\n`);
    return EXIT_USAGE;
  }
  // A reader that stops early (`tollgate schema | head`) closes the pipe: the output it did
  // not want is no error. `run` keeps its stdout for the access-log sink, which counts drops.
  if (command.name !== "run") {
    process.stdout.on("error", (error: NodeJS.ErrnoException) => {
      if (error.code !== "EPIPE") throw error;
      process.exit();
    });
  }
  switch (command.name) {
    case "help":
      process.stdout.write(helpText(version));
      return 0;
    case "version":
      process.stdout.write(`tollgate ${version}\n`);
      return 0;
    case "schema": {
      const { configJsonSchema } = await import("../config/schema.ts");
      process.stdout.write(JSON.stringify(configJsonSchema(), null, 2) + "\n");
      return 0;
    }
    case "validate": {
      // Loaded on demand: --help and --version should not pay for the config and proxy modules.
      const { validateCommand } = await import("./validate.ts");
      return validateCommand(resolveConfigPath(command.config), {
        out: (line) => process.stdout.write(line + "\n"),
        err: (line) => process.stderr.write(line + "\n"),
      });
    }
    case "run":
      return run(command.config, command.workers, version);
  }
}

async function run(configFlag: string | undefined, workers: number | "auto" | undefined, version: string): Promise<number> {
  capYoungGeneration();
  let settings;
  try {
    settings = readServerSettings();
  } catch (error) {
    if (!(error instanceof SettingsError)) throw error;
    process.stderr.write(`tollgate: ${error.message}\n`);
    return EXIT_USAGE;
  }
  const base = settings.workerId === undefined ? { pid: process.pid } : { pid: process.pid, worker: settings.workerId };
  const log = createLogger({ level: settings.logLevel, base });
  const context = { configPath: resolveConfigPath(configFlag), settings, log, version };
  if (cluster.isWorker) {
    const { runWorker } = await import("../server/run-worker.ts");
    return runWorker(context);
  }
  if (workers !== undefined) {
    const { runPrimary } = await import("../server/run-primary.ts");
    return runPrimary(context, workers);
  }
  const { runSingleProcess } = await import("../server/run-single.ts");
  log.info("starting", { version, node: process.version, config: context.configPath, mode: "single" });
  return runSingleProcess(context);
}

process.exitCode = await main(process.argv.slice(2));
// A pipe takes 64 KiB before writes queue in the process: let `schema | jq` and a long
// `validate` report reach the reader before exiting.
await Promise.all([process.stdout, process.stderr].map((stream) => new Promise<void>((flushed) => stream.write("", () => flushed()))));
// Servers, pools and telemetry timers are closed by now; exit even if a library left a handle open.
process.exit();
