// What every check a request waits on shares (an ExternalAuth check, whatever protocol it
// speaks, and a global rate limit check): where its verdict goes, its CLIENT span, its time
// limit, and the one-verdict rule (a cancelled check says nothing).
import { warnContainedBug } from "./contained-bug.ts";
import { ErrorType } from "./errors.ts";
import type { Exchange, UpstreamAttempt } from "./exchange.ts";
import type { GuardedTelemetry } from "./guarded-telemetry.ts";
import type { AuthGrant } from "./auth-grant.ts";
import type { UpstreamPools } from "./pools.ts";

/** The most of a denying answer's body the gateway holds to relay; a longer one is a failed check. */
export const DENIAL_BODY_LIMIT_BYTES = 64 * 1024;

/** What a check needs from the listener. */
export interface AuthContext {
  readonly telemetry: GuardedTelemetry;
  readonly pools: UpstreamPools;
}

/** Where any check's verdict goes: the plain request path or an upgrade's tunnel. */
export interface CheckSink {
  /** No usable answer (an HTTP 5xx or a failed gRPC call included). */
  checkFailed(message: string): void;
  /** A bug while answering: the client's connection is closed, as nothing sensible can be sent. */
  abandon(): void;
}

/**
 * Where an ExternalAuth check's verdict goes. `checkFailed` means no verdict, which the
 * policy answers (statusOnError, or failOpen); a denial is never a failure.
 */
export interface AuthVerdictSink extends CheckSink {
  /** The service allowed the request: the grant's headers go onto the forwarded request. */
  authAllowed(grant: AuthGrant): void;
  /** The service denied: the client gets that answer (hop-by-hop headers and Host out, the body whole). */
  authDenied(status: number, headers: Record<string, string | string[]>, body: Buffer): void;
  /** The service denied, but its answer cannot be relayed (too large, not writable): refused all the same, whatever failOpen says. */
  unusableDenial(message: string): void;
}

export class AuthCheckError extends Error {
  override name = "AuthCheckError";
}
export const checkTimedOut = new AuthCheckError("the authorization service did not answer in time");
export const denialTooLarge = new AuthCheckError(`the authorization service's denial is larger than ${DENIAL_BODY_LIMIT_BYTES} bytes`);
export const requestGone = new AuthCheckError("the request ended during the authorization check");

/** One check in flight: its span, its timer and its single verdict. */
export abstract class CheckInFlight<Sink extends CheckSink = AuthVerdictSink> {
  readonly ctx: AuthContext;
  readonly exchange: Exchange;
  readonly sink: Sink;
  attempt: UpstreamAttempt | undefined = undefined;
  timer: NodeJS.Timeout | undefined = undefined;
  /** The verdict went out, or the check was cancelled: nothing more happens. */
  done = false;

  constructor(ctx: AuthContext, exchange: Exchange, sink: Sink) {
    this.ctx = ctx;
    this.exchange = exchange;
    this.sink = sink;
    exchange.authCheck = this;
  }

  /** Gives the call up wherever it is, for `reason`; whatever it reports afterwards is ignored or mapped to `reason`. */
  abstract cut(reason: AuthCheckError): void;

  /** The request ended before the verdict (`cause`: the client left, or a drain cut it): given up without one. */
  cancel(cause: string): void {
    if (this.done) return;
    this.done = true;
    this.cut(requestGone);
    this.end(cause);
  }

  /** No check could be made, or it went wrong. */
  fail(message: string, errorType: string = ErrorType.upstreamError): void {
    this.end(errorType);
    this.verdict(() => this.sink.checkFailed(message));
  }

  /** Stops the timer and closes the check's span; `done` stays for `verdict` to set. */
  end(errorType: string | undefined): void {
    if (this.timer !== undefined) {
      clearTimeout(this.timer);
      this.timer = undefined;
    }
    const attempt = this.attempt;
    if (attempt === undefined || attempt.endPerfMs !== 0) return;
    attempt.endPerfMs = performance.now();
    if (errorType !== undefined) attempt.errorType = errorType;
    this.ctx.telemetry.attemptEnd(this.exchange, attempt);
  }

  /** Delivers the one verdict; a bug in the sink is reported, never raised into the client library. */
  verdict(deliver: () => void): void {
    const cancelled = this.done;
    this.done = true;
    if (this.exchange.authCheck === this) this.exchange.authCheck = undefined;
    if (cancelled) return;
    try {
      deliver();
    } catch (thrown) {
      warnContainedBug("answering after a check failed", thrown);
      try {
        this.sink.abandon();
      } catch (second) {
        warnContainedBug("closing the connection after a check failed", second);
      }
    }
  }
}
