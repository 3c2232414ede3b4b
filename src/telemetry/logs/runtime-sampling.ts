// Envoy's RuntimeFilter for access logs (kgateway `runtimeFilter`): a fraction of requests is
// logged. Unless `useIndependentRandomness` is set, the draw comes from the request's
// X-Request-Id as Envoy's UUID extension reads it (the last 8 hex digits of a 36-character
// UUID), so every proxy that sees the request with its id makes the same decision. Tollgate
// has no runtime layer: the runtime key is never set, and the policy's percentSampled alone
// decides.

const HEX8 = /^[0-9a-fA-F]{8}$/;

/** The integer Envoy's UUID request id extension gives an id; undefined when it gives none. */
export function requestIdDraw(id: string | undefined): number | undefined {
  if (id === undefined || id.length < 36) return undefined;
  const digits = id.slice(28, 36);
  return HEX8.test(digits) ? Number.parseInt(digits, 16) : undefined;
}

/** Envoy's evaluateFractionalPercent: a numerator at or above the denominator always holds. */
export function fractionHolds(draw: number, numerator: number, denominator: number): boolean {
  return draw % denominator < numerator;
}

/** A uniform draw as Envoy's random source gives one, when the request id gives none. */
export function independentDraw(): number {
  return Math.floor(Math.random() * 0x1_0000_0000);
}
