// Gateway API Fraction (numerator over denominator, default 100) as a ratio in [0, 1].
import type { Reporter, Resource, Segments } from "./resources.ts";

/**
 * The ratio, or undefined when absent or when the numerator exceeds the denominator (an
 * error reported at the numerator). `what` names the share in the hint, e.g. "a sampling rate".
 */
export function fractionRatio(r: Resource, reporter: Reporter, f: Record<string, number> | undefined, at: Segments, what: string): number | undefined {
  if (f === undefined) return undefined;
  const numerator = f["numerator"]!;
  const denominator = f["denominator"] ?? 100;
  if (numerator > denominator) {
    reporter.error(r, [...at, "numerator"], `numerator ${numerator} is greater than denominator ${denominator}`, `${what} is at most 100%: use a numerator ≤ ${denominator}`);
    return undefined;
  }
  return numerator / denominator;
}
