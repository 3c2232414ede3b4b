// One rule's external authorization, compiled: the HTTPRoute ExternalAuth filter, or a
// kgateway TrafficPolicy extAuth with its GatewayExtension's settings. What the check sends
// and hands on, its time limit, and what no verdict means.
import type { ExternalAuthModel } from "../config/model.ts";
import type { CompiledBackend, CompiledMatch } from "../plan/types.ts";
import { Flag } from "./errors.ts";
import type { Exchange } from "./exchange.ts";
import { Failure } from "./failures.ts";
import { requestTimeLeftMs } from "./request-time-left.ts";

/** One rule's ExternalAuth filter (or TrafficPolicy extAuth), compiled. */
export class ExternalAuthPolicy {
  readonly backend: CompiledBackend;
  readonly pathPrefix: string;
  /** HTTP: sent when the request has them, beside Host and Authorization. GRPC: the only ones sent; empty sends all. */
  readonly requestHeaders: readonly string[];
  /** Copied from an allowing answer; undefined means every header but the answer's own. */
  readonly responseHeaders: ReadonlySet<string> | undefined;
  /** The body, up to this many bytes, goes with the check (a larger one is refused); 0 sends none. */
  readonly forwardBodyBytes: number;
  readonly bodyAsBytes: boolean;
  readonly protocol: "HTTP" | "GRPC";
  /** The TrafficPolicy that gave the check; '' for the HTTPRoute filter. */
  readonly policyName: string;
  readonly timeoutMs: number;
  readonly failOpen: boolean;
  /** What a refusal for want of a verdict answers. */
  readonly failure: Failure;
  /** The share of requests checked, as a fraction; 1 checks all. */
  readonly checkedShare: number;
  readonly contextExtensions: Readonly<Record<string, string>>;
  readonly hasContextExtensions: boolean;
  readonly checkHeadersToAdd: readonly { readonly name: string; readonly value: string }[];
  /** HTTP: the denial's headers the client gets; undefined means all. */
  readonly clientHeadersOnDenial: ReadonlySet<string> | undefined;
  /** HTTP: headers of an allowing answer added to the client's response. */
  readonly clientHeadersOnSuccess: readonly string[];

  constructor(backend: CompiledBackend, model: ExternalAuthModel) {
    this.protocol = model.protocol;
    this.backend = backend;
    this.pathPrefix = model.pathPrefix;
    // Always sent already; the check's Content-Length is that of the body it carries, if any.
    this.requestHeaders =
      model.protocol === "GRPC" ? model.allowedRequestHeaders : model.allowedRequestHeaders.filter((name) => name !== "host" && name !== "authorization" && name !== "content-length");
    this.responseHeaders = model.allowedResponseHeaders.length === 0 && model.answerHeadersWhenUnlisted === "all" ? undefined : new Set(model.allowedResponseHeaders);
    this.forwardBodyBytes = model.forwardBodyBytes;
    this.bodyAsBytes = model.bodyAsBytes;
    this.policyName = model.policyName;
    this.timeoutMs = model.timeoutMs;
    this.failOpen = model.failOpen;
    this.failure = new Failure(String(model.statusOnError), Flag.unauthorizedExternalService, model.statusOnError, "ext_authz_error", "", false, false);
    this.checkedShare = model.percentEnabled / 100;
    this.contextExtensions = model.contextExtensions;
    this.hasContextExtensions = Object.keys(model.contextExtensions).length > 0;
    this.checkHeadersToAdd = model.checkHeadersToAdd;
    this.clientHeadersOnDenial = model.clientHeadersOnDenial === undefined ? undefined : new Set(model.clientHeadersOnDenial);
    this.clientHeadersOnSuccess = model.clientHeadersOnSuccess;
  }

  /** Whether this request is checked (kgateway percentageEnabled); the others pass unchecked. */
  sampled(): boolean {
    return this.checkedShare >= 1 || Math.random() < this.checkedShare;
  }
}

/** The check's limit: the policy's, or what is left of the rule's request timeout when that is shorter. */
export function checkTimeoutMs(policy: ExternalAuthPolicy, exchange: Exchange, match: CompiledMatch): number {
  const left = requestTimeLeftMs(exchange, match);
  return left === undefined ? policy.timeoutMs : Math.min(left, policy.timeoutMs);
}
