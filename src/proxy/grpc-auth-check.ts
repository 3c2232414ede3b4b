// Gateway API ExternalAuth, protocol GRPC: the check is one call of Envoy's ext_authz service
// (envoy.service.auth.v3.Authorization/Check) carrying the request's attributes: method, the
// path and query as received, Host, scheme, protocol, the request id, peer and local
// addresses, the headers (all of them, pseudo-headers included, unless `grpc.allowedHeaders`
// names some) and the body with forwardBody. The call carries the check's own trace context
// and its time limit as its gRPC deadline. A failed call (unreachable, a deadline, any status
// but OK) is a 403, failing closed as Envoy does; the answer is read in ext-authz-verdict.ts.
import { type ClientUnaryCall, Metadata, type ServiceError, status as GrpcStatus } from "@grpc/grpc-js";
import { isUtf8 } from "node:buffer";
import type { OutgoingHeaders } from "../telemetry/hooks.ts";
import { epochMsAt } from "../telemetry/wall-clock.ts";
import { type AuthCheckError, type AuthContext, type AuthVerdictSink, CheckInFlight, checkTimedOut } from "./auth-check.ts";
import { warnContainedBug } from "./contained-bug.ts";
import { ErrorType } from "./errors.ts";
import { type Exchange, UpstreamAttempt } from "./exchange.ts";
import type { ExternalAuthPolicy } from "./external-auth.ts";
import { CHECK_METHOD_PATH, type CheckRequestMessage, decodeCheckResponse, encodeCheckRequest } from "./ext-authz-messages.ts";
import { readGrpcVerdict } from "./ext-authz-verdict.ts";
import { nextEndpoint } from "./round-robin.ts";
import type { GrpcChannel } from "./grpc-channels.ts";
import { forwardingHeaders } from "./upstream-request.ts";

const passBytes = (bytes: Buffer): Buffer => bytes;
/**
 * grpc-js's deadline timer may fire a millisecond or two before the wall clock reaches the
 * deadline (timers run on the monotonic clock); a DEADLINE_EXCEEDED that close to it is the
 * gateway's own, not one the service sent about its work.
 */
const DEADLINE_TIMER_SLACK_MS = 20;
const NON_ASCII = /[^\x00-\x7f]/;

export function startGrpcAuthCheck(
  ctx: AuthContext,
  exchange: Exchange,
  policy: ExternalAuthPolicy,
  target: string,
  body: Buffer | undefined,
  timeoutMs: number,
  sink: AuthVerdictSink,
): GrpcAuthCheck {
  const check = new GrpcAuthCheck(ctx, exchange, sink);
  const backend = policy.backend;
  const endpoint = nextEndpoint(backend);
  if (endpoint === undefined) {
    check.fail("the authorization service's Backend has no endpoint");
    return check;
  }
  let channel: GrpcChannel;
  try {
    channel = ctx.pools.grpc.channel(endpoint);
  } catch {
    check.fail("the gateway is closing its upstream connections");
    return check;
  }
  const now = performance.now();
  check.channel = channel;
  check.startedAtPerfMs = now;
  const attempt = new UpstreamAttempt(0, backend, endpoint, "POST", endpoint.origin + CHECK_METHOD_PATH, epochMsAt(now), now);
  attempt.externalAuth = true;
  attempt.rpcMethod = CHECK_METHOD_PATH.slice(1);
  check.attempt = attempt;
  const propagated: OutgoingHeaders = {};
  ctx.telemetry.attemptStart(exchange, attempt, propagated);
  let call: ClientUnaryCall;
  try {
    const message = encodeCheckRequest(checkRequest(exchange, policy, target, body));
    check.deadlineMs = Date.now() + timeoutMs;
    call = channel.client.makeUnaryRequest(CHECK_METHOD_PATH, passBytes, passBytes, message, callMetadata(propagated), { deadline: check.deadlineMs }, (error, answer) =>
      check.answered(error, answer),
    );
  } catch (thrown) {
    // A gateway bug: the check fails closed and its span ends, as for a check that could not be sent.
    warnContainedBug("starting a gRPC authorization check", thrown);
    check.fail("the authorization check failed to start");
    return check;
  }
  check.call = call;
  ctx.pools.grpc.track(call);
  call.on("metadata", () => {
    channel.heard();
    check.answerStarted();
  });
  call.on("status", ({ code }) => {
    ctx.pools.grpc.untrack(call);
    if (channel.transient) channel.retire();
    if (check.statusFromService(code)) channel.heard();
  });
  return check;
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

const PRINTABLE_ASCII = /^[\x20-\x7e]*$/;

/** The check's one gRPC call. */
export class GrpcAuthCheck extends CheckInFlight {
  call: ClientUnaryCall | undefined = undefined;
  channel: GrpcChannel | undefined = undefined;
  /** When the call was made (`performance.now()`). */
  startedAtPerfMs = 0;
  /** The call's deadline (epoch ms). */
  deadlineMs = 0;

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
    if (error !== null) {
      // The gateway's own deadline, not a DEADLINE_EXCEEDED the service sent about its own work.
      if (error.code === GrpcStatus.DEADLINE_EXCEEDED && this.ownDeadlinePassed()) {
        if (this.channel !== undefined) this.ctx.pools.grpc.deadlinePassedUnanswered(this.channel, this.startedAtPerfMs);
        this.fail(checkTimedOut.message, ErrorType.timeout);
      } else {
        const name = GrpcStatus[error.code] ?? String(error.code);
        this.fail(`the authorization service failed the check (gRPC ${name})`, name);
      }
      return;
    }
    let verdict;
    try {
      verdict = readGrpcVerdict(decodeCheckResponse(answer ?? Buffer.alloc(0)));
    } catch {
      this.fail("the authorization service's answer is not a CheckResponse", ErrorType.upstreamProtocolError);
      return;
    }
    if (verdict.kind === "invalid") {
      this.fail(verdict.message, ErrorType.upstreamProtocolError);
      return;
    }
    this.end(undefined);
    if (verdict.kind === "allow") this.verdict(() => this.sink.authAllowed(verdict.grant));
    else this.verdict(() => this.sink.authDenied(verdict.status, verdict.headers, verdict.body));
  }
}

