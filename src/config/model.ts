// The resolved configuration: what the config stage (load → validate → resolve) hands to
// the compile stage. Plain, immutable data. It knows nothing of requests, sockets or
// telemetry SDKs; every reference is already resolved, every default already applied.

import type { UpstreamTls } from "./upstream-tls.ts";
import type { ListenerTls } from "./listener-tls.ts";
import type { SecretCertificate } from "./secret-certificate.ts";
import type { NamespaceSelection } from "./namespace-selection.ts";
import type { HtpasswdUsers } from "./htpasswd.ts";
import type { ApiKeys } from "./api-keys.ts";
import type { VerificationKeys } from "./jwks.ts";

/** One of kgateway's apiKeyAuth keySources: where a request's key may be, tried in this order. */
export interface ApiKeySourceModel {
  readonly header?: string;
  readonly query?: string;
  readonly cookie?: string;
}

/** Where a JWT provider finds a request's token: a header (its prefix taken off) or a query parameter. */
export type JwtTokenSourceModel = { readonly header: string; readonly prefix: string } | { readonly query: string };

/** One of a GatewayExtension's JWT providers (kgateway JWTProvider, Envoy's JwtProvider). */
export interface JwtProviderModel {
  readonly name: string;
  /** The iss a token must carry; undefined: any. */
  readonly issuer: string | undefined;
  /** A token's aud must hold one of these; empty: not checked. */
  readonly audiences: readonly string[];
  /** Header names lower case. */
  readonly sources: readonly JwtTokenSourceModel[];
  /** Header names lower case. */
  readonly claimsToHeaders: readonly { readonly claim: string; readonly header: string }[];
  /** false: a token's header is taken off the request let in. */
  readonly forwardToken: boolean;
  readonly jwks: JwksSourceModel;
}

/** A JWT provider's keys: given in the config, or fetched from a JWKS URL through a backend. */
export type JwksSourceModel =
  | { readonly type: "Local"; readonly keys: VerificationKeys }
  | {
      readonly type: "Remote";
      readonly url: string;
      readonly backendKey: string;
      /** How long fetched keys are used before a token needing them fetches them again. */
      readonly cacheDurationMs: number;
      readonly timeoutMs: number;
    };

/** Where a value came from, so later stages (compile, admin, reload logs) can point at it. */
export interface SourceRef {
  readonly file: string;
  readonly line: number;
  readonly col: number;
  /** Field path inside the document, e.g. `spec.rules[0].matches[1].path.value`. */
  readonly path: string;
}

export interface ObjectRef {
  readonly kind: string;
  readonly name: string;
  readonly namespace: string;
  /** `metadata.creationTimestamp` as epoch ms; one value, newer than any real one, for documents without it. */
  readonly creationTimestampMs: number;
  readonly source: SourceRef;
}

export interface ResolvedConfig {
  /** Absolute paths of the files that produced this config. */
  readonly files: readonly string[];
  readonly gateways: readonly GatewayModel[];
  /** HTTPRoutes with at least one accepted parent. */
  readonly routes: readonly RouteModel[];
  /** Every Backend and Service-derived backend referenced by a route or a telemetry provider. */
  readonly backends: readonly BackendModel[];
  /** Kinds present in the file that Tollgate does not implement, e.g. `v1/ConfigMap`. */
  readonly skippedKinds: readonly string[];
  /** Non-fatal findings (unknown metadata keys, etc.), formatted like errors. */
  readonly warnings: readonly string[];
}

// ---------------------------------------------------------------- Gateway & listeners

export interface GatewayModel extends GatewayPolicies {
  readonly ref: ObjectRef;
  readonly gatewayClassName: string;
  readonly listeners: readonly ListenerModel[];
  /** From HTTPListenerPolicy / ListenerPolicy targeting this gateway, defaults applied. */
  readonly settings: ListenerSettings;
  readonly telemetry: GatewayTelemetryModel;
  /** Presented to upstreams reached under a BackendTLSPolicy that ask for a client certificate (`spec.tls.backend`). */
  readonly backendClientCertificate: SecretCertificate | undefined;
  /** Its listener ports whose connections start with a PROXY protocol header (ListenerPolicy `proxyProtocol`), ascending. */
  readonly proxyProtocolPorts: readonly number[];
  /**
   * By listener name, for the listeners a TrafficPolicy targets by `sectionName`: what
   * requests through that listener get, section by section the listener's policy's, else
   * the Gateway's. Listeners not in it get the Gateway's.
   */
  readonly listenerPolicies?: ReadonlyMap<string, GatewayPolicies>;
}

