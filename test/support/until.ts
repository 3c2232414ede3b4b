// Waiting on state the gateway changes between events, without sleeping a guessed time.

/** Long enough for any state these tests wait on; only a regression (a hang) runs into it. */
const GIVE_UP_MS = 60_000;

/** Yields to the event loop until `done` holds; fails, rather than hangs, if it never does. */
export async function until(done: () => boolean | Promise<boolean>): Promise<void> {
  const deadline = performance.now() + GIVE_UP_MS;
  while (!(await done())) {
    if (performance.now() > deadline) throw new Error(`gave up after ${GIVE_UP_MS / 1000} s waiting for ${done.toString().slice(0, 120)}`);
    await new Promise((resolve) => setImmediate(resolve));
  }
}
