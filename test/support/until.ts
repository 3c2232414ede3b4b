// Waiting on state the gateway changes between events, without sleeping a guessed time.

/** Yields to the event loop until `done` holds. */
export async function until(done: () => boolean | Promise<boolean>): Promise<void> {
  while (!(await done())) await new Promise((resolve) => setImmediate(resolve));
}
