// Waits for work, but never longer than ms; never rejects. Flush and shutdown paths use it so
// a hung exporter cannot hold a drain past its budget.
export function raceTimeout(work: Promise<unknown>, ms: number): Promise<void> {
  return new Promise<void>((resolve) => {
    const t = setTimeout(resolve, ms);
    t.unref();
    work.then(
      () => {
        clearTimeout(t);
        resolve();
      },
      () => {
        clearTimeout(t);
        resolve();
      },
    );
  });
}
