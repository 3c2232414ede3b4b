// Access-log CEL filters that fail at run time (a missing map key, a type mismatch the
// checker could not see) log nothing for that request. So a broken filter is visible, every
// failure is counted per gateway (the `tollgate.access_log.filter.errors` metric) and one
// warning per minute names the expression, the cause and how many failed since the last one.
import type { WarnSink } from "../export/warnings.ts";

/** A filter's result that is no bool; its message quotes nothing from the request. */
export class NotBoolResultError extends Error {
  constructor(result: unknown) {
    super(`the filter evaluated to ${typeof result}, not bool`);
  }
}

/** One gateway's failure count; the compiled logs hold it, so counting is a field increment. */
export class FilterErrorCount {
  readonly gatewayName: string;
  count = 0;

  constructor(gatewayName: string) {
    this.gatewayName = gatewayName;
  }
}

export class FilterErrors {
  readonly #byGateway = new Map<string, FilterErrorCount>();
  readonly #warn: WarnSink;
  readonly #intervalMs: number;
  readonly #now: () => number;
  #lastAt = Number.NEGATIVE_INFINITY;
  #suppressed = 0;

  constructor(warn: WarnSink, intervalMs = 60_000, now: () => number = Date.now) {
    this.#warn = warn;
    this.#intervalMs = intervalMs;
    this.#now = now;
  }

  /** The counter of a gateway, kept across plans so reloads never reset it. Plan time only. */
  counterFor(gatewayName: string): FilterErrorCount {
    let c = this.#byGateway.get(gatewayName);
    if (c === undefined) {
      c = new FilterErrorCount(gatewayName);
      this.#byGateway.set(gatewayName, c);
    }
    return c;
  }

  /** One failed evaluation: counted always, reported at most once per interval. */
  failed(counter: FilterErrorCount, expression: string, err: unknown): void {
    counter.count++;
    this.#suppressed++;
    const now = this.#now();
    if (now - this.#lastAt < this.#intervalMs) return;
    this.#lastAt = now;
    const cause = describeCause(err, expression);
    this.#warn(`access-log filter failed to evaluate, the request was not logged: ${cause}`, {
      signal: "logs",
      gateway: counter.gatewayName,
      expression,
      failedEvaluations: this.#suppressed,
      nextReportAfterMs: this.#intervalMs,
    });
    this.#suppressed = 0;
  }

  snapshot(): Array<readonly [gatewayName: string, count: number]> {
    const out: Array<readonly [string, number]> = [];
    for (const c of this.#byGateway.values()) if (c.count > 0) out.push([c.gatewayName, c.count]);
    return out;
  }
}

/**
 * The cause as the warning shows it. A CEL message may quote request data (`Invalid duration
 * string: Bearer …`, `No such key: <a header value>`): what follows its `: ` is shown only
 * when it is written in the expression itself; otherwise only the error's code.
 */
export function describeCause(err: unknown, expression: string): string {
  if (err instanceof NotBoolResultError) return err.message;
  if (!(err instanceof Error)) return "a non-Error value was thrown";
  // CEL errors carry a one-line summary; their message adds a code frame of the expression.
  const summary = (err as { summary?: unknown }).summary;
  const message = typeof summary === "string" ? summary : err.message.split("\n")[0]!.trim();
  const colon = message.indexOf(": ");
  const quoted = colon < 0 ? "" : message.slice(colon + 2).replace(/ \(at character \d+\)$/, "");
  if (colon >= 0 && quoted !== "" && expression.includes(quoted)) return message;
  const code = (err as { code?: unknown }).code;
  const kind = typeof code === "string" ? code : err.name;
  return `${kind} (the message is withheld: it may quote request data)`;
}
