// A Kubernetes resource.Quantity as a byte count: a whole number, or a number with a decimal
// (k, M, G, T, P, E) or binary (Ki, Mi, Gi, Ti, Pi, Ei) suffix, or an exponent (1e6), as
// kubectl writes sizes. Only quantities that come to a whole number of bytes are sizes.
const QUANTITY = /^([0-9]+(?:\.[0-9]+)?|\.[0-9]+)(Ki|Mi|Gi|Ti|Pi|Ei|k|M|G|T|P|E|[eE][0-9]+)?$/;

const MULTIPLIERS: Readonly<Record<string, number>> = {
  Ki: 2 ** 10, Mi: 2 ** 20, Gi: 2 ** 30, Ti: 2 ** 40, Pi: 2 ** 50, Ei: 2 ** 60,
  k: 1e3, M: 1e6, G: 1e9, T: 1e12, P: 1e15, E: 1e18,
};

/** The bytes `value` stands for; undefined when it is no quantity or not a whole number of bytes. */
export function quantityBytes(value: string | number): number | undefined {
  if (typeof value === "number") return Number.isSafeInteger(value) ? value : undefined;
  const m = QUANTITY.exec(value.trim());
  if (m === null) return undefined;
  const suffix = m[2] ?? "";
  const multiplier = suffix === "" ? 1 : /^[eE]/.test(suffix) ? 10 ** Number(suffix.slice(1)) : MULTIPLIERS[suffix]!;
  const bytes = Number(m[1]) * multiplier;
  // "1.5Ki" is 1536 bytes; "0.5" is no size. Rounding guards against 0.1 * 1e3 = 100.00000000000001.
  const whole = Math.round(bytes);
  return Number.isSafeInteger(whole) && Math.abs(bytes - whole) < 1e-6 ? whole : undefined;
}
