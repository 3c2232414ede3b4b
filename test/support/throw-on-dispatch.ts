// Fault injection for the proxy's upstream hand-off and callbacks: a request for one of some
// paths meets a throw, standing in for a bug in the gateway's own code. No real input makes
// those paths throw, and what the gateway does then is what is under test.
import type { Dispatcher } from "undici";
import type { PoolEntry } from "../../src/proxy/pools.ts";

type Methods = Record<string, unknown>;

/** Makes `entry`'s pool throw when asked to send one of `paths`; returns the function that undoes it. */
export function throwOnDispatchOf(entry: PoolEntry, ...paths: string[]): () => void {
  return onDispatchOf(entry, paths, () => {
    throw new Error("a handler bug");
  });
}

/**
 * Makes `method` of what `pick` finds from the undici handler of the request for one of
 * `paths` throw (the object is that request's own, so other requests are untouched).
 */
export function throwInHandlerOf(entry: PoolEntry, paths: string[], pick: (handler: Methods) => Methods, method: string): () => void {
  return onDispatchOf(entry, paths, (handler) => {
    pick(handler as unknown as Methods)[method] = () => {
      // With a code an upstream failure could have: a bug must still not be classified as one.
      throw Object.assign(new Error("a handler bug"), { code: "ECONNREFUSED" });
    };
  });
}

function onDispatchOf(entry: PoolEntry, paths: string[], meddle: (handler: Dispatcher.DispatchHandler) => void): () => void {
  const pool = entry.pool as Dispatcher;
  const dispatch = pool.dispatch;
  pool.dispatch = function (this: Dispatcher, options: Dispatcher.DispatchOptions, handler: Dispatcher.DispatchHandler): boolean {
    if (paths.includes(options.path)) meddle(handler);
    return dispatch.call(this, options, handler);
  };
  return () => {
    pool.dispatch = dispatch;
  };
}
