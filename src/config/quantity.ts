// A Kubernetes resource.Quantity as a byte count, read with Kubernetes' grammar: an optional
// sign, a decimal number, then a binary suffix (Ki, Mi, Gi, Ti, Pi, Ei), a decimal one (m, k,
// M, G, T, P, E) or an exponent (e3, E+6). As Kubernetes' Value() does, a fraction of a byte
// rounds up: "0.5" is 1 byte.
const QUANTITY = /^([+-]?)([0-9]+(?:\.[0-9]*)?|\.[0-9]+)(Ki|Mi|Gi|Ti|Pi|Ei|m|k|M|G|T|P|E|[eE][+-]?[0-9]+)?$/;

const MULTIPLIERS: Readonly<Record<string, number>> = {
  Ki: 2 ** 10, Mi: 2 ** 20, Gi: 2 ** 30, Ti: 2 ** 40, Pi: 2 ** 50, Ei: 2 ** 60,
  m: 1e-3, k: 1e3, M: 1e6, G: 1e9, T: 1e12, P: 1e15, E: 1e18,
};

/** The bytes `value` stands for (negative when it is); undefined when it is no quantity. */
export function quantityBytes(value: string | number): number | undefined {
  if (typeof value === "number") return Number.isFinite(value) ? Math.ceil(value) : undefined;
  const m = QUANTITY.exec(value);
  if (m === null) return undefined;
  const suffix = m[3] ?? "";
  // `E` alone is exa; `E3` is an exponent.
  const multiplier = suffix === "" ? 1 : (MULTIPLIERS[suffix] ?? 10 ** Number(suffix.slice(1)));
  const bytes = Number(m[2]) * multiplier * (m[1] === "-" ? -1 : 1);
  // 0.1 * 1e3 is 100.00000000000001: a relative error that small is no fraction of a byte.
  const nearest = Math.round(bytes);
  return Math.abs(bytes - nearest) <= Math.abs(bytes) * 1e-12 ? nearest : Math.ceil(bytes);
}