/** The TrafficPolicy sections a Gateway (or one of its listeners) gives the rules served through it. */
export interface GatewayPolicies {
  /**
   * A TrafficPolicy's `rateLimit.local` on the Gateway: one bucket for every rule reached
   * through it that has no limit of its own (its route and rule names are filled per rule).
   */
  readonly rateLimit?: LocalRateLimitModel;
  /** Its TrafficPolicy's `buffer`, for the rules of its routes whose own policy sets none. */
  readonly buffer?: Extract<FilterModel, { type: "Buffer" | "NoBuffer" }>;
  /** Its TrafficPolicy's `extAuth`, for the rules of its routes with no ExternalAuth of their own (filter or policy) and no `extAuth.disable`. */
  readonly externalAuth?: ExternalAuthModel;
  /** Its TrafficPolicy's `basicAuth`, for the rules of its routes whose own policy sets none (nor `basicAuth.disable`). */
  readonly basicAuth?: Extract<FilterModel, { type: "BasicAuth" }>;
  /** Its TrafficPolicy's `jwtAuth`, for the rules of its routes whose own policy sets none (nor `jwtAuth.disable`). */
  readonly jwtAuth?: Extract<FilterModel, { type: "JwtAuth" }>;
  /** Its TrafficPolicy's `apiKeyAuth`, for the rules of its routes whose own policy sets none (nor `apiKeyAuth.disable`). */
  readonly apiKeyAuth?: Extract<FilterModel, { type: "ApiKeyAuth" }>;
  /** Its TrafficPolicy's `rateLimit.global`, for the rules of its routes that have none; route and rule names are filled in per rule. */
  readonly globalRateLimit?: GlobalRateLimitModel;
  /**
   * A TrafficPolicy's `headerModifiers` on the Gateway, for every rule reached through it that
   * no route-level policy's cover: RequestHeaderModifier and ResponseHeaderModifier filters.
   */
  readonly headerModifiers?: PolicyHeaderModifiersModel;
  /** A TrafficPolicy's `rbac` on the Gateway, for every rule reached through it that no route-level policy's covers. */
  readonly authorization?: AuthorizationModel;
  /** A TrafficPolicy's `acl` on the Gateway, likewise. */
  readonly acl?: ClientAclModel;
  /** A TrafficPolicy's `csrf` on the Gateway, likewise. */
  readonly csrf?: CsrfModel;
  /** Its TrafficPolicy's `faultInjection`, for the rules of its routes whose own policy sets none (nor `faultInjection.disable`). */
  readonly faultInjection?: FaultInjectionModel;
  /** Its TrafficPolicy's `compression`, for the rules of its routes whose own policy sets none. */
  readonly compression?: CompressionModel;
  /** Its TrafficPolicy's `cors`, for the rules with no CORS filter of their own whose own policy sets none (nor `cors.disable`). */
  readonly cors?: GatewayCorsModel;
}

/** A Gateway's (or listener's) TrafficPolicy `cors`, with the policy it comes from. */
export interface GatewayCorsModel {
  /** `namespace/name` of the TrafficPolicy. */
  readonly policy: string;
  readonly filter: CorsModel;
}

export interface PolicyHeaderModifiersModel {
  /** `namespace/name` of the TrafficPolicy. */
  readonly policyName: string;
  /** A RequestHeaderModifier and/or a ResponseHeaderModifier, each marked with the policy. */
  readonly filters: readonly FilterModel[];
}

export interface ListenerModel {
  readonly name: string;
  readonly port: number;
  readonly protocol: "HTTP" | "HTTPS";
  /** HTTPS: the certificates the listener presents (TLS terminated here); undefined for HTTP. */
  readonly tls: ListenerTls | undefined;
  /** Exact or `*.suffix` wildcard; undefined matches every host. */
  readonly hostname: string | undefined;
  readonly allowedRoutesFrom: "Same" | "All" | "Selector";
  /** The namespaces a Selector admits (unused for Same and All). */
  readonly allowedNamespaces: NamespaceSelection;
  readonly source: SourceRef;
}

/** Listener-level limits and trust settings. All durations in ms, sizes in bytes. */
export interface ListenerSettings {
  /** Trust incoming Forwarded / X-Forwarded-* headers (off by default). */
  readonly trustForwardedHeaders: boolean;
  /** Envoy-style: how many right-most X-Forwarded-For hops are trusted when trust is on. */
  readonly xffNumTrustedHops: number;
  /** Envoy's skip_xff_append: the gateway adds no address to X-Forwarded-For (a trusted chain passes as it came). */
  readonly skipXffAppend: boolean;
  readonly maxRequestHeadersBytes: number;
  /** Time to receive the complete request headers (slowloris). */
  readonly requestHeadersTimeoutMs: number;
  /** Time to receive the complete request, body included (node's requestTimeout); 0 = off. */
  readonly requestReceiveTimeoutMs: number;
  readonly keepAliveTimeoutMs: number;
  /**
   * Envoy's stream_idle_timeout: how long a request may go without a request body byte
   * arriving or a response byte coming back; 0 = off.
   */
  readonly streamIdleTimeoutMs: number;
  /** 0 = unlimited. */
  readonly maxConnections: number;
  /** Requests one client connection carries, the last answered with `Connection: close`; 0 = unlimited. */
  readonly maxRequestsPerConnection: number;
  /** The most header fields a request may have (431 beyond); 0 = no count. */
  readonly maxHeadersCount: number;
  /**
   * Envoy's health_check filter (no pass-through): a request for exactly this path (query
   * included) is answered by the gateway, 200 or 503 while it drains, on every host; unset: none.
   */
  readonly healthCheckPath: string | undefined;
  /**
   * Envoy's server_header_transformation: `Overwrite` sets `server: tollgate` on every answer,
   * `AppendIfAbsent` on those without one, `PassThrough` leaves the upstream's (and adds none).
   */
  readonly serverHeader: "Overwrite" | "AppendIfAbsent" | "PassThrough";
  /**
   * kgateway's stripHostPortMode (Envoy's strip_matching_host_port / strip_any_host_port): the
   * port leaves the Host before routing when it is the listener's own, or any port.
   */
  readonly stripHostPort: "None" | "MatchingPort" | "AnyPort";
  /** kgateway's earlyRequestHeaderModifier: header changes made before routing (early-headers.ts). */
  readonly earlyHeaders: HeaderModifierModel | undefined;
  /** Envoy's generate_request_id: a request without X-Request-Id gets a random UUID (request-id.ts). */
  readonly generateRequestId: boolean;
  /** Envoy's accept_http_10: HTTP/1.0 requests are served (Tollgate's default), else refused with 426. */
  readonly acceptHttp10: boolean;
  /** Envoy's default_host_for_http_10: the Host of an HTTP/1.0 request that sends none. */
  readonly defaultHostForHttp10: string | undefined;
  /** Envoy's server_name: the Server value `serverHeader` writes (`tollgate` unless a policy's serverName says). */
  readonly serverName: string;
}

