// Gateway API durations (GEP-2257): one to four `<digits><unit>` groups, units h, m, s, ms.
const GROUP = /([0-9]{1,5})(h|ms|m|s)/g;
const WHOLE = /^([0-9]{1,5}(h|m|s|ms)){1,4}$/;
const UNIT_MS: Readonly<Record<string, number>> = { h: 3_600_000, m: 60_000, s: 1000, ms: 1 };

/**
 * The longest duration kept: node's timers hold 2^31-1 ms (24.8 days) and fire at once for a
 * longer one, which would turn `timeouts: {request: 600h}` into a timeout on every request.
 * Longer durations (the format allows 99999h) mean the same in practice: never.
 */
export const MAX_DURATION_MS = 2 ** 31 - 1;

/** Milliseconds (at most MAX_DURATION_MS), or undefined when the text is not a Gateway API duration. */
export function parseDuration(text: string): number | undefined {
  if (!WHOLE.test(text)) return undefined;
  let total = 0;
  for (const m of text.matchAll(GROUP)) total += Number(m[1]) * UNIT_MS[m[2]!]!;
  return Math.min(total, MAX_DURATION_MS);
}
