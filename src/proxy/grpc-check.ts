// One unary gRPC call a request waits on (an ExternalAuth check with protocol GRPC, a global
// rate limit check): the call goes to the next endpoint of the service's Backend over that
// endpoint's channel, carries the request's trace context as metadata and its time limit as
// its deadline, and is a CLIENT span. What the answer means is the subclass's.
import { type ClientUnaryCall, Metadata, type ServiceError, status as GrpcStatus } from "@grpc/grpc-js";
import type { CompiledBackend } from "../plan/types.ts";
import type { OutgoingHeaders } from "../telemetry/hooks.ts";
import { epochMsAt } from "../telemetry/wall-clock.ts";
import { type AuthCheckError, type CheckSink, CheckInFlight } from "./auth-check.ts";
import { warnContainedBug } from "./contained-bug.ts";
import { ErrorType } from "./errors.ts";
import { UpstreamAttempt } from "./exchange.ts";
import type { GrpcChannel } from "./grpc-channels.ts";
import { nextEndpoint } from "./round-robin.ts";

const passBytes = (bytes: Buffer): Buffer => bytes;
/**
 * grpc-js's deadline timer may fire a millisecond or two before the wall clock reaches the
 * deadline (timers run on the monotonic clock); a DEADLINE_EXCEEDED that close to it is the
 * gateway's own, not one the service sent about its work.
 */
const DEADLINE_TIMER_SLACK_MS = 20;
const PRINTABLE_ASCII = /^[\x20-\x7e]*$/;

export abstract class GrpcCheck<Sink extends CheckSink> extends CheckInFlight<Sink> {
  call: ClientUnaryCall | undefined = undefined;
  channel: GrpcChannel | undefined = undefined;
  /** When the call was made (`performance.now()`). */
  startedAtPerfMs = 0;
  /** The call's deadline (epoch ms). */
  deadlineMs = 0;

  /** "the authorization service", "the rate limit service": in what the client is told. */
  abstract readonly service: string;
  /** "the authorization check", "the rate limit check". */
  abstract readonly checkName: string;
  /** What the client is told when the call fails with gRPC status `name`. */
  abstract failedCallMessage(name: string): string;
  /** The service answered OK with `answer`: read it and give the verdict. */
  abstract answeredOk(answer: Buffer): void;

  /**
   * Calls `methodPath` on the next endpoint of `backend` with `message` (built by `encode`,
   * which may throw: a gateway bug, failing the check); `marks` labels the attempt (its
   * CLIENT span) before it starts.
   */
  start(backend: CompiledBackend, methodPath: string, encode: () => Buffer, timeoutMs: number, marks: (attempt: UpstreamAttempt) => void): void {
    const endpoint = nextEndpoint(backend);
    if (endpoint === undefined) {
      this.fail(`${this.service}'s Backend has no endpoint`);
      return;
    }
    const ctx = this.ctx;
    let channel: GrpcChannel;
    try {
      channel = ctx.pools.grpc.channel(endpoint);
    } catch {
      this.fail("the gateway is closing its upstream connections");
      return;
    }
    const now = performance.now();
    this.channel = channel;
    this.startedAtPerfMs = now;
    const attempt = new UpstreamAttempt(0, backend, endpoint, "POST", endpoint.origin + methodPath, epochMsAt(now), now);
    attempt.rpcMethod = methodPath.slice(1);
    marks(attempt);
    this.attempt = attempt;
    const propagated: OutgoingHeaders = {};
    ctx.telemetry.attemptStart(this.exchange, attempt, propagated);
    let call: ClientUnaryCall;
    try {
      const message = encode();
      this.deadlineMs = Date.now() + timeoutMs;
      call = channel.client.makeUnaryRequest(methodPath, passBytes, passBytes, message, callMetadata(propagated), { deadline: this.deadlineMs }, (error, answer) => this.answered(error, answer));
    } catch (thrown) {
      // A gateway bug: the check fails and its span ends, as for a call that could not be sent.
      warnContainedBug(`starting the gRPC call ${methodPath}`, thrown);
      this.fail(`${this.checkName} failed to start`);
      return;
    }
    this.call = call;
    ctx.pools.grpc.track(call);
    call.on("metadata", () => {
      channel.heard();
      this.answerStarted();
    });
    call.on("status", ({ code }) => {
      ctx.pools.grpc.untrack(call);
      if (channel.transient) channel.retire();
      if (this.statusFromService(code)) channel.heard();
    });
  }

  /**
   * Whether a status came from the service: not the gateway's own cancel, nor its deadline
   * passing (a DEADLINE_EXCEEDED well before it is the service's). A lost connection's
   * UNAVAILABLE also counts: the channel is no longer connected then, so nothing is replaced.
   */
  statusFromService(code: GrpcStatus): boolean {
    if (code === GrpcStatus.CANCELLED) return false;
    return code !== GrpcStatus.DEADLINE_EXCEEDED || !this.ownDeadlinePassed();
  }

  ownDeadlinePassed(): boolean {
    return Date.now() >= this.deadlineMs - DEADLINE_TIMER_SLACK_MS;
  }

  override cut(_reason: AuthCheckError): void {
    // What the call reports once cancelled is ignored: its span says so here.
    if (this.attempt !== undefined && this.attempt.grpcStatus < 0) this.attempt.grpcStatus = GrpcStatus.CANCELLED;
    this.call?.cancel();
  }

  /** The service's response headers arrived: the HTTP/2 exchange under the call answered 200. */
  answerStarted(): void {
    const attempt = this.attempt;
    if (attempt === undefined || this.done) return;
    attempt.status = 200;
    const peer = this.call?.getPeer();
    const colon = peer?.lastIndexOf(":") ?? -1;
    if (peer !== undefined && colon > 0) {
      attempt.peerAddress = peer.slice(0, colon).replace(/^\[|\]$/g, "");
      attempt.peerPort = Number(peer.slice(colon + 1));
    }
  }

  answered(error: ServiceError | null, answer: Buffer | undefined): void {
    if (this.done) return;
    if (this.attempt !== undefined) this.attempt.grpcStatus = error === null ? GrpcStatus.OK : error.code;
    if (error === null) {
      this.answeredOk(answer ?? Buffer.alloc(0));
      return;
    }
    // The gateway's own deadline, not a DEADLINE_EXCEEDED the service sent about its own work.
    if (error.code === GrpcStatus.DEADLINE_EXCEEDED && this.ownDeadlinePassed()) {
      if (this.channel !== undefined) this.ctx.pools.grpc.deadlinePassedUnanswered(this.channel, this.startedAtPerfMs);
      this.fail(this.timedOutMessage(), ErrorType.timeout);
      return;
    }
    const name = GrpcStatus[error.code] ?? String(error.code);
    this.fail(this.failedCallMessage(name), name);
  }

  timedOutMessage(): string {
    return `${this.service} did not answer in time`;
  }
}

/**
 * The propagation headers as call metadata. gRPC metadata holds printable ASCII only: a
 * value a client sent with other bytes (a `baggage` the tracer passes on) is left off rather
 * than fail the call.
 */
function callMetadata(propagated: OutgoingHeaders): Metadata {
  const metadata = new Metadata();
  for (const name in propagated) {
    const value = propagated[name]!;
    for (const one of typeof value === "string" ? [value] : value) if (PRINTABLE_ASCII.test(one)) metadata.add(name, one);
  }
  return metadata;
}