// ---------------------------------------------------------------- Routes

export interface RouteModel {
  readonly ref: ObjectRef;
  /** Accepted parents: each names one gateway, optionally narrowed to a listener or port. */
  readonly parents: readonly RouteParent[];
  /** Exact or `*.suffix` wildcard hostnames; empty = all hosts the listener accepts. */
  readonly hostnames: readonly string[];
  readonly rules: readonly RuleModel[];
  /** From a TrafficPolicy targeting this route. */
  readonly tracing: RouteTracingModel | undefined;
}

export interface RouteParent {
  /** `namespace/name` of the Gateway. */
  readonly gatewayKey: string;
  readonly sectionName: string | undefined;
  readonly port: number | undefined;
  /**
   * Listeners of that gateway the route was accepted on, after sectionName, port,
   * allowedRoutes and hostname checks. Set by the config stage; absent in hand-built models.
   */
  readonly listenerNames?: readonly string[];
}

export interface RuleModel {
  readonly index: number;
  /** `spec.rules[].name` when set (Gateway API v1.2+). */
  readonly name: string | undefined;
  /** Never empty: a rule without matches gets `PathPrefix /`. */
  readonly matches: readonly MatchModel[];
  readonly filters: readonly FilterModel[];
  /** Empty with no direct response/redirect filter means: 500 per Gateway API. */
  readonly backends: readonly WeightedBackendModel[];
  readonly timeouts: RuleTimeouts;
  readonly retry: RetryModel | undefined;
  /**
   * By gateway key, or by `listenerScope` key for a listener a TrafficPolicy targets by
   * sectionName (which then comes first): the retry and timeouts requests through that
   * Gateway or listener get instead, where its TrafficPolicy fills what no route-level
   * setting does. Absent: the same through every Gateway.
   */
  readonly throughGateway?: Readonly<Record<string, RuleRetryAndTimeouts>>;
  readonly source: SourceRef;
}

export interface RuleRetryAndTimeouts {
  readonly retry: RetryModel | undefined;
  readonly timeouts: RuleTimeouts;
}

export interface RuleTimeouts {
  /** The whole exchange, every attempt included; undefined (not set) or 0 (set to 0s): none. */
  readonly requestMs: number | undefined;
  /** One attempt (Gateway API backendRequest, kgateway retry.perTryTimeout); undefined or 0: none. */
  readonly backendRequestMs: number | undefined;
  /** The rule's own stream idle limit (kgateway timeouts.streamIdle; 0 turns it off); undefined: the listener's. */
  readonly streamIdleMs: number | undefined;
}

export type PathMatchType = "Exact" | "PathPrefix" | "RegularExpression";
export type ValueMatchType = "Exact" | "RegularExpression";

export interface MatchModel {
  readonly path: { readonly type: PathMatchType; readonly value: string };
  readonly method: string | undefined;
  /** Header names lower-cased. */
  readonly headers: readonly { readonly type: ValueMatchType; readonly name: string; readonly value: string }[];
  readonly queryParams: readonly { readonly type: ValueMatchType; readonly name: string; readonly value: string }[];
  readonly source: SourceRef;
}

export interface HeaderModifierModel {
  readonly set: readonly { readonly name: string; readonly value: string }[];
  readonly add: readonly { readonly name: string; readonly value: string }[];
  readonly remove: readonly string[];
}

export type PathModifierModel =
  | { readonly type: "ReplaceFullPath"; readonly replaceFullPath: string }
  | { readonly type: "ReplacePrefixMatch"; readonly replacePrefixMatch: string }
  /** kgateway TrafficPolicy `urlRewrite.pathRegex` (Envoy's regex_rewrite): every match of `pattern` in the path, replaced. */
  | { readonly type: "RegexReplace"; readonly pattern: string; readonly substitution: string; readonly source: SourceRef };

/** One part of a consistent hash key; `terminal`: once the key has a value, later parts are skipped. */
export type HashPolicyModel =
  /** `name` lower-cased; `:authority`, `:path` and `:method` read the request line. */
  | { readonly kind: "header"; readonly name: string; readonly regexRewrite: { readonly pattern: string; readonly substitution: string; readonly source: SourceRef } | undefined; readonly terminal: boolean }
  /** `ttlSeconds` set: a request without the cookie gets one (0: a session cookie). */
  | {
      readonly kind: "cookie";
      readonly name: string;
      readonly ttlSeconds: number | undefined;
      readonly path: string | undefined;
      readonly attributes: readonly { readonly name: string; readonly value: string }[];
      readonly terminal: boolean;
    }
  | { readonly kind: "queryParameter"; readonly name: string; readonly terminal: boolean }
  | { readonly kind: "sourceIp"; readonly terminal: boolean };