/**
 * The request as Envoy describes it to the service. Without a header list every header goes,
 * the pseudo-headers included (`:authority`, `:method`, `:path`, `:scheme`, as Envoy's map has
 * them); repeated headers are joined with a comma. The body travels as text when it is UTF-8,
 * else as bytes in `raw_body`.
 */
function checkRequest(exchange: Exchange, policy: ExternalAuthPolicy, target: string, body: Buffer | undefined): CheckRequestMessage {
  const forwarded = forwardingHeaders(exchange);
  const host = joined(forwarded["host"]) ?? "";
  const path = asText(target);
  const headers: Record<string, string> = {};
  if (policy.requestHeaders.length === 0) {
    headers[":authority"] = host;
    headers[":method"] = exchange.method;
    headers[":path"] = path;
    headers[":scheme"] = exchange.scheme;
    for (const name in forwarded) if (name !== "__proto__") headers[name] = joined(forwarded[name])!;
  } else {
    // Own keys only: a listed `constructor` must not read Object's.
    for (const name of policy.requestHeaders) if (Object.hasOwn(forwarded, name)) headers[name] = joined(forwarded[name])!;
  }
  const socket = exchange.req.socket;
  const declared = exchange.req.headers["content-length"];
  const size = body !== undefined ? body.length : declared !== undefined && /^\d+$/.test(declared) ? Number(declared) : -1;
  return {
    attributes: {
      source: peer(exchange.peerAddress, exchange.peerPort),
      destination: peer(socket.localAddress ?? "", socket.localPort ?? 0),
      request: {
        time: { seconds: Math.floor(exchange.startTimeMs / 1000), nanos: Math.round((exchange.startTimeMs % 1000) * 1e6) },
        http: {
          id: joined(forwarded["x-request-id"]) ?? "",
          method: exchange.method,
          headers,
          path,
          host,
          scheme: exchange.scheme,
          size,
          protocol: `HTTP/${exchange.protocolVersion}`,
          ...(body === undefined || body.length === 0 ? {} : isUtf8(body) ? { body: body.toString("utf8") } : { rawBody: body }),
        },
      },
    },
  };
}

function peer(address: string, port: number): CheckRequestMessage["attributes"]["source"] {
  return { address: { socketAddress: { address: address.startsWith("::ffff:") ? address.slice(7) : address, portValue: port } } };
}

/** A header value as text: repeated values joined with a comma, bytes read as UTF-8 when they are. */
function joined(value: string | string[] | undefined): string | undefined {
  if (value === undefined) return undefined;
  return asText(typeof value === "string" ? value : value.join(","));
}

/**
 * Node reads header bytes as Latin-1 characters; the service gets UTF-8 text, so bytes that
 * are UTF-8 (a client's `José`) go as that text. Other bytes cannot travel in a protobuf
 * string: each goes as its Latin-1 character, which names the byte.
 */
function asText(latin1: string): string {
  if (!NON_ASCII.test(latin1)) return latin1;
  const bytes = Buffer.from(latin1, "latin1");
  return isUtf8(bytes) ? bytes.toString("utf8") : latin1;
}
