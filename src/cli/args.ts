// Command-line parsing on node:util parseArgs. A usage error is a UsageError; main turns
// it into a one-line message and exit code 2.
import { parseArgs } from "node:util";

export class UsageError extends Error {
  override name = "UsageError";
}

export type Command =
  | { readonly name: "run"; readonly config: string | undefined; readonly workers: number | "auto" | undefined }
  | { readonly name: "validate"; readonly config: string | undefined }
  | { readonly name: "schema" }
  | { readonly name: "help" }
  | { readonly name: "version" };

const COMMANDS = ["run", "validate", "schema", "help"] as const;

export function parseCommandLine(argv: readonly string[]): Command {
  const first = argv[0];
  if (first === undefined) throw new UsageError("no command given");
  if (first.startsWith("-")) {
    const { values } = parse(argv, { help: { type: "boolean", short: "h" }, version: { type: "boolean", short: "v" } }, "");
    if (values.help === true) return { name: "help" };
    if (values.version === true) return { name: "version" };
    throw new UsageError("no command given");
  }
  const rest = argv.slice(1);
  switch (first) {
    case "run": {
      const { values } = parse(rest, { config: { type: "string", short: "c" }, workers: { type: "string", short: "w" }, help: { type: "boolean", short: "h" } }, "run");
      if (values.help === true) return { name: "help" };
      return { name: "run", config: values.config, workers: values.workers === undefined ? undefined : parseWorkers(values.workers) };
    }
    case "validate": {
      const { values } = parse(rest, { config: { type: "string", short: "c" }, help: { type: "boolean", short: "h" } }, "validate");
      if (values.help === true) return { name: "help" };
      return { name: "validate", config: values.config };
    }
    case "schema": {
      const { values } = parse(rest, { help: { type: "boolean", short: "h" } }, "schema");
      return values.help === true ? { name: "help" } : { name: "schema" };
    }
    case "help":
      return { name: "help" };
    default:
      throw new UsageError(`unknown command "${first}" (commands: ${COMMANDS.join(", ")})`);
  }
}

type Options = NonNullable<Parameters<typeof parseArgs>[0]>["options"];

function parse<O extends Options>(args: readonly string[], options: O, command: string) {
  try {
    return parseArgs({ args: [...args], options, strict: true, allowPositionals: false });
  } catch (error) {
    throw new UsageError(describeParseError(error, command));
  }
}

function describeParseError(error: unknown, command: string): string {
  const where = command === "" ? "" : `${command}: `;
  const code = (error as { code?: unknown }).code;
  const message = error instanceof Error ? error.message : String(error);
  const quoted = /'([^']+)'/.exec(message)?.[1];
  switch (code) {
    case "ERR_PARSE_ARGS_UNKNOWN_OPTION":
      return `${where}unknown option ${quoted ?? message}`;
    case "ERR_PARSE_ARGS_UNEXPECTED_POSITIONAL":
      return `${where}unexpected argument ${quoted ?? message}`;
    case "ERR_PARSE_ARGS_INVALID_OPTION_VALUE":
      return `${where}${message.replace(/^Option /, "option ")}`;
    default:
      return `${where}${message}`;
  }
}

function parseWorkers(value: string): number | "auto" {
  if (value === "auto") return "auto";
  if (/^\d+$/.test(value) && Number(value) >= 1 && Number(value) <= 1024) return Number(value);
  throw new UsageError(`run: --workers must be a whole number from 1 to 1024 or "auto", got "${value}"`);
}