export type FilterModel =
  /** `policy`: the TrafficPolicy (`namespace/name`) whose `headerModifiers` it is; absent for the HTTPRoute's own filter. */
  | { readonly type: "RequestHeaderModifier"; readonly modifier: HeaderModifierModel; readonly policy?: string }
  | { readonly type: "ResponseHeaderModifier"; readonly modifier: HeaderModifierModel; readonly policy?: string }
  | {
      readonly type: "RequestRedirect";
      readonly scheme: "http" | "https" | undefined;
      readonly hostname: string | undefined;
      readonly port: number | undefined;
      readonly path: PathModifierModel | undefined;
      readonly statusCode: 301 | 302 | 303 | 307 | 308;
    }
  | { readonly type: "URLRewrite"; readonly hostname: string | undefined; readonly path: PathModifierModel | undefined }
  /** kgateway DirectResponse, reached through an ExtensionRef filter. */
  | { readonly type: "DirectResponse"; readonly status: number; readonly body: string; readonly contentType: string }
  /**
   * A copy of each request (a `share` of them, 0 to 1) goes to `backendKey`, a key into
   * ResolvedConfig.backends; its answer is ignored. A ref that did not resolve has no model.
   */
  | { readonly type: "RequestMirror"; readonly backendKey: string; readonly share: number }
  /**
   * Origins are normalised (lower case, no default port; `*` alone allows any); methods as
   * written; header names lower-cased. Empty lists mean the field was not set.
   */
  | {
      readonly type: "CORS";
      readonly allowOrigins: readonly string[];
      readonly allowCredentials: boolean;
      readonly allowMethods: readonly string[];
      readonly allowHeaders: readonly string[];
      readonly exposeHeaders: readonly string[];
      readonly maxAgeSeconds: number;
    }
  /**
   * An authorization service (Gateway API ExternalAuth) that every request of the rule is
   * checked with first: a plain HTTP service, or Envoy's ext_authz gRPC service.
   * `backendKey` is a key into ResolvedConfig.backends.
   */
  | {
      readonly type: "ExternalAuth";
      readonly protocol: "HTTP" | "GRPC";
      readonly backendKey: string;
      /** HTTP: put before the request's path in the check; no trailing `/`, '' for none (always '' for GRPC). */
      readonly pathPrefix: string;
      /**
       * HTTP: request headers sent beside the ones always sent (Host, Authorization). GRPC: the
       * only request headers sent; empty sends them all. Lower case.
       */
      readonly allowedRequestHeaders: readonly string[];
      /** HTTP: headers of an allowing answer copied onto the forwarded request; empty means all but the answer's own. Lower case. */
      readonly allowedResponseHeaders: readonly string[];
      /**
       * The answer's headers an allowing HTTP answer hands on when `allowedResponseHeaders` is
       * empty: `all` but the answer's own (Gateway API), or `none` (kgateway's headersToBackend).
       */
      readonly answerHeadersWhenUnlisted: "all" | "none";
      /** `forwardBody.maxSize` (`withRequestBody.maxRequestBytes`): the body, up to this many bytes, goes with the check; 0 sends none. */
      readonly forwardBodyBytes: number;
      /** GRPC: the body always travels as bytes (`raw_body`), never as text. */
      readonly bodyAsBytes: boolean;
      /** `namespace/name` of the TrafficPolicy that gave the check; '' for the HTTPRoute filter. */
      readonly policyName: string;
      /** The check's limit, unless what is left of the rule's request timeout is shorter. */
      readonly timeoutMs: number;
      /** No verdict (unreachable, too slow, failing): let the request through rather than refuse it. */
      readonly failOpen: boolean;
      /** The status of a refusal for want of a verdict. */
      readonly statusOnError: number;
      /** The share of requests checked, 0-100; the others pass unchecked. */
      readonly percentEnabled: number;
      /** GRPC: `attributes.context_extensions` of every check. */
      readonly contextExtensions: Readonly<Record<string, string>>;
      /** HTTP: headers set on the check (replacing the request's own); lower-case names. */
      readonly checkHeadersToAdd: readonly { readonly name: string; readonly value: string }[];
      /** HTTP: the denial's headers the client gets; undefined means all of them. Lower case. */
      readonly clientHeadersOnDenial: readonly string[] | undefined;
      /** HTTP: headers of an allowing answer added to the client's response. Lower case. */
      readonly clientHeadersOnSuccess: readonly string[];
    }
  /** kgateway TrafficPolicy `extAuth.disable`: the rule is not checked by its Gateway's extAuth. */
  | { readonly type: "NoExternalAuth" }
  /**
   * kgateway TrafficPolicy `basicAuth` (Envoy's basic_auth filter): a request of the rule needs
   * `Authorization: Basic` credentials of one of `users`, else it gets 401; the user's name goes
   * upstream in x-envoy-basic-auth-user. `policy` is the TrafficPolicy's `namespace/name`.
   */
  | { readonly type: "BasicAuth"; readonly policy: string; readonly users: HtpasswdUsers }
  /** kgateway's `basicAuth.disable: {}`: the rule is not checked by its Gateway's basicAuth. */
  | { readonly type: "NoBasicAuth" }
  /** kgateway's `cors.disable: {}`: the rule gets no CORS from its Gateway's (or listener's) policy. */
  | { readonly type: "NoCors" }
  /**
   * kgateway TrafficPolicy `apiKeyAuth` (Envoy's api_key_auth filter): a request of the rule
   * needs one of `keys`, found in the first of `sources` that holds one, else it gets 401.
   */
  | {
      readonly type: "ApiKeyAuth";
      readonly policy: string;
      /** In order; within one, a header before a query parameter before a cookie. Header names lower case. */
      readonly sources: readonly ApiKeySourceModel[];
      /** false: the key is taken off the request (every source's) before it goes on. */
      readonly forwardCredential: boolean;
      /** Lower case; the client's id goes upstream in it. */
      readonly clientIdHeader: string | undefined;
      readonly keys: ApiKeys;
    }
  /** kgateway's `apiKeyAuth.disable: {}`: the rule is not checked by its Gateway's apiKeyAuth. */
  | { readonly type: "NoApiKeyAuth" }
  /**
   * kgateway TrafficPolicy `jwtAuth` (Envoy's jwt_authn filter): a request of the rule needs a
   * token one of `providers` verifies (or, with `allowMissing`, no token at all), else 401
   * (403 for an audience not allowed).
   */
  | {
      readonly type: "JwtAuth";
      readonly policy: string;
      /** `namespace/name` of the GatewayExtension holding the providers. */
      readonly extension: string;
      readonly allowMissing: boolean;
      readonly providers: readonly JwtProviderModel[];
    }
  /** kgateway's `jwtAuth.disable: {}`: the rule is not checked by its Gateway's jwtAuth. */
  | { readonly type: "NoJwtAuth" }
  /**
   * kgateway TrafficPolicy `rateLimit.local`: a token bucket per rule the policy covers (or per
   * Gateway and port), as Envoy's local_ratelimit filter. `bucketKey` names the bucket, so a
   * reload that keeps the key and the bucket's sizes keeps its tokens.
   */
  | {
      readonly type: "LocalRateLimit";
      readonly maxTokens: number;
      readonly tokensPerFill: number;
      readonly fillIntervalMs: number;
      /** `percentEnabled` / 100: the share of requests the bucket is consulted for. */
      readonly enabledShare: number;
      /** `percentEnforced` / 100: the share of over-limit requests refused; the rest pass, counted. */
      readonly enforcedShare: number;
      readonly bucketKey: string;
      /** `namespace/name` of the policy, the route and the rule's name or `rule-N`: for metrics and messages. */
      readonly policyName: string;
      readonly routeName: string;
      readonly ruleName: string;
    }
  /**
   * kgateway TrafficPolicy `buffer`: the body is read whole, up to `maxBytes`, before the
   * request goes on; a larger one is refused with 413 (Envoy's buffer filter).
   */
  | { readonly type: "Buffer"; readonly maxBytes: number; readonly policyName: string }
  /** kgateway's `buffer.disable: {}`: the rule is not buffered, not even by its Gateway's policy. */
  | { readonly type: "NoBuffer" }
  /** kgateway's `rateLimit.local: {}` on a route: the rule has no limit, not even its Gateway's. */
  | { readonly type: "NoLocalRateLimit" }
  /**
   * kgateway TrafficPolicy `rateLimit.global`: each request of the rule is put to a rate limit
   * service (Envoy's rls gRPC protocol) as the descriptors it yields, and refused with 429 when
   * the service says any is over its limit. The service and how to call it come from the
   * GatewayExtension the policy names.
   */
  | {
      readonly type: "GlobalRateLimit";
      /** `namespace/name` of the TrafficPolicy, of the GatewayExtension, the route and the rule's name or `rule-N`. */
      readonly policyName: string;
      readonly extension: string;
      readonly routeName: string;
      readonly ruleName: string;
      /** A key into ResolvedConfig.backends: the rate limit service. */
      readonly backendKey: string;
      readonly domain: string;
      readonly descriptors: readonly RateLimitDescriptorModel[];
      /** The service cannot be asked or gives no verdict: true lets the request through, false answers 500. */
      readonly failOpen: boolean;
      readonly timeoutMs: number;
      /** `xRateLimitHeaders: DraftVersion03`: X-RateLimit-Limit, -Remaining and -Reset on answers. */
      readonly rateLimitHeaders: boolean;
    }
  /**
   * kgateway TrafficPolicy `rbac`: a request matches when its effective client IP is in none
   * of `blockedCidrs`, in one of `allowedCidrs` (when set), and one of `expressions` (CEL, when
   * set) is true. `Allow` lets only matching requests through, `Deny` refuses them.
   */
  | {
      readonly type: "Authorization";
      /** `namespace/name` of the TrafficPolicy: in the 403's details and the access log. */
      readonly policy: string;
      readonly action: "Allow" | "Deny";
      readonly expressions: readonly string[];
      /** CIDRs as written, each checked. */
      readonly allowedCidrs: readonly string[];
      readonly blockedCidrs: readonly string[];
    }
  /**
   * kgateway TrafficPolicy `acl`: the rule whose range holds the effective client IP with the
   * longest prefix decides, else `defaultAction`; a denial answers `denyStatus`.
   */
  | {
      readonly type: "ClientAcl";
      /** `namespace/name` of the TrafficPolicy. */
      readonly policy: string;
      readonly defaultAction: "allow" | "deny";
      readonly rules: readonly { readonly name: string | undefined; readonly cidrs: readonly string[]; readonly action: "allow" | "deny" }[];
      readonly denyStatus: number;
      /** Extra headers of a denial, names lower-cased. */
      readonly denyHeaders: readonly { readonly name: string; readonly value: string }[];
      /** A header naming what denied (the rule's name, `rule`, or `default`); lower-cased. */
      readonly blockedByHeader: string | undefined;
    }
  /**
   * kgateway TrafficPolicy `faultInjection` (Envoy's fault filter): before anything else of
   * the rule, a share of requests is delayed, a share aborted with a status, and a share of
   * responses slowed; `maxActiveFaults` bounds the requests of the policy with a fault at
   * once. Each share is in [0, 1].
   */
  | {
      readonly type: "FaultInjection";
      /** `namespace/name` of the TrafficPolicy. */
      readonly policy: string;
      readonly delay: { readonly ms: number; readonly share: number } | undefined;
      /** `grpcStatus` set: HTTP 200 with that grpc-status to a gRPC request (Envoy's trailers-only answer). */
      readonly abort: { readonly httpStatus: number | undefined; readonly grpcStatus: number | undefined; readonly share: number } | undefined;
      readonly responseRateLimit: { readonly bytesPerSecond: number; readonly share: number } | undefined;
      readonly maxActiveFaults: number | undefined;
    }
  /**
   * kgateway TrafficPolicy `autoHostRewrite: true` (Envoy's auto_host_rewrite): each attempt
   * sends the chosen endpoint's DNS name as Host, when it has one; a URLRewrite hostname wins.
   */
  | {
      readonly type: "AutoHostRewrite";
      /** `namespace/name` of the TrafficPolicy. */
      readonly policy: string;
    }
  /**
   * kgateway TrafficPolicy `consistentHash` (Envoy's route hash policies): the endpoint of the
   * chosen backend is picked on a hash ring by a key built from the request, so requests with
   * the same key reach the same endpoint. `policies`: the TrafficPolicies merged, preferred
   * first. `hashPolicies`, in the order they are evaluated, is empty only when filterState
   * entries alone were written (no key: round-robin).
   */
  | { readonly type: "ConsistentHash"; readonly policies: readonly string[]; readonly hashPolicies: readonly HashPolicyModel[] }
  /** `compression` with every half disabled: the rule gets no compression from its Gateway's policy. */
  | { readonly type: "NoCompression" }
  /** `faultInjection.disable`: the rule gets no fault injection from its Gateway's policy. */
  | { readonly type: "NoFaultInjection" }
  /**
   * kgateway TrafficPolicy `compression` (Envoy's compressor and decompressor filters): the
   * rule's responses compressed in an encoding the client accepts, and its request bodies
   * decompressed; a half a policy leaves out or disables is undefined.
   */
  | {
      readonly type: "Compression";
      /** `namespace/name` of the TrafficPolicy. */
      readonly policy: string;
      readonly response: ResponseCompressionModel | undefined;
      /** The encodings whose request bodies are decompressed (a request's Content-Encoding picks one). */
      readonly request: { readonly encodings: readonly ContentCoding[] } | undefined;
    }
  /**
   * kgateway TrafficPolicy `csrf` (Envoy's CSRF filter): a POST, PUT, DELETE or PATCH whose
   * source origin (Origin, else Referer) is neither the request's own host nor one of
   * `additionalOrigins` is refused with 403 on `enabledShare` of requests; on `shadowShare`
   * of them it is checked and counted, never refused.
   */
  | {
      readonly type: "Csrf";
      /** `namespace/name` of the TrafficPolicy. */
      readonly policy: string;
      /** In [0, 1]. */
      readonly enabledShare: number;
      /** In [0, 1]; 0 when percentageShadowed is unset. */
      readonly shadowShare: number;
      readonly additionalOrigins: readonly StringMatcherModel[];
    };

