// Gateway API ExternalAuth, protocol GRPC: the check is one call of Envoy's ext_authz service
// (envoy.service.auth.v3.Authorization/Check) carrying the request's attributes: method, the
// path and query as received, Host, scheme, protocol, the request id, peer and local
// addresses, the headers (all of them, pseudo-headers included, unless `grpc.allowedHeaders`
// names some), the body with forwardBody, and a TrafficPolicy's context extensions. The call carries the check's own trace context
// and its time limit as its gRPC deadline. A failed call (unreachable, a deadline, any status
// but OK) is no verdict, which the policy answers; the answer is read in ext-authz-verdict.ts.
import { isUtf8 } from "node:buffer";
import type { AuthContext, AuthVerdictSink } from "./auth-check.ts";
import { ErrorType } from "./errors.ts";
import type { Exchange } from "./exchange.ts";
import type { ExternalAuthPolicy } from "./external-auth-policy.ts";
import { CHECK_METHOD_PATH, type CheckRequestMessage, decodeCheckResponse, encodeCheckRequest } from "./ext-authz-messages.ts";
import { type GrpcVerdict, readGrpcVerdict } from "./ext-authz-verdict.ts";
import { warnContainedBug } from "./contained-bug.ts";
import { GrpcCheck } from "./grpc-check.ts";
import { downstreamLocalOf } from "./facts.ts";
import { asText } from "./header-text.ts";
import { forwardingHeaders } from "./upstream-request.ts";

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
  check.start(
    policy.backend,
    CHECK_METHOD_PATH,
    () => encodeCheckRequest(checkRequest(exchange, policy, target, body)),
    timeoutMs,
    (attempt) => {
      attempt.externalAuth = true;
    },
  );
  return check;
}

/** The check's one gRPC call. */
export class GrpcAuthCheck extends GrpcCheck<AuthVerdictSink> {
  readonly service = "the authorization service";
  readonly checkName = "the authorization check";

  failedCallMessage(name: string): string {
    return `the authorization service failed the check (gRPC ${name})`;
  }

  answeredOk(answer: Buffer): void {
    let message;
    try {
      message = decodeCheckResponse(answer);
    } catch {
      this.fail("the authorization service's answer is not a CheckResponse", ErrorType.upstreamProtocolError);
      return;
    }
    let verdict: GrpcVerdict;
    try {
      verdict = readGrpcVerdict(message);
    } catch (thrown) {
      // A bug reading the answer: a denial stays one, so failOpen cannot let it through.
      warnContainedBug("reading an authorization service's CheckResponse", thrown);
      verdict = { kind: "invalid", message: "the gateway could not read the authorization service's answer", denied: (message.status?.code ?? 0) !== 0 };
    }
    if (verdict.kind === "invalid") {
      if (!verdict.denied) {
        this.fail(verdict.message, ErrorType.upstreamProtocolError);
        return;
      }
      this.end(ErrorType.upstreamProtocolError);
      this.verdict(() => this.sink.unusableDenial(verdict.message));
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
 * them); repeated headers are joined with a comma. The body travels as text when it is UTF-8
 * (unless the policy packs it as bytes), else as bytes in `raw_body`.
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
  const local = downstreamLocalOf(exchange.req.socket);
  const declared = exchange.req.headers["content-length"];
  const size = body !== undefined ? body.length : declared !== undefined && /^\d+$/.test(declared) ? Number(declared) : -1;
  return {
    attributes: {
      source: peer(exchange.peerAddress, exchange.peerPort),
      destination: peer(local.address, local.port),
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
          ...(body === undefined || body.length === 0 ? {} : !policy.bodyAsBytes && isUtf8(body) ? { body: body.toString("utf8") } : { rawBody: body }),
        },
      },
      ...(policy.hasContextExtensions ? { contextExtensions: policy.contextExtensions } : {}),
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
