// Fault injection for the pool gate: the entry's undici pool throws from dispatch for some
// paths, standing in for a bug in the code that hands a granted request to undici. No real
// input makes that path throw, and it is the path under test.
import type { Dispatcher } from "undici";
import type { PoolEntry } from "../../src/proxy/pools.ts";

/** Makes `entry`'s pool throw when asked to send one of `paths`; returns the function that undoes it. */
export function throwOnDispatchOf(entry: PoolEntry, ...paths: string[]): () => void {
  const pool = entry.pool as Dispatcher;
  const dispatch = pool.dispatch;
  pool.dispatch = function (this: Dispatcher, options: Dispatcher.DispatchOptions, handler: Dispatcher.DispatchHandler): boolean {
    if (paths.includes(options.path)) throw new Error("a handler bug");
    return dispatch.call(this, options, handler);
  };
  return () => {
    pool.dispatch = dispatch;
  };
}