/** The content codings kgateway's compression libraries produce and read (Gzip, Brotli, Zstd). */
export type ContentCoding = "gzip" | "br" | "zstd";

export interface ResponseCompressionModel {
  /** Offered in this order; the client's Accept-Encoding picks among them. */
  readonly encodings: readonly ContentCoding[];
  /** A response whose Content-Length is smaller goes out as it is. */
  readonly minContentLength: number;
  /** Media types (lower case, no parameters) whose responses are compressed; undefined: Envoy's default list. */
  readonly contentTypes: readonly string[] | undefined;
  /** A response with an ETag: compressed and its strong ETag removed (Envoy's default), left alone, or compressed and its ETag weakened. */
  readonly etag: "remove-strong" | "skip" | "weaken";
}

/** kgateway's (and Envoy's) StringMatcher; `ignoreCase` never applies to `safeRegex`. */
export interface StringMatcherModel {
  readonly kind: "exact" | "prefix" | "suffix" | "contains" | "safeRegex";
  readonly value: string;
  readonly ignoreCase: boolean;
}

export type CorsModel = Extract<FilterModel, { type: "CORS" }>;
export type LocalRateLimitModel = Extract<FilterModel, { type: "LocalRateLimit" }>;
export type ExternalAuthModel = Extract<FilterModel, { type: "ExternalAuth" }>;
export type GlobalRateLimitModel = Extract<FilterModel, { type: "GlobalRateLimit" }>;

