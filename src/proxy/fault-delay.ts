// A fault injection's delay: the request waits before anything else of its rule runs, its
// wait cancelled by the exchange's end like any other the request is in.
import { warnContainedBug } from "./contained-bug.ts";
import { Flag, addFlag } from "./errors.ts";
import type { Exchange } from "./exchange.ts";

/**
 * Waits `delayMs`, then `next`; `over` runs once the wait ends either way (the slot of
 * maxActiveFaults it held comes back). A bug in what runs next closes the client's connection
 * (`abandon`): nothing sensible can be sent.
 */
export function delayForFault(exchange: Exchange, delayMs: number, over: () => void, next: () => void, abandon: () => void): void {
  addFlag(exchange, Flag.delayInjected);
  const timer = setTimeout(() => {
    exchange.authCheck = undefined;
    exchange.injectedDelayMs = delayMs;
    over();
    try {
      next();
    } catch (e) {
      warnContainedBug("a request after an injected delay", e);
      abandon();
    }
  }, delayMs);
  exchange.authCheck = {
    cancel(): void {
      clearTimeout(timer);
      over();
    },
  };
}
