// The gateway's own operational log: one JSON object per line on stderr. Kept deliberately
// small; request access logs are telemetry's job, this is for startup, reloads, drain and
// worker supervision.

export type LogLevel = "debug" | "info" | "warn" | "error";

export type LogFields = Readonly<Record<string, unknown>>;

export interface Logger {
  debug(msg: string, fields?: LogFields): void;
  info(msg: string, fields?: LogFields): void;
  warn(msg: string, fields?: LogFields): void;
  error(msg: string, fields?: LogFields): void;
  /** A logger that adds `fields` to every line. */
  child(fields: LogFields): Logger;
}

const LEVEL_RANK: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40 };

export interface LogSink {
  write(line: string): unknown;
}

export function createLogger(options: { level?: LogLevel; base?: LogFields; sink?: LogSink } = {}): Logger {
  const minRank = LEVEL_RANK[options.level ?? "info"];
  const sink = options.sink ?? process.stderr;
  return makeLogger(minRank, options.base ?? {}, sink);
}

function makeLogger(minRank: number, base: LogFields, sink: LogSink): Logger {
  const emit = (level: LogLevel, msg: string, fields: LogFields | undefined): void => {
    if (LEVEL_RANK[level] < minRank) return;
    const record: Record<string, unknown> = { level, time: new Date().toISOString(), msg, ...base };
    if (fields !== undefined) {
      for (const key of Object.keys(fields)) record[key] = serialisable(fields[key]);
    }
    let line: string;
    try {
      line = JSON.stringify(record);
    } catch {
      line = JSON.stringify({ level, time: record.time, msg, note: "fields were not serialisable" });
    }
    sink.write(line + "\n");
  };
  return {
    debug: (msg, fields) => emit("debug", msg, fields),
    info: (msg, fields) => emit("info", msg, fields),
    warn: (msg, fields) => emit("warn", msg, fields),
    error: (msg, fields) => emit("error", msg, fields),
    child: (fields) => makeLogger(minRank, { ...base, ...fields }, sink),
  };
}

/** Errors do not survive JSON.stringify; keep what an operator needs from them. */
function serialisable(value: unknown): unknown {
  if (value instanceof Error) {
    const code = (value as NodeJS.ErrnoException).code;
    return code === undefined ? { name: value.name, message: value.message } : { name: value.name, message: value.message, code };
  }
  return value;
}
