// Epoch time for telemetry timestamps, read from the monotonic clock plus an offset.
// - performance.timeOrigin + performance.now() has sub-millisecond precision but never
//   follows a step of the wall clock: NTP's first sync after a node boots, a VM resumed from
//   a snapshot, an operator's `date -s`. A gateway started before the step would stamp every
//   span, log record and exemplar off by the step for the rest of its life, out of line with
//   its own metrics and with every other service's telemetry.
// - Date.now() follows the steps but truncates to whole milliseconds: too coarse to order a
//   SERVER span and its CLIENT child.
// So timestamps are performance.now() + an offset, and a timer compares the two clocks once a
// second and re-anchors the offset when they disagree by more than Date.now()'s own
// granularity. NTP slewing moves both clocks alike and never triggers it.

/** How often the clocks are compared. */
export const WALL_CLOCK_CHECK_MS = 1000;
/** Disagreement tolerated beyond Date.now()'s truncation before re-anchoring. */
const TOLERANCE_MS = 1;

let offsetMs = performance.timeOrigin;

/** Epoch ms (sub-ms precision) of a performance.now() reading. */
export function epochMsAt(perfMs: number): number {
  return perfMs + offsetMs;
}

/** Epoch ms (sub-ms precision) now. */
export function epochNowMs(): number {
  return performance.now() + offsetMs;
}

/**
 * Compares the wall clock with the monotonic one and re-anchors when the wall clock moved.
 * Returns the correction applied in ms (0 when none was needed).
 */
export function resyncWallClock(wallMs: number = Date.now(), perfMs: number = performance.now()): number {
  // Date.now() truncates: the true wall time lies in [wallMs, wallMs + 1).
  const estimate = perfMs + offsetMs;
  if (estimate >= wallMs - TOLERANCE_MS && estimate < wallMs + 1 + TOLERANCE_MS) return 0;
  const anchored = wallMs + 0.5 - perfMs;
  const correction = anchored - offsetMs;
  offsetMs = anchored;
  return correction;
}

/** Longer than this between the two monotonic reads around Date.now(), the thread was preempted: the sample is skipped. */
const MAX_SAMPLE_SPREAD_MS = 0.25;

/** The wall clock and the monotonic instant it was read at; undefined when the reads were interrupted. */
function sampleClocks(readWall: () => number): { wallMs: number; perfMs: number } | undefined {
  const before = performance.now();
  const wallMs = readWall();
  const after = performance.now();
  return after - before > MAX_SAMPLE_SPREAD_MS ? undefined : { wallMs, perfMs: (before + after) / 2 };
}

/**
 * Checks the clocks every `intervalMs` until the returned function is called; `onStep` hears
 * of every re-anchoring. The timer never keeps the process alive.
 */
export function startWallClockSync(onStep: (correctionMs: number) => void, intervalMs: number = WALL_CLOCK_CHECK_MS, readWall: () => number = Date.now): () => void {
  const check = (): number => {
    const sample = sampleClocks(readWall);
    return sample === undefined ? 0 : resyncWallClock(sample.wallMs, sample.perfMs);
  };
  check();
  const timer = setInterval(() => {
    const correction = check();
    if (correction !== 0) onStep(correction);
  }, intervalMs);
  timer.unref();
  return () => clearInterval(timer);
}