/**
 * One descriptor sent to a rate limit service: its entries in order. Generic entries are
 * fixed; Header takes the request header's value (named by `header`, lower case; a request
 * without it sends no such descriptor); RemoteAddress the effective client IP (`remote_address`);
 * Path the path and query as received (`path`).
 */
export type RateLimitDescriptorModel = readonly (
  | { readonly type: "Generic"; readonly key: string; readonly value: string }
  | { readonly type: "Header"; readonly key: string; readonly header: string }
  | { readonly type: "RemoteAddress" }
  | { readonly type: "Path" }
)[];
export type AuthorizationModel = Extract<FilterModel, { type: "Authorization" }>;
export type ClientAclModel = Extract<FilterModel, { type: "ClientAcl" }>;
export type CsrfModel = Extract<FilterModel, { type: "Csrf" }>;
export type FaultInjectionModel = Extract<FilterModel, { type: "FaultInjection" }>;
export type CompressionModel = Extract<FilterModel, { type: "Compression" }>;

export interface RetryModel {
  /** HTTP status codes that trigger a retry. */
  readonly codes: readonly number[];
  /** Total attempts including the first. */
  readonly attempts: number;
  readonly backoffMs: number;
  /** A connection that could not be made (refused, unreachable, DNS, TLS, connect timeout). */
  readonly onConnectFailure: boolean;
  /** No answer on a connection made: a reset before the response, or the per-attempt timeout. */
  readonly onReset: boolean;
  /** An answer carrying `x-envoy-ratelimited` (kgateway's `envoy-ratelimited`). */
  readonly onRateLimited: boolean;
}

export interface WeightedBackendModel {
  readonly weight: number;
  /** `namespace/name:port` key into ResolvedConfig.backends; '' when `unresolved` is set. */
  readonly backendKey: string;
  /** The display name of a backendRef that does not resolve: its share of requests gets 500. */
  readonly unresolved?: string;
  readonly filters: readonly FilterModel[];
}

