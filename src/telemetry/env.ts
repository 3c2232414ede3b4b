// Readers for OTEL_* environment variables as the OpenTelemetry SDK configuration spec
// defines them: empty values count as unset, booleans are only "true"/"false", lists are
// comma separated. Every reader takes the env object explicitly so tests and workers can
// pass their own.

export type Env = Readonly<Record<string, string | undefined>>;

/** The value with surrounding whitespace removed; undefined when unset or empty. */
export function envString(env: Env, name: string): string | undefined {
  const raw = env[name];
  if (raw === undefined) return undefined;
  const trimmed = raw.trim();
  return trimmed === "" ? undefined : trimmed;
}

/** Spec: only a case-insensitive "true" is true; anything else (and unset) is the default. */
export function envBool(env: Env, name: string, defaultValue: boolean): boolean {
  const v = envString(env, name);
  if (v === undefined) return defaultValue;
  const lower = v.toLowerCase();
  if (lower === "true") return true;
  if (lower === "false") return false;
  return defaultValue;
}

/** A non-negative number, or the default when unset or invalid. */
export function envNumber(env: Env, name: string, defaultValue: number): number {
  const v = envString(env, name);
  if (v === undefined) return defaultValue;
  const n = Number(v);
  return Number.isFinite(n) && n >= 0 ? n : defaultValue;
}

/** The longest delay a timer takes (2^31 − 1 ms, about 24.8 days): what "no timeout" becomes. */
export const NO_TIMEOUT_MS = 2 ** 31 - 1;

/**
 * A timeout in milliseconds: 0 means no limit (the SDK configuration spec: implementations
 * SHOULD treat a zero timeout as indefinite), anything above the timer maximum is capped
 * there, and the default stands for unset or invalid values.
 */
export function envTimeoutMs(env: Env, name: string, defaultValue: number): number {
  return timerMs(envNumber(env, name, defaultValue));
}

/** A non-negative timeout as a timer can take it: 0 (no timeout) and anything larger become the ceiling. */
export function timerMs(ms: number): number {
  return ms === 0 ? NO_TIMEOUT_MS : Math.min(ms, NO_TIMEOUT_MS);
}

/** A comma separated list, trimmed, empty items dropped. */
export function envList(env: Env, name: string): string[] | undefined {
  const v = envString(env, name);
  if (v === undefined) return undefined;
  return v
    .split(",")
    .map((s) => s.trim())
    .filter((s) => s !== "");
}

export interface ParsedKeyValueList {
  readonly entries: Record<string, string>;
  /** 1-based positions of the members skipped as malformed (never their text: it may be a credential). */
  readonly malformed: readonly number[];
}

/**
 * W3C-baggage-like `key=value,key2=value2` pairs with percent-decoding, as used by
 * OTEL_EXPORTER_OTLP_HEADERS. Malformed members are skipped and their positions returned
 * (OTEL_RESOURCE_ATTRIBUTES is stricter: parseResourceAttributes).
 */
export function parseKeyValueList(text: string | undefined): ParsedKeyValueList {
  const entries: Record<string, string> = {};
  const malformed: number[] = [];
  if (text === undefined) return { entries, malformed };
  text.split(",").forEach((member, i) => {
    if (member.trim() === "") return;
    const eq = member.indexOf("=");
    const key = eq > 0 ? safeDecode(member.slice(0, eq).trim()) : undefined;
    const value = eq > 0 ? safeDecode(member.slice(eq + 1).trim()) : undefined;
    if (key === undefined || value === undefined || key === "") malformed.push(i + 1);
    else entries[key] = value;
  });
  return { entries, malformed };
}

export interface ParsedResourceAttributes {
  readonly attributes: Record<string, string>;
  /** Why the whole value was discarded, when it was. */
  readonly problem?: string;
}

/**
 * OTEL_RESOURCE_ATTRIBUTES: all or nothing. The resource SDK spec says a value that fails
 * to decode SHOULD be discarded entirely and the error reported, so a typo cannot leave a
 * resource that is half the user's and looks whole.
 */
export function parseResourceAttributes(text: string | undefined): ParsedResourceAttributes {
  const attributes: Record<string, string> = {};
  if (text === undefined) return { attributes };
  for (const member of text.split(",")) {
    if (member.trim() === "") continue;
    const eq = member.indexOf("=");
    const key = eq > 0 ? safeDecode(member.slice(0, eq).trim()) : undefined;
    const value = eq > 0 ? safeDecode(member.slice(eq + 1).trim()) : undefined;
    if (key === undefined || value === undefined || key === "") {
      const problem = `OTEL_RESOURCE_ATTRIBUTES: '${member.trim()}' is not key=value with percent-encoding; the whole variable is ignored`;
      return { attributes: {}, problem };
    }
    attributes[key] = value;
  }
  return { attributes };
}

function safeDecode(s: string): string | undefined {
  try {
    return decodeURIComponent(s);
  } catch {
    return undefined;
  }
}
