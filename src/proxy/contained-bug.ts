// A bug in the proxy's own request handling is contained where a crash would drop every
// request in flight: the request it hit fails, and the bug is never silent. undici in
// particular catches what an upstream handler throws and reports it to that handler as an
// upstream failure, so without a warning a bug would read as a flaky upstream.

/** Emits a `TollgateWarning` naming what failed, with the stack as its detail. */
export function warnContainedBug(what: string, thrown: unknown): void {
  const detail = thrown instanceof Error ? thrown.stack : undefined;
  process.emitWarning(`${what}: ${String(thrown)}`, { type: "TollgateWarning", detail });
}