export interface BackendEndpoint {
  readonly host: string;
  readonly port: number;
  readonly kind: "fqdn" | "ip";
}

export interface BackendModel {
  /** `namespace/name:port` (port omitted for Backend kinds that carry their own). */
  readonly key: string;
  readonly kind: "Backend" | "Service";
  readonly name: string;
  readonly namespace: string;
  readonly endpoints: readonly BackendEndpoint[];
  /** `spec.connectionPool.maxConnections` of a Backend: connections per endpoint; undefined = the gateway's default. */
  readonly maxConnections?: number;
  /** `spec.connectionPool.maxPendingRequests` of a Backend: requests waiting per endpoint; undefined = the gateway's default. */
  readonly maxPendingRequests?: number;
  /** From the BackendTLSPolicy targeting it: the gateway connects over TLS and verifies the upstream. */
  readonly tls?: UpstreamTls;
  /** From the BackendConfigPolicies targeting it: how an endpoint is picked; undefined = round-robin. */
  readonly loadBalancer?: LoadBalancerModel;
  /** The BackendConfigPolicy (`namespace/name`) that gave `loadBalancer`. */
  readonly loadBalancerPolicy?: string;
  /** From the BackendConfigPolicies targeting it: how its upstream connections are opened and kept. */
  readonly connection?: UpstreamConnectionModel;
  /**
   * From the BackendConfigPolicies targeting it (commonHttpProtocolOptions.maxStreamDuration):
   * how long one attempt's upstream stream may last, from its connection to the response's
   * end (an upgrade's tunnel included); unset = no limit.
   */
  readonly maxStreamDurationMs?: number;
  /**
   * From the BackendConfigPolicies targeting it (commonHttpProtocolOptions.maxHeadersCount): the
   * most header fields an upstream's response head may carry; unset = bounded by size alone.
   */
  readonly maxHeadersCount?: number;
  /** The BackendConfigPolicies (`namespace/name`) that gave it any of the above, oldest first. */
  readonly configPolicies?: readonly string[];
}

/** kgateway's BackendConfigPolicy `loadBalancer`: Envoy's cluster load-balancing policy. */
export type LoadBalancerModel =
  | { readonly kind: "RoundRobin" }
  | { readonly kind: "Random" }
  /** The least busy of `choiceCount` endpoints drawn at random (power of two choices). */
  | { readonly kind: "LeastRequest"; readonly choiceCount: number }
  /** A ring of `minimumRingSize` to `maximumRingSize` points, split evenly among the addresses. */
  | { readonly kind: "RingHash"; readonly minimumRingSize: number; readonly maximumRingSize: number }
  | { readonly kind: "Maglev" };

/** kgateway's BackendConfigPolicy connection settings, each unset = the gateway's default. */
export interface UpstreamConnectionModel {
  readonly connectTimeoutMs?: number;
  /** How long a connection may sit idle before it is closed; 0 = never. */
  readonly idleTimeoutMs?: number;
  /** Requests one connection carries before it is closed; unset = unlimited. */
  readonly maxRequestsPerConnection?: number;
  /** TCP keep-alive: idle time before the first probe. */
  readonly keepAliveTimeMs?: number;
  /** TCP keep-alive: time between probes. */
  readonly keepAliveIntervalMs?: number;
  /** TCP keep-alive: unanswered probes before the connection is dropped. */
  readonly keepAliveProbes?: number;
}

// ---------------------------------------------------------------- Telemetry policy

/** Where an OTLP exporter sends, when a policy (not env) names it. */
export interface ExporterTargetModel {
  /** Full URL, e.g. `http://otel-collector.monitoring.svc.cluster.local:4317`. */
  readonly endpoint: string;
  readonly protocol: "grpc" | "http/protobuf" | "http/json";
  /** Where in the file it was set, for warnings naming the endpoint. */
  readonly source: SourceRef;
}

/** A value taken from a literal, a request header, proxy metadata or the environment. */
export type ValueSourceModel =
  /** `typed` keeps an OTLP AnyValue written as intValue/doubleValue/boolValue (kgateway attributes). */
  | { readonly from: "literal"; readonly value: string; readonly typed?: number | boolean }
  | { readonly from: "requestHeader"; readonly header: string; readonly defaultValue: string | undefined }
  | { readonly from: "responseHeader"; readonly header: string; readonly defaultValue: string | undefined }
  /** Keys: route, rule, backend, gateway, listener (and namespace-qualified forms, see docs/telemetry.md). */
  | { readonly from: "metadata"; readonly key: string }
  | { readonly from: "environment"; readonly variable: string; readonly defaultValue: string | undefined };

export interface CustomAttributeModel {
  readonly name: string;
  readonly value: ValueSourceModel;
}

export type SamplingModel =
  /** seed 002 TelemetryPolicy: ratio for roots; parent-based with its own ratio for sampled parents. */
  | {
      readonly kind: "fraction";
      /** undefined: no `samplingRate`, so OTEL_TRACES_SAMPLER makes the root decision. */
      readonly ratio: number | undefined;
      readonly parentBased: boolean;
      readonly parentRatio: number;
    }
  /** kgateway percentages 0-100. */
  | { readonly kind: "percentages"; readonly client: number; readonly random: number; readonly overall: number }
  /** kgateway's provider sampler AlwaysOn: every trace, whatever a parent or a route's percentages say. */
  | { readonly kind: "alwaysOn" };

