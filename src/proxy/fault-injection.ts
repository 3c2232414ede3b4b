// A rule's fault injection (kgateway TrafficPolicy `faultInjection`, Envoy's fault filter):
// before anything else of the rule runs, a share of requests waits `delay`, a share is
// answered with the abort's status, and a share of responses is slowed to a byte rate. Each
// share is drawn on its own, as Envoy's runtime fractions are. `maxActiveFaults` bounds the
// requests of the policy with a fault at once, held as Envoy holds them: to the end of the
// exchange, except a delay with no abort on a policy with no response rate limit, which gives
// its slot back when the delay is over. A request drawn a fault past the bound gets none,
// counted once as `overflow` (Envoy counts each fault it would have injected).
import type { FaultInjectionModel } from "../config/model.ts";
import type { RuleCountKey } from "./rule-counts.ts";
import { RuleCounts } from "./rule-counts.ts";
import { Flag } from "./errors.ts";
import { Failure } from "./failures.ts";

/** What a request got (`tollgate.fault.injections`); `overflow`: none, as maxActiveFaults were active. */
export type FaultKind = "delay" | "abort" | "response_rate_limit" | "overflow";

export class FaultInjections extends RuleCounts<FaultKind> {}

/** The faults one request gets; at least one is set. */
export interface InjectedFaults {
  readonly delayMs: number | undefined;
  readonly abort: boolean;
  readonly responseBytesPerSecond: number | undefined;
  /** Gives the request's slot of maxActiveFaults back once its delay is over, where Envoy does; a no-op where the slot is held to the exchange's end. */
  readonly releaseSlot: () => void;
}

/** Envoy's words; its details `fault_filter_abort`. */
const ABORT_CODE = "fault_filter_abort";
const ABORT_MESSAGE = "fault filter abort";

interface Closable {
  once(event: "close", listener: () => void): unknown;
}

const noop = (): void => {};

export class FaultInjectionPolicy {
  /** `namespace/name` of the TrafficPolicy. */
  readonly policy: string;
  /** The abort's answer to an HTTP client: its httpStatus, or 200 for a gRPC abort (as Envoy answers); undefined without an abort. */
  readonly abortFailure: Failure | undefined;
  /** The gRPC abort's status. */
  readonly grpcStatus: number | undefined;
  readonly #model: FaultInjectionModel;
  #active = 0;
  readonly #released = (): void => {
    this.#active--;
  };

  constructor(model: FaultInjectionModel) {
    this.policy = model.policy;
    this.#model = model;
    const abort = model.abort;
    const status = abort === undefined ? undefined : (abort.httpStatus ?? 200);
    this.abortFailure = status === undefined ? undefined : new Failure(String(status), Flag.faultInjected, status, ABORT_CODE, ABORT_MESSAGE, false, false);
    this.grpcStatus = abort?.grpcStatus;
  }

  /**
   * Draws the faults for one request; undefined when it gets none. Counts the delay and the
   * response rate limit (the abort is counted when it is sent, after any delay). `slows`:
   * false for an upgrade, whose tunnel is never slowed. A slot not given back after a delay
   * is held until `exchangeEnd` closes.
   */
  draw(key: RuleCountKey, counts: FaultInjections | undefined, exchangeEnd: Closable, slows: boolean): InjectedFaults | undefined {
    const m = this.#model;
    const delayMs = m.delay !== undefined && sampled(m.delay.share) ? m.delay.ms : undefined;
    const abort = m.abort !== undefined && sampled(m.abort.share);
    const responseBytesPerSecond = slows && m.responseRateLimit !== undefined && sampled(m.responseRateLimit.share) ? m.responseRateLimit.bytesPerSecond : undefined;
    if (delayMs === undefined && !abort && responseBytesPerSecond === undefined) return undefined;
    let releaseSlot = noop;
    if (m.maxActiveFaults !== undefined) {
      if (this.#active >= m.maxActiveFaults) {
        counts?.count("overflow", key);
        return undefined;
      }
      this.#active++;
      // Envoy frees the slot after a delay unless an abort follows or responses may be slowed.
      if (delayMs !== undefined && !abort && m.responseRateLimit === undefined) releaseSlot = onceOnly(this.#released);
      else exchangeEnd.once("close", this.#released);
    }
    if (delayMs !== undefined) counts?.count("delay", key);
    if (responseBytesPerSecond !== undefined) counts?.count("response_rate_limit", key);
    return { delayMs, abort, responseBytesPerSecond, releaseSlot };
  }

  /** The headers of a gRPC abort: Envoy's trailers-only answer, its status and message in the head. */
  grpcAbortHeaders(): Record<string, string> {
    return { "content-type": "application/grpc", "grpc-status": String(this.grpcStatus), "grpc-message": ABORT_MESSAGE };
  }
}

/** A gRPC request, which a gRPC abort answers in gRPC's terms (any other gets HTTP 200 and the JSON body, as from Envoy). */
export function isGrpcRequest(contentType: string | undefined): boolean {
  return contentType !== undefined && contentType.toLowerCase().startsWith("application/grpc");
}

function sampled(share: number): boolean {
  return share >= 1 || (share > 0 && Math.random() < share);
}

function onceOnly(release: () => void): () => void {
  let done = false;
  return () => {
    if (done) return;
    done = true;
    release();
  };
}
