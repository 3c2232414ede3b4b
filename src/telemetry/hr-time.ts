// Epoch milliseconds (sub-millisecond precision) as OTLP's seconds + nanoseconds, in two
// calls so the encoders can write a timestamp without allocating an HrTime pair per field.

/** Whole seconds; a fraction that rounds to 1e9 ns carries into the next second. */
export function epochSeconds(ms: number): number {
  const seconds = Math.floor(ms / 1000);
  return Math.round((ms - seconds * 1000) * 1e6) >= 1e9 ? seconds + 1 : seconds;
}

/** Nanoseconds within epochSeconds(ms), rounded to the nearest nanosecond. */
export function epochNanos(ms: number): number {
  const nanos = Math.round((ms - Math.floor(ms / 1000) * 1000) * 1e6);
  return nanos >= 1e9 ? nanos - 1e9 : nanos;
}