export interface TracingModel {
  readonly enabled: boolean;
  readonly provider: ExporterTargetModel | undefined;
  readonly serviceName: string | undefined;
  /** undefined: OTEL_TRACES_SAMPLER decides. */
  readonly sampling: SamplingModel | undefined;
  readonly attributes: readonly CustomAttributeModel[];
  /** Client spans per upstream attempt; kgateway's spawnUpstreamSpan: false turns them off. */
  readonly upstreamSpans: boolean;
  readonly source: SourceRef;
}

export interface RouteTracingModel {
  readonly disabled: boolean;
  /** Percentages override the listener's; undefined fields inherit. */
  readonly sampling:
    | { readonly client: number | undefined; readonly random: number | undefined; readonly overall: number | undefined }
    | undefined;
  /** Merged over the listener's by name, route winning; at most 16. */
  readonly attributes: readonly CustomAttributeModel[];
  readonly source: SourceRef;
}

export type LogFieldModel =
  | { readonly name: string; readonly type: "Standard"; readonly standard: string }
  | { readonly name: string; readonly type: "Header"; readonly header: string; readonly allowSensitive: boolean }
  | { readonly name: string; readonly type: "Literal"; readonly value: string }
  | { readonly name: string; readonly type: "Metadata"; readonly key: string };

/** kgateway's access log filter (Envoy's AccessLogFilter), as the config read it. */
export type AccessLogCondition =
  | { readonly kind: "statusCode" | "duration"; readonly op: "EQ" | "GE" | "LE"; readonly value: number }
  | { readonly kind: "notHealthCheck" }
  | { readonly kind: "traceable" }
  | { readonly kind: "header"; readonly name: string; readonly type: "Exact" | "RegularExpression"; readonly value: string }
  | { readonly kind: "responseFlags"; readonly flags: readonly string[] }
  /** gRPC status codes; `exclude` keeps the records whose status is not among them. */
  | { readonly kind: "grpcStatus"; readonly statuses: readonly number[]; readonly exclude: boolean }
  | { readonly kind: "cel"; readonly expression: string; readonly source: SourceRef }
  /** Envoy's RuntimeFilter: `numerator` in `denominator` requests, drawn from X-Request-Id unless `independent`. */
  | { readonly kind: "runtime"; readonly numerator: number; readonly denominator: number; readonly independent: boolean }
  | { readonly kind: "and" | "or"; readonly conditions: readonly AccessLogCondition[] };

/** Envoy's format dictionary: keys to command-operator templates (checked), literals, lists, or nested dictionaries. */
export interface JsonFormatModel {
  readonly [key: string]: JsonFormatValue;
}
export type JsonFormatValue = string | number | boolean | null | readonly JsonFormatValue[] | JsonFormatModel;

export interface AccessLogModel {
  readonly enabled: boolean;
  readonly sink:
    | { readonly kind: "otlp"; readonly target: ExporterTargetModel | undefined }
    | { readonly kind: "stdout" }
    /** kgateway `grpcService`: Envoy's gRPC access log service (ALS). */
    | { readonly kind: "grpc"; readonly target: AccessLogServiceModel };
  /** CEL source, already checked to compile. */
  readonly filter: { readonly expression: string; readonly source: SourceRef } | undefined;
  /** kgateway's other access log filters (and a CEL one inside an and/or): a record is kept when it holds. */
  readonly condition?: AccessLogCondition;
  readonly fields: readonly LogFieldModel[];
  /** Envoy command-operator template, already checked for unknown operators. */
  readonly body: string | undefined;
  /** kgateway fileSink `jsonFormat` (Envoy's format dictionary): the body is this object rendered; `body` is then unset. */
  readonly jsonBody?: JsonFormatModel;
  readonly logName: string | undefined;
  readonly attributes: readonly CustomAttributeModel[];
  readonly resourceAttributes: Readonly<Record<string, string | number | boolean>>;
  readonly source: SourceRef;
}

/** An access log service (Envoy's `envoy.service.accesslog.v3.AccessLogService`) and what each entry carries. */
export interface AccessLogServiceModel {
  /** `host:port` of the service's Backend endpoint (IPv6 bracketed). */
  readonly address: string;
  /** The Identifier's log_name on every stream. */
  readonly logName: string;
  /** The calls' :authority; undefined: the address. */
  readonly authority: string | undefined;
  /** kgateway `initialMetadata`: sent with every stream. */
  readonly metadata: ReadonlyArray<readonly [key: string, value: string]>;
  /** A batch's stream must finish within this; undefined: OTEL_BLRP_EXPORT_TIMEOUT. */
  readonly timeoutMs: number | undefined;
  /** The stream reconnects after backoff from base to max (kgateway `retryPolicy.retryBackOff`). */
  readonly reconnectBackoffMs: { readonly base: number; readonly max: number } | undefined;
  /** Lower-case names, in the order written. */
  readonly requestHeaders: readonly string[];
  readonly responseHeaders: readonly string[];
}

export interface MetricOverrideModel {
  /** As written; telemetry maps it to an instrument (see docs/telemetry.md). */
  readonly name: string;
  readonly attributes: readonly CustomAttributeModel[];
}

export interface MetricsModel {
  readonly enabled: boolean;
  readonly overrides: readonly MetricOverrideModel[];
  readonly source: SourceRef;
}

/** Everything the policy kinds say about one gateway's telemetry. undefined = no policy: env decides. */
export interface GatewayTelemetryModel {
  readonly tracing: TracingModel | undefined;
  readonly accessLogs: readonly AccessLogModel[];
  readonly metrics: MetricsModel | undefined;
  /** Policy-level resource attributes (beat OTEL_RESOURCE_ATTRIBUTES and OTEL_SERVICE_NAME). */
  readonly resourceAttributes: Readonly<Record<string, string>>;
}
