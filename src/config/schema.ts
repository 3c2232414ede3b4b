// The JSON Schema of the config file, written once as data. `tollgate schema` prints it
// for editors (yaml-language-server); the loader validates each document against the
// per-kind schema with a real JSON Schema validator, then checks semantics in code.
// Unions (`fqdn` or `ip`, `literal` or `requestHeader`, ...) are plain objects here and
// "exactly one of" is checked in code, which gives far clearer errors than `oneOf`.

import { GRPC_STATUS_NAMES } from "./grpc-status-names.ts";

type Schema = Record<string, unknown>;

const str = (description?: string, extra: Schema = {}): Schema => ({ type: "string", ...(description ? { description } : {}), ...extra });
const int = (description?: string, extra: Schema = {}): Schema => ({ type: "integer", ...(description ? { description } : {}), ...extra });
const num = (description?: string, extra: Schema = {}): Schema => ({ type: "number", ...(description ? { description } : {}), ...extra });
const bool = (description?: string): Schema => ({ type: "boolean", ...(description ? { description } : {}) });
const arr = (items: Schema, extra: Schema = {}): Schema => ({ type: "array", items, ...extra });
const obj = (properties: Record<string, Schema>, required: string[] = [], extra: Schema = {}): Schema => ({
  type: "object",
  properties,
  ...(required.length > 0 ? { required } : {}),
  additionalProperties: false,
  ...extra,
});
const anyObject = (description?: string): Schema => ({ type: "object", ...(description ? { description } : {}) });
const stringMap = (description?: string): Schema => ({ type: "object", additionalProperties: { type: "string" }, ...(description ? { description } : {}) });
const empty = (description: string): Schema => ({ type: "object", additionalProperties: false, properties: {}, description });

const port = int("TCP port", { minimum: 1, maximum: 65535 });
const duration = str("Gateway API duration, e.g. 10s, 500ms, 1h2m", { pattern: "^([0-9]{1,5}(h|m|s|ms)){1,4}$" });
const mode = str("On/Off (GEP spelling) or Enabled/Disabled/ImplementationDefault", {
  enum: ["On", "Off", "Enabled", "Disabled", "ImplementationDefault"],
});
const percent = num("percentage 0-100", { minimum: 0, maximum: 100 });

/** Gateway API Fraction: numerator over denominator (default 100); numerator ≤ denominator is checked in code. */
const fraction = obj({ numerator: int(undefined, { minimum: 0 }), denominator: int("default 100", { minimum: 1 }) }, ["numerator"]);

const labelSelector = obj({
  matchLabels: stringMap(),
  matchExpressions: arr(obj({ key: str(), operator: str(undefined, { enum: ["In", "NotIn", "Exists", "DoesNotExist"] }), values: arr(str()) }, ["key", "operator"])),
});

const metadata = obj(
  {
    name: str("resource name", { minLength: 1, maxLength: 253 }),
    namespace: str("namespace; default `default`", { minLength: 1, maxLength: 63 }),
    labels: stringMap(),
    annotations: stringMap(),
    creationTimestamp: { type: ["string", "null"], description: "RFC 3339; decides precedence between conflicting resources" },
    uid: str(),
    resourceVersion: str(),
    generation: int(),
    generateName: str(),
    finalizers: arr(str()),
    ownerReferences: arr(anyObject()),
    managedFields: arr(anyObject()),
    deletionTimestamp: { type: ["string", "null"] },
    deletionGracePeriodSeconds: int(),
    selfLink: str(),
  },
  ["name"],
);

// ---------------------------------------------------------------- Gateway API

/** A reference to a kubernetes.io/tls Secret, as Gateway API writes one. */
function secretRef(description?: string): Schema {
  return obj({ group: str('"" (core)'), kind: str("Secret"), name: str(undefined, { minLength: 1 }), namespace: str(undefined, { minLength: 1 }) }, ["name"], description === undefined ? {} : { description });
}

/** Client certificate validation of a Gateway's HTTPS ports (`spec.tls.frontend`). */
const clientValidation = obj(
  {
    caCertificateRefs: arr(
      obj({ group: str('"" (core)'), kind: str("ConfigMap (ca.crt), or a Secret"), name: str(undefined, { minLength: 1 }), namespace: str(undefined, { minLength: 1 }) }, ["kind", "name"]),
      { minItems: 1, maxItems: 8 },
    ),
    mode: str("AllowValidOnly (the default) refuses clients without a valid certificate; AllowInsecureFallback serves them as unauthenticated", { enum: ["AllowValidOnly", "AllowInsecureFallback"] }),
  },
  ["caCertificateRefs"],
);

const gatewaySpec = obj(
  {
    gatewayClassName: str("GatewayClass name (recorded, not interpreted)", { minLength: 1 }),
    listeners: arr(
      obj(
        {
          name: str("listener name, unique in the Gateway", { minLength: 1 }),
          hostname: str("exact host or `*.suffix` wildcard"),
          port,
          protocol: str("HTTP or HTTPS (TLS/TCP/UDP are not supported yet)"),
          tls: obj({
            mode: str("Terminate (the default; Passthrough needs a TLS listener, not supported yet)", { enum: ["Terminate", "Passthrough"] }),
            certificateRefs: arr(secretRef(), { maxItems: 64 }),
            options: stringMap("implementation-specific TLS options (none are read)"),
            frontendValidation: anyObject("before Gateway API v1.4; an error: use the Gateway's spec.tls.frontend"),
          }),
          allowedRoutes: obj({
            namespaces: obj({ from: str(undefined, { enum: ["Same", "All", "Selector"] }), selector: labelSelector }),
            kinds: arr(obj({ group: str(), kind: str() }, ["kind"])),
          }),
        },
        ["name", "port", "protocol"],
      ),
      { minItems: 1, maxItems: 64 },
    ),
    addresses: arr(obj({ type: str(), value: str() }, ["value"])),
    infrastructure: obj({
      labels: stringMap(),
      annotations: stringMap(),
      parametersRef: obj({ group: str(), kind: str(), name: str() }, ["group", "kind", "name"]),
    }),
    backendTLS: obj({ clientCertificateRef: secretRef("the client certificate for TLS backends (the experimental channel's place for it before v1.4)") }),
    tls: obj({
      backend: obj({ clientCertificateRef: secretRef("the client certificate the gateway presents to backends reached under a BackendTLSPolicy") }),
      frontend: obj(
        {
          default: obj({ validation: clientValidation }),
          perPort: arr(obj({ port, tls: obj({ validation: clientValidation }) }, ["port", "tls"]), { maxItems: 64 }),
        },
        ["default"],
      ),
    }),
    allowedListeners: anyObject("accepted, not used"),
  },
  ["gatewayClassName", "listeners"],
);

const headerModifier = obj({
  set: arr(obj({ name: str(undefined, { minLength: 1 }), value: str() }, ["name", "value"]), { maxItems: 16 }),
  add: arr(obj({ name: str(undefined, { minLength: 1 }), value: str() }, ["name", "value"]), { maxItems: 16 }),
  remove: arr(str(undefined, { minLength: 1 }), { maxItems: 16 }),
});
const pathModifier = obj(
  {
    type: str(undefined, { enum: ["ReplaceFullPath", "ReplacePrefixMatch"] }),
    replaceFullPath: str(),
    replacePrefixMatch: str(),
  },
  ["type"],
);
const backendRefBase = {
  group: str("`` (core, Service) or gateway.tollgate.dev (Backend)"),
  kind: str("Service (default) or Backend"),
  name: str(undefined, { minLength: 1 }),
  namespace: str("default: the referring resource's namespace"),
  port,
};
/** A Gateway API BackendRef's weight where it names the one service a policy calls: accepted, as kgateway does, and meaningless. */
const loneWeight = int("accepted; one service is called, so its weight changes nothing (as in kgateway)", { minimum: 0, maximum: 1000000 });
/** A reference to the one service a GatewayExtension calls. */
const serviceBackendRef = obj({ ...backendRefBase, weight: loneWeight }, ["name"]);
const localObjectRef = obj({ group: str(), kind: str(), name: str(undefined, { minLength: 1 }) }, ["group", "kind", "name"]);
const corsFields: Record<string, Schema> = {
  allowOrigins: arr(str('scheme://host[:port]; the host may start with "*." or be "*"; "*" alone allows any origin', { minLength: 1, maxLength: 253 }), { maxItems: 64 }),
  allowCredentials: bool("send Access-Control-Allow-Credentials: true; default false"),
  allowMethods: arr(str(undefined, { enum: ["GET", "HEAD", "POST", "PUT", "DELETE", "CONNECT", "OPTIONS", "TRACE", "PATCH", "*"] }), { maxItems: 9 }),
  allowHeaders: arr(str(undefined, { minLength: 1, maxLength: 256 }), { maxItems: 64 }),
  exposeHeaders: arr(str(undefined, { minLength: 1, maxLength: 256 }), { maxItems: 64 }),
  maxAge: int("seconds a browser may cache a preflight answer; default 5", { minimum: 1, maximum: 2147483647 }),
};
const cors = obj(corsFields);
/** kgateway's CorsPolicy: the HTTPRoute filter's fields, and (v2.1) `disable`. */
const kgCors = obj({ ...corsFields, disable: empty("turn off the CORS a Gateway's or listener's policy gives the rules; the other fields then do nothing") });
const headerNameList = arr(str(undefined, { minLength: 1, maxLength: 256 }), { maxItems: 64 });
const httpRouteFilter = obj(
  {
    type: str(undefined, {
      enum: ["RequestHeaderModifier", "ResponseHeaderModifier", "RequestRedirect", "URLRewrite", "ExtensionRef", "RequestMirror", "CORS", "ExternalAuth"],
    }),
    requestHeaderModifier: headerModifier,
    responseHeaderModifier: headerModifier,
    requestRedirect: obj({
      scheme: str(undefined, { enum: ["http", "https"] }),
      hostname: str(),
      path: pathModifier,
      port,
      statusCode: int(undefined, { enum: [301, 302, 303, 307, 308] }),
    }),
    urlRewrite: obj({ hostname: str(), path: pathModifier }),
    extensionRef: localObjectRef,
    requestMirror: obj(
      {
        backendRef: obj(backendRefBase, ["name"]),
        percent: int("share of requests mirrored, 0-100; default: all (only one of percent and fraction)", { minimum: 0, maximum: 100 }),
        fraction,
      },
      ["backendRef"],
    ),
    cors,
    externalAuth: obj(
      {
        protocol: str("HTTP (a service that answers 200 to allow) or GRPC (Envoy's ext_authz gRPC service)", { enum: ["HTTP", "GRPC"] }),
        backendRef: obj(backendRefBase, ["name"]),
        grpc: obj({ allowedHeaders: headerNameList }),
        http: obj({
          path: str("prefix added to the request's path in the authorization request", { maxLength: 1024 }),
          allowedHeaders: headerNameList,
          allowedResponseHeaders: headerNameList,
        }),
        forwardBody: obj({ maxSize: int("bytes of the request body sent with the check; a larger body gets 413; 0 (the default) sends none", { minimum: 0, maximum: 67108864 }) }),
      },
      ["protocol", "backendRef"],
    ),
  },
  ["type"],
);
const valueMatch = obj(
  {
    type: str("default Exact", { enum: ["Exact", "RegularExpression"] }),
    name: str(undefined, { minLength: 1 }),
    value: str(),
  },
  ["name", "value"],
);
const httpRouteSpec = obj({
  parentRefs: arr(
    obj({ group: str(), kind: str(), namespace: str(), name: str(undefined, { minLength: 1 }), sectionName: str(), port }, ["name"]),
    { maxItems: 32 },
  ),
  hostnames: arr(str(undefined, { minLength: 1 }), { maxItems: 16 }),
  rules: arr(
    obj({
      name: str(),
      matches: arr(
        obj({
          path: obj({ type: str("default PathPrefix", { enum: ["Exact", "PathPrefix", "RegularExpression"] }), value: str("default /") }),
          headers: arr(valueMatch, { maxItems: 16 }),
          queryParams: arr(valueMatch, { maxItems: 16 }),
          method: str(undefined, { enum: ["GET", "HEAD", "POST", "PUT", "DELETE", "CONNECT", "OPTIONS", "TRACE", "PATCH"] }),
        }),
        { maxItems: 64 },
      ),
      filters: arr(httpRouteFilter, { maxItems: 16 }),
      backendRefs: arr(
        obj({ ...backendRefBase, weight: int("default 1", { minimum: 0, maximum: 1000000 }), filters: arr(httpRouteFilter, { maxItems: 16 }) }, ["name"]),
        { maxItems: 16 },
      ),
      timeouts: obj({ request: duration, backendRequest: duration }),
      retry: obj({
        codes: arr(int(undefined, { minimum: 400, maximum: 599 })),
        attempts: int("retries after the first attempt", { minimum: 0, maximum: 20 }),
        backoff: duration,
      }),
      sessionPersistence: anyObject("not supported yet"),
    }),
    { maxItems: 16 },
  ),
});

const referenceGrantSpec = obj(
  {
    from: arr(obj({ group: str(), kind: str(undefined, { minLength: 1 }), namespace: str(undefined, { minLength: 1 }) }, ["group", "kind", "namespace"]), { minItems: 1 }),
    to: arr(obj({ group: str(), kind: str(undefined, { minLength: 1 }), name: str() }, ["group", "kind"]), { minItems: 1 }),
  },
  ["from", "to"],
);

// ---------------------------------------------------------------- Tollgate Backend

const backendSpec = obj(
  {
    endpoints: arr(
      obj({
        fqdn: obj({ hostname: str(undefined, { minLength: 1 }), port }, ["hostname", "port"]),
        ip: obj({ address: str(undefined, { minLength: 1 }), port }, ["address", "port"]),
      }),
      { minItems: 1 },
    ),
    connectionPool: obj({
      maxConnections: int(
        "most HTTP/1.1 connections open to each endpoint at once (default 128); further requests wait in the endpoint's queue for a free connection",
        { minimum: 1, maximum: 65535 },
      ),
      maxPendingRequests: int(
        "most requests waiting for a free connection to each endpoint (default 1024); one more is answered 503 at once (response flag UO)",
        { minimum: 0, maximum: 1000000 },
      ),
    }),
  },
  ["endpoints"],
);

// ---------------------------------------------------------------- TelemetryPolicy (GEP)

const targetRef = obj({ group: str(), kind: str(undefined, { minLength: 1 }), name: str(undefined, { minLength: 1 }), namespace: str(), sectionName: str() }, ["kind", "name"]);
/** kgateway's label-selected targets, in the policy's namespace; a policy needs these or targetRefs (checked in code). */
const targetSelectors = arr(
  obj(
    {
      group: str(),
      kind: str(undefined, { minLength: 1 }),
      matchLabels: stringMap("labels every selected object carries; {} selects every object of the kind in the namespace"),
      sectionName: str("per selected object: a rule name of a route, a listener name of a Gateway"),
    },
    ["kind", "matchLabels"],
  ),
  { minItems: 1, maxItems: 16 },
);
const gepAttribute = obj(
  {
    name: str(undefined, { minLength: 1 }),
    type: str(undefined, { enum: ["Header", "Metadata", "Literal"] }),
    headerName: str(),
    metadataKey: str(),
    literalValue: str(),
    allowSensitive: bool("opt in to Authorization/Cookie-class headers"),
  },
  ["name", "type"],
);
const logField = obj(
  {
    name: str(undefined, { minLength: 1 }),
    type: str(undefined, { enum: ["Header", "Metadata", "Literal", "Standard"] }),
    headerName: str(),
    metadataKey: str(),
    literalValue: str(),
    standardValue: str(),
    allowSensitive: bool("opt in to Authorization/Cookie-class headers"),
  },
  ["name", "type"],
);
const telemetryPolicySpec = obj(
  {
    targetRefs: arr(targetRef, { minItems: 1, maxItems: 16 }),
    tracing: obj({
      mode,
      provider: obj({
        type: str("OTLP", { enum: ["OTLP"] }),
        endpoint: str("host:port or URL of an OTLP collector", { minLength: 1 }),
        protocol: str("Tollgate extension; default grpc (http/protobuf for port 4318)", { enum: ["grpc", "http/protobuf", "http/json"] }),
      }),
      samplingRate: fraction,
      parentBasedSampling: obj({ mode, samplingRate: fraction }),
      customAttributes: arr(gepAttribute, { maxItems: 32 }),
    }),
    metrics: obj({
      mode,
      overrides: arr(obj({ name: str(undefined, { minLength: 1 }), type: str(), attributes: arr(gepAttribute, { maxItems: 16 }) }, ["name"])),
    }),
    accessLogs: obj({ mode, matches: str("CEL expression"), fields: arr(logField, { maxItems: 64 }) }),
  },
  ["targetRefs"],
);

// ---------------------------------------------------------------- kgateway policies

const serviceRef = obj({ group: str(), kind: str(), name: str(undefined, { minLength: 1 }), namespace: str(), port, weight: loneWeight }, ["name"]);
const kgAttribute = obj(
  {
    name: str(undefined, { minLength: 1 }),
    literal: obj({ value: str() }, ["value"]),
    requestHeader: obj({ name: str(undefined, { minLength: 1 }), defaultValue: str(), allowSensitive: bool() }, ["name"]),
    environment: obj({ name: str(undefined, { minLength: 1 }), defaultValue: str() }, ["name"]),
    metadata: obj({ key: str(undefined, { minLength: 1 }) }, ["key"]),
  },
  ["name"],
);
/** kgateway CommonAccessLogGrpcService (Envoy's envoy_grpc GrpcService with a log name). */
const accessLogGrpcFields: Record<string, Schema> = {
  backendRef: serviceRef,
  authority: str("the calls' :authority (default: the service's host:port)"),
  maxReceiveMessageLength: int("the largest message taken from the service, in bytes (0, the default: no limit)", { minimum: 0, maximum: 4294967295 }),
  skipEnvoyHeaders: bool("Tollgate adds no x-envoy-* headers to its gRPC calls, so either value behaves as true"),
  timeout: duration,
  initialMetadata: arr(obj({ key: str("a gRPC metadata (header) name", { minLength: 1, maxLength: 256 }), value: str(undefined, { maxLength: 16384 }) }, ["key"]), { maxItems: 32 }),
  retryPolicy: obj({
    retryBackOff: obj({ baseInterval: duration, maxInterval: duration }, ["baseInterval"]),
    numRetries: int("not applied: a batch the service did not take is dropped and counted", { minimum: 0 }),
  }),
  logName: str(),
};
/** kgateway's CommonGrpcService on a tracing provider (v2.1+): the access log service's fields but the log name. */
const otlpGrpcServiceFields: Record<string, Schema> = Object.fromEntries(Object.entries(accessLogGrpcFields).filter(([name]) => name !== "logName"));
const kgTracingFields: Record<string, Schema> = {
  provider: obj(
    {
      openTelemetry: obj(
        {
          grpcService: obj(otlpGrpcServiceFields, ["backendRef"]),
          sampler: obj({ alwaysOnConfig: empty("every request is traced, whatever the percentages and the parent say") }, ["alwaysOnConfig"]),
          serviceName: str(),
          resourceDetectors: arr(anyObject()),
        },
        ["grpcService"],
      ),
    },
    ["openTelemetry"],
  ),
  clientSampling: percent,
  randomSampling: percent,
  overallSampling: percent,
  attributes: arr(kgAttribute, { maxItems: 16 }),
  spawnUpstreamSpan: bool("client span per upstream attempt (default true)"),
  verbose: bool("accepted, not used"),
  maxPathTagLength: int("accepted, not used", { minimum: 1 }),
};
const kgListenerTracing = obj(kgTracingFields);
const kgRouteTracing = obj({
  clientSampling: percent,
  randomSampling: percent,
  overallSampling: percent,
  attributes: arr(kgAttribute, { maxItems: 16 }),
  disable: empty("turn tracing off for the route; exclusive with every other field"),
});
const keyAnyValueList = obj({
  values: arr(obj({ key: str(undefined, { minLength: 1 }), value: obj({ stringValue: str(), boolValue: bool(), intValue: int(), doubleValue: num() }) }, ["key", "value"])),
});
/** kgateway's FilterType (Envoy's AccessLogFilter): one of these per filter object, checked in code. */
const comparison = (what: string): Schema => obj({ op: str(undefined, { enum: ["EQ", "GE", "LE"] }), value: int(what, { minimum: 0, maximum: 4294967295 }) }, ["op"]);
const accessLogConditions: Record<string, Schema> = {
  statusCodeFilter: comparison("HTTP status code"),
  durationFilter: comparison("total request duration in milliseconds"),
  notHealthCheckFilter: bool("leave out health check requests"),
  traceableFilter: bool("only requests whose trace is sampled"),
  headerFilter: obj({ header: valueMatch }, ["header"]),
  responseFlagFilter: obj({ flags: arr(str("an Envoy response flag, e.g. UF"), { minItems: 1 }) }, ["flags"]),
  grpcStatusFilter: obj({ statuses: arr(str(undefined, { enum: [...GRPC_STATUS_NAMES] })), exclude: bool("keep the records whose status is not listed") }),
  celFilter: obj({ match: str("CEL expression") }, ["match"]),
  runtimeFilter: obj(
    {
      runtimeKey: str("kgateway requires it; Tollgate has no runtime layer, so percentSampled alone decides", { minLength: 1 }),
      percentSampled: obj(
        {
          numerator: int("requests in denominator that are logged", { minimum: 0 }),
          denominator: str("default HUNDRED", { enum: ["HUNDRED", "TEN_THOUSAND", "MILLION"] }),
        },
        ["numerator"],
      ),
      useIndependentRandomness: bool("draw at random rather than from X-Request-Id (default false)"),
    },
    ["runtimeKey"],
  ),
};
const kgAccessLog = obj({
  grpcService: obj(
    {
      ...accessLogGrpcFields,
      logName: str("the Identifier's log_name on every stream", { minLength: 1 }),
      additionalRequestHeadersToLog: headerNameList,
      additionalResponseHeadersToLog: headerNameList,
      additionalResponseTrailersToLog: headerNameList,
    },
    ["backendRef", "logName"],
  ),
  openTelemetry: obj(
    {
      grpcService: obj(accessLogGrpcFields, ["backendRef"]),
      logName: str(),
      body: str("Envoy command-operator template"),
      disableBuiltinLabels: bool(),
      attributes: keyAnyValueList,
      resourceAttributes: keyAnyValueList,
    },
    ["grpcService"],
  ),
  fileSink: obj(
    {
      path: str("only /dev/stdout: the stdout JSON sink", { enum: ["/dev/stdout"] }),
      stringFormat: str("Envoy command-operator template for the body"),
      jsonFormat: anyObject("Envoy format dictionary: keys to command-operator templates, literals or nested dictionaries; the body is the object it renders"),
    },
    ["path"],
  ),
  filter: obj({ ...accessLogConditions, andFilter: arr(obj(accessLogConditions), { minItems: 2 }), orFilter: arr(obj(accessLogConditions), { minItems: 2 }) }),
});
const listenerLimits: Record<string, Schema> = {
  xffNumTrustedHops: int("right-most X-Forwarded-For hops to trust", { minimum: 0, maximum: 32 }),
  useRemoteAddress: bool("true (default): the client address is the peer; false: trust X-Forwarded-For"),
  skipXFFAppend: bool("the gateway adds no address to X-Forwarded-For: a trusted chain goes on as it came, an untrusted one is dropped (default false)"),
  trustForwardedHeaders: bool("trust incoming Forwarded/X-Forwarded-* headers (default false)"),
  maxRequestHeadersKb: int("request header limit in KiB (default 60)", { minimum: 1, maximum: 8192 }),
  idleTimeout: duration,
  requestHeadersTimeout: duration,
  requestTimeout: duration,
  streamIdleTimeout: duration,
  maxConnections: int("0 = unlimited", { minimum: 0 }),
  maxRequestsPerConnection: int("requests one client connection carries; the last answer closes it (0 or unset: unlimited)", { minimum: 0 }),
  maxHeadersCount: int("the most header fields a request may have; more is a 431 too_many_headers (unset: 2000, node's own count)", { minimum: 1 }),
  earlyRequestHeaderModifier: headerModifier,
  generateRequestId: bool("give a request without X-Request-Id a random one (default true)"),
  preserveExternalRequestId: bool("accepted: a client's X-Request-Id is always kept, as true says (false gets a warning)"),
  uuidRequestIdConfig: obj({ packTraceReason: bool("not applied (a warning when true)"), useRequestIdForTraceSampling: bool("not applied (a warning when true)") }),
  http2ProtocolOptions: anyObject("not applied: listeners serve HTTP/1.1 (a warning says so)"),
  acceptHttp10: bool("serve HTTP/1.0 requests (Tollgate's default: true; Envoy's is false); false refuses them with 426"),
  defaultHostForHttp10: str("the Host of an HTTP/1.0 request that sends none: a name, an IPv4 address or a bracketed IPv6 one, and optionally a port", {
    pattern: "^(\\[[0-9A-Fa-f:.]+\\]|[A-Za-z0-9]([A-Za-z0-9.-]*[A-Za-z0-9])?)(:[1-9][0-9]{0,4})?$",
  }),
  stripHostPortMode: str("the port leaves the Host before routing: MatchingPort when it is the listener's, AnyPort always (default: kept)", { enum: ["MatchingPort", "AnyPort"] }),
  serverName: str("the Server value the gateway writes (default tollgate); alone it also means serverHeaderTransformation Overwrite, kgateway's default", { minLength: 1, pattern: "^[\\x21-\\x7e]([\\x20-\\x7e]*[\\x21-\\x7e])?$" }),
  serverHeaderTransformation: str("the Server header of every answer: Overwrite (always the gateway's), AppendIfAbsent (the gateway's when the upstream sent none), PassThrough (the upstream's, the default)", {
    enum: ["Overwrite", "AppendIfAbsent", "PassThrough"],
  }),
  upgradeConfig: obj({
    enabledUpgrades: arr(str("an Upgrade protocol, e.g. websocket; every one but h2c is forwarded already, CONNECT is refused", { minLength: 1 }), { minItems: 1 }),
  }),
  preserveHttp1HeaderCase: bool("not applied (a warning when true): header names go upstream and back lower-case"),
  healthCheck: obj(
    {
      path: str("the exact request path (with its query, if any) the gateway answers itself on every listener: 200, or 503 while it drains", {
        pattern: "^/[-a-zA-Z0-9@:%.+~#?&/=_]+$",
        maxLength: 2048,
      }),
    },
    ["path"],
  ),
};
/** kgateway ListenerConfig: a whole Gateway's (`default`) or one port's (`perPort`, replacing the default there). */
const listenerConnection: Record<string, Schema> = {
  proxyProtocol: empty("every connection starts with a PROXY protocol (v1 or v2) header naming the client, as a load balancer in front writes it"),
  perConnectionBufferLimitBytes: int("not applied (a warning)", { minimum: 0 }),
};
const httpListenerPolicySpec = obj({
  targetRefs: arr(targetRef, { minItems: 1, maxItems: 16 }),
  targetSelectors,
  tracing: kgListenerTracing,
  accessLog: arr(kgAccessLog, { maxItems: 16 }),
  ...listenerLimits,
});
const listenerPolicySpec = obj({
  targetRefs: arr(targetRef, { minItems: 1, maxItems: 16 }),
  targetSelectors,
  default: obj({ ...listenerConnection, httpSettings: obj({ tracing: kgListenerTracing, accessLog: arr(kgAccessLog, { maxItems: 16 }), ...listenerLimits }) }),
  perPort: arr(obj({ port, listener: obj(listenerConnection) }, ["port", "listener"]), { maxItems: 64 }),
});
const wholePercent = (description: string): Schema => int(description, { minimum: 0, maximum: 100 });
const kgRateLimit = obj({
  local: obj({
    tokenBucket: obj(
      {
        maxTokens: int("the bucket's size (the burst), and what it holds at first", { minimum: 1, maximum: 2147483647 }),
        tokensPerFill: int("tokens added each fillInterval (default 1)", { minimum: 1, maximum: 2147483647 }),
        fillInterval: duration,
      },
      ["maxTokens", "fillInterval"],
    ),
    percentEnabled: wholePercent("share of requests the limit is checked for (default 100)"),
    percentEnforced: wholePercent("share of over-limit requests refused; the rest pass and are only counted (default 100)"),
  }),
  global: obj(
    {
      descriptors: arr(
        obj(
          {
            entries: arr(
              obj(
                {
                  type: str("what the entry's value is", { enum: ["Generic", "Header", "RemoteAddress", "Path"] }),
                  generic: obj({ key: str(undefined, { minLength: 1 }), value: str(undefined, { minLength: 1 }) }, ["key", "value"]),
                  header: str("the request header whose value the entry takes (type Header)", { minLength: 1 }),
                },
                ["type"],
              ),
              { minItems: 1 },
            ),
          },
          ["entries"],
        ),
        { minItems: 1 },
      ),
      extensionRef: obj({ name: str("a GatewayExtension with spec.rateLimit", { minLength: 1 }), namespace: str("default: the policy's namespace", { minLength: 1 }) }, ["name"]),
    },
    ["descriptors", "extensionRef"],
  ),
});
const kgTimeouts = obj({ request: duration, streamIdle: duration });
const kgRetry = obj({
  retryOn: arr(
    str("a condition that triggers a retry", {
      enum: ["5xx", "gateway-error", "reset", "reset-before-request", "connect-failure", "envoy-ratelimited", "retriable-4xx", "refused-stream", "retriable-status-codes", "http3-post-connect-failure", "cancelled", "deadline-exceeded", "internal", "resource-exhausted", "unavailable"],
    }),
    { minItems: 1 },
  ),
  attempts: int("retries after the first attempt (default 1; 0 turns retries off)", { minimum: 0, maximum: 100 }),
  perTryTimeout: duration,
  statusCodes: arr(int(undefined, { minimum: 400, maximum: 599 }), { minItems: 1 }),
  backoffBaseInterval: duration,
  retryHostPredicates: arr(str("a retry goes to the backend's next endpoint anyway (on the hash ring with consistentHash); there are no canary hosts", { enum: ["PreviousHosts", "OmitCanaryHosts"] }), { minItems: 1 }),
});
const cidrList = arr(str("an IPv4 or IPv6 range in CIDR notation (10.0.0.0/8), or one address", { minLength: 1 }), { minItems: 1, maxItems: 256 });
const kgAuthorization = obj(
  {
    policy: obj({
      matchExpressions: arr(str("a CEL expression over the request (see docs/configuration.md)", { minLength: 1, maxLength: 16384 }), { minItems: 1, maxItems: 256 }),
      allowedCIDRs: cidrList,
      blockedCIDRs: cidrList,
    }),
    action: str("what a matching request gets (default Allow: a request the policy does not match is denied)", { enum: ["Allow", "Deny"] }),
  },
  ["policy"],
);
const aclAction = str("allow or deny", { enum: ["allow", "deny"] });
const kgAcl = obj(
  {
    defaultAction: aclAction,
    rules: arr(
      obj(
        {
          name: str("named in the blocked-by header and the access log when this rule denies", { minLength: 1, maxLength: 256 }),
          cidrs: cidrList,
          action: aclAction,
        },
        ["cidrs", "action"],
      ),
      { maxItems: 256 },
    ),
    denyResponse: obj({
      statusCode: int("the status a denied request gets (default 403)", { minimum: 100, maximum: 599 }),
      headers: arr(obj({ name: str(undefined, { minLength: 1, maxLength: 256 }), value: str(undefined, { maxLength: 4096 }) }, ["name", "value"]), { maxItems: 16 }),
      // kgateway v2.3's name. `addBlockedByHeader` is the key of the http-acl dynamic module's
      // JSON config that kgateway writes, never a TrafficPolicy field: it is refused as unknown.
      blockedByHeaderName: str("a header naming the rule that denied: its name, `rule` when unnamed, `default` for the default action", { minLength: 1, maxLength: 256 }),
    }),
  },
  ["defaultAction"],
);
/** kgateway ExtAuthBufferSettings: the request body sent with an authorization check. */
const extAuthBody = obj(
  {
    maxRequestBytes: int("the most body bytes sent; a larger body gets 413 (at most 64Mi: the body is held whole)", { minimum: 1, maximum: 67108864 }),
    allowPartialMessage: bool("true is not supported: a body over maxRequestBytes gets 413"),
    packAsBytes: bool("gRPC: send the body as bytes (raw_body) even when it is text (default false)"),
  },
  ["maxRequestBytes"],
);
/** kgateway (and Envoy) StringMatcher: exactly one of the five ways, checked in code. */
const stringMatcher = obj({
  exact: str(undefined, { maxLength: 1024 }),
  prefix: str("not empty", { minLength: 1, maxLength: 1024 }),
  suffix: str("not empty", { minLength: 1, maxLength: 1024 }),
  contains: str(undefined, { minLength: 1, maxLength: 1024 }),
  safeRegex: str("an RE2 regular expression the whole value must match", { minLength: 1, maxLength: 1024 }),
  ignoreCase: bool("exact, prefix, suffix and contains ignore case (not safeRegex)"),
});
/** A hash policy entry that, once the key has a value, ends the list. */
const hashTerminal = bool("once the key has a value after this entry, the entries after it are skipped (default false)");
const trafficPolicySpec = obj(
  {
    targetRefs: arr(targetRef, { minItems: 1, maxItems: 16 }),
    targetSelectors,
    tracing: kgRouteTracing,
    cors: kgCors,
    rateLimit: kgRateLimit,
    timeouts: kgTimeouts,
    retry: kgRetry,
    headerModifiers: obj({ request: headerModifier, response: headerModifier }),
    buffer: obj({
      maxRequestSize: { type: ["string", "integer"], description: 'the most body bytes buffered: a byte count or a quantity ("512Ki", "1Mi"); a larger body is refused with 413' },
      disable: empty("turn off the buffer a Gateway's policy gives the rule; exclusive with maxRequestSize"),
    }),
    rbac: kgAuthorization,
    acl: kgAcl,
    autoHostRewrite: bool("send the chosen Backend endpoint's name (its fqdn or IP) as Host; a URLRewrite hostname wins (HTTPRoutes only)"),
    faultInjection: obj({
      delay: obj({ fixedDelay: duration, percentage: int("share of requests delayed (default 100)", { minimum: 0, maximum: 100 }) }, ["fixedDelay"]),
      abort: obj({
        httpStatus: int("the status an aborted request gets", { minimum: 200, maximum: 599 }),
        grpcStatus: int("the gRPC status an aborted request gets (HTTP 200, grpc-status in the answer's headers); exclusive with httpStatus", { minimum: 0, maximum: 16 }),
        percentage: int("share of requests aborted (default 100)", { minimum: 0, maximum: 100 }),
      }),
      responseRateLimit: obj({ kbitsPerSecond: int("the response body rate in KiB/s, as Envoy reads the value kgateway passes it (despite the name)", { minimum: 1 }), percentage: int("share of responses slowed (default 100)", { minimum: 0, maximum: 100 }) }, ["kbitsPerSecond"]),
      maxActiveFaults: int("at most this many requests of the policy with a fault at once (held to the end of the exchange, or a delay alone to its end, as in Envoy); past it no fault is injected (default: no limit)", { minimum: 0 }),
      disable: empty("turn off the fault injection a Gateway's policy gives the rules; exclusive with the other fields"),
    }),
    compression: obj({
      responseCompression: obj({
        libraries: arr(str(undefined, { enum: ["Gzip", "Brotli", "Zstd"] }), { minItems: 1, maxItems: 3 }),
        minContentLengthBytes: int("a response with a smaller Content-Length is sent as it is (default 30); one without Content-Length is always eligible", { minimum: 0 }),
        contentTypes: arr(str(undefined, { minLength: 1 }), { minItems: 1 }),
        disableOnEtag: bool("leave responses that carry an ETag uncompressed"),
        weakenEtagOnCompress: bool("weaken a strong ETag (W/) instead of removing it when compressing; wins over disableOnEtag"),
        disable: empty("no response compression for the rules; exclusive with the other fields"),
      }),
      requestDecompression: obj({
        libraries: arr(str(undefined, { enum: ["Gzip", "Brotli", "Zstd"] }), { minItems: 1, maxItems: 3 }),
        disable: empty("no request decompression for the rules; exclusive with libraries"),
      }),
    }),
    csrf: obj({
      percentageEnabled: int("share of requests whose origin is checked and enforced (default 0: kgateway leaves the filter off)", { minimum: 0, maximum: 100 }),
      percentageShadowed: int("share of requests whose origin is checked and counted but never refused; exclusive with percentageEnabled", { minimum: 0, maximum: 100 }),
      additionalOrigins: arr(stringMatcher, { maxItems: 16 }),
    }),
    extAuth: obj({
      extensionRef: obj({ name: str(undefined, { minLength: 1 }), namespace: str(undefined, { minLength: 1 }) }, ["name"]),
      withRequestBody: extAuthBody,
      contextExtensions: stringMap("gRPC: sent with every check as context_extensions"),
      disable: empty("exempt the rules from their Gateway's extAuth; exclusive with extensionRef"),
      enablement: str("kgateway v2.0's spelling of disable: {}", { enum: ["DisableAll"] }),
    }),
    urlRewrite: obj({ pathRegex: obj({ pattern: str(undefined, { minLength: 1, maxLength: 1024 }), substitution: str(undefined, { minLength: 1, maxLength: 1024 }) }, ["pattern", "substitution"]) }),
    consistentHash: obj({
      disable: bool("no hash for the rules, not even one a less preferred policy gives them; exclusive with the other fields"),
      headers: arr(
        obj(
          {
            headerName: str("a request header (or :authority, :path, :method) whose value is hashed; absent: no part of the key", { minLength: 1, maxLength: 256 }),
            regexRewrite: obj({ pattern: str("an RE2 pattern", { minLength: 1, maxLength: 1024 }), substitution: str("\\1 to \\9 name the pattern's groups", { minLength: 1, maxLength: 1024 }) }, ["pattern", "substitution"]),
            terminal: hashTerminal,
          },
          ["headerName"],
        )
      ),
      cookies: arr(
        obj(
          {
            name: str("a cookie whose value is hashed", { minLength: 1, maxLength: 256 }),
            ttl: { type: ["string", "integer"], description: 'set: a request without the cookie gets one with this lifetime ("1h30m", or seconds; 0 a session cookie); unset: only a cookie the client sends is hashed' },
            path: str("the Path of a generated cookie", { minLength: 1, maxLength: 1024 }),
            attributes: arr(obj({ name: str(undefined, { minLength: 1, maxLength: 256 }), value: str("empty for a flag such as Secure", { maxLength: 1024 }) }, ["name", "value"])),
            terminal: hashTerminal,
          },
          ["name"],
        )
      ),
      queryParameters: arr(obj({ name: str("a query parameter whose first value is hashed, name and value as written (not percent-decoded)", { minLength: 1, maxLength: 256 }), terminal: hashTerminal }, ["name"])),
      filterState: arr(obj({ key: str("an Envoy filter state key: the gateway has none, so the entry never adds to the key, and (as kgateway counts it) a policy with filterState alone has no key: round-robin", { minLength: 1 }), terminal: hashTerminal }, ["key"])),
      sourceIp: obj({ terminal: hashTerminal }),
    }),
    basicAuth: obj({
      // `sensitive`: a schema error says "a string" rather than quote a line and its digest.
      users: arr(str("an htpasswd line, USER:{SHA}DIGEST (the base64 SHA-1 of the password, as htpasswd -s writes it)", { sensitive: true }), { minItems: 1, maxItems: 256, sensitive: true }),
      secretRef: obj(
        {
          name: str("a Secret holding htpasswd text", { minLength: 1 }),
          namespace: str("default: the policy's namespace; another needs a ReferenceGrant", { minLength: 1 }),
          key: str('the Secret key holding the htpasswd text (default ".htpasswd")', { minLength: 1 }),
        },
        ["name"],
      ),
      disable: empty("exempt the rules from their Gateway's basicAuth; exclusive with users and secretRef"),
    }),
    jwtAuth: obj({
      extensionRef: obj({ name: str("a GatewayExtension with spec.jwt", { minLength: 1 }), namespace: str("default: the policy's namespace", { minLength: 1 }) }, ["name"]),
      disable: empty("exempt the rules from their Gateway's jwtAuth; exclusive with extensionRef"),
    }),
    apiKeyAuth: obj({
      keySources: arr(
        obj({
          header: str("a request header holding the key (a `Bearer ` prefix is taken off)", { minLength: 1, maxLength: 256 }),
          query: str("a query parameter holding the key", { minLength: 1, maxLength: 256 }),
          cookie: str("a cookie holding the key", { minLength: 1, maxLength: 256 }),
        }),
        { maxItems: 16 },
      ),
      forwardCredential: bool("send the key on to the upstream (default false: it is taken off the request)"),
      clientIdHeader: str("a request header the upstream gets the client's id in", { minLength: 1, maxLength: 256 }),
      secretRef: obj(
        {
          group: str('"" (core)'),
          kind: str("Secret"),
          name: str("a Secret whose entries are client ids and their keys", { minLength: 1 }),
          namespace: str("default: the policy's namespace; another needs a ReferenceGrant", { minLength: 1 }),
        },
        ["name"],
      ),
      secretSelector: obj({ matchLabels: stringMap("the labels of the policy's namespace's Secrets whose entries are client ids and their keys") }, ["matchLabels"]),
      disable: empty("exempt the rules from their Gateway's apiKeyAuth; exclusive with secretRef and secretSelector"),
    }),
  },
);
const backendTlsPolicySpec = obj(
  {
    targetRefs: arr(
      obj({ group: str('"" for a Service, gateway.tollgate.dev for a Backend'), kind: str("Service or Backend", { minLength: 1 }), name: str(undefined, { minLength: 1 }), sectionName: str("a Service port name (not supported)") }, ["kind", "name"]),
      { minItems: 1, maxItems: 16 },
    ),
    validation: obj(
      {
        caCertificateRefs: arr(obj({ group: str('"" (core)'), kind: str("ConfigMap or Secret, holding ca.crt", { minLength: 1 }), name: str(undefined, { minLength: 1 }) }, ["kind", "name"]), { maxItems: 8 }),
        wellKnownCACertificates: str("System: the operating system's and Node's well-known CAs (a vendor-specific domain/name set is not known)", { minLength: 1, maxLength: 253 }),
        hostname: str("the SNI name, and the name the upstream certificate must carry when subjectAltNames is empty", { minLength: 1, maxLength: 253 }),
        subjectAltNames: arr(obj({ type: str(undefined, { enum: ["Hostname", "URI"] }), hostname: str(), uri: str() }, ["type"]), { maxItems: 5 }),
      },
      ["hostname"],
    ),
    options: stringMap("implementation-specific TLS options (none are read)"),
  },
  ["targetRefs", "validation"],
);
/** A GatewayExtension's gRPC service (kgateway ExtGrpcService). */
const extGrpcService = obj(
  {
    backendRef: serviceBackendRef,
    authority: str("not applied"),
    requestTimeout: duration,
    retry: anyObject("not applied"),
  },
  ["backendRef"],
);
const gatewayExtensionSpec = obj({
  type: str("deprecated by kgateway; when set, it must name the block that is set", { enum: ["ExtAuth", "ExtProc", "RateLimit", "JWT", "OAuth2"] }),
  rateLimit: obj(
    {
      grpcService: extGrpcService,
      domain: str("the rate limit service's configuration to use", { minLength: 1 }),
      failOpen: bool("let requests through when the service cannot be asked (default true)"),
      timeout: duration,
      xRateLimitHeaders: str("DraftVersion03 adds X-RateLimit-Limit, -Remaining and -Reset to answers (default Off)", { enum: ["Off", "DraftVersion03"] }),
    },
    ["grpcService", "domain"],
  ),
  extAuth: obj({
    grpcService: extGrpcService,
    httpService: obj(
      {
        backendRef: serviceBackendRef,
        pathPrefix: str("put before the request's path in the check", { maxLength: 1024 }),
        requestTimeout: duration,
        authorizationRequest: obj({ headersToAdd: stringMap("headers set on the check; literal values (Envoy's format operators are refused)") }),
        authorizationResponse: obj({
          headersToBackend: headerNameList,
          headersToClient: headerNameList,
          headersToClientOnSuccess: headerNameList,
        }),
        retry: anyObject("not applied"),
      },
      ["backendRef"],
    ),
    headersToForward: headerNameList,
    failOpen: bool("let requests through when the service gives no verdict (default false)"),
    clearRouteCache: bool("not applied"),
    withRequestBody: extAuthBody,
    statusOnError: int("the status when the service gives no verdict (default 403; 200-511 but 204, 205 and 304)", { minimum: 100, maximum: 511 }),
    statPrefix: str("not applied", { minLength: 1 }),
    percentageEnabled: int("share of requests checked (default 100); the others pass unchecked", { minimum: 0, maximum: 100 }),
  }),
  extProc: anyObject("not implemented"),
  jwt: obj({
    validationMode: str("Strict (default): a request needs a valid token; AllowMissing: one without a token passes, one with a bad token does not", { enum: ["Strict", "AllowMissing"] }),
    providers: arr(
      obj(
        {
          name: str("unique within the extension", { minLength: 1, maxLength: 253 }),
          issuer: str("the iss a token must carry (default: any)", { maxLength: 2048 }),
          audiences: arr(str(undefined, { minLength: 1 }), { minItems: 1, maxItems: 32 }),
          tokenSource: obj({
            header: obj({ header: str(undefined, { minLength: 1, maxLength: 2048 }), prefix: str('written before the token, e.g. "Bearer "', { minLength: 1, maxLength: 2048 }) }, ["header"]),
            queryParameter: str("a query parameter holding the token", { minLength: 1, maxLength: 2048 }),
          }),
          claimsToHeaders: arr(obj({ name: str('a claim; "a.b" reads claim b of object claim a', { minLength: 1, maxLength: 2048 }), header: str(undefined, { minLength: 1, maxLength: 2048 }) }, ["name", "header"]), { minItems: 1, maxItems: 32 }),
          jwks: obj({
            local: obj({
              inline: str("a JWKS, one JWK or a PEM public key", { minLength: 1, maxLength: 16384 }),
              configMapRef: obj({ name: str("a ConfigMap of the extension's namespace holding the keys under data.jwks", { minLength: 1 }) }, ["name"]),
            }),
            remote: obj(
              {
                url: str("the JWKS URL, fetched through backendRef", { minLength: 1, maxLength: 2048 }),
                backendRef: obj(backendRefBase, ["name"]),
                cacheDuration: duration,
              },
              ["url", "backendRef"],
            ),
          }),
          forwardToken: bool("keep the token on the request sent upstream (default false: its header is removed)"),
        },
        ["name", "jwks"],
      ),
      { maxItems: 32 },
    ),
  }),
  oauth2: anyObject("not implemented"),
});
// ---------------------------------------------------------------- kgateway BackendConfigPolicy

const notRead = (what: string): Schema => anyObject(`not read: ${what} (a warning says so)`);
const slowStart = anyObject("not read: endpoints take their full share at once (a warning says so)");
const backendHashPolicies = arr(anyObject("not read here: hash policies go in the routes' TrafficPolicy consistentHash (a warning says so)"), { minItems: 1, maxItems: 16 });
const ringSize = int("points on the ring, split evenly among the endpoint addresses (Envoy's defaults: minimum 1024, maximum 8388608)", { minimum: 1, maximum: 8_388_608 });
const backendConfigPolicySpec = obj({
  targetRefs: arr(targetRef, { minItems: 1, maxItems: 16 }),
  targetSelectors,
  connectTimeout: duration,
  dns: notRead("endpoint names are resolved by the system resolver on each new connection"),
  perConnectionBufferLimitBytes: int("not read: bodies stream through Node's own buffers (a warning says so)", { minimum: 0 }),
  tcpKeepalive: obj({
    keepAliveProbes: int("unanswered probes before the connection is dropped (1-127; default 10)", { minimum: 0 }),
    keepAliveTime: duration,
    keepAliveInterval: duration,
  }),
  commonHttpProtocolOptions: obj({
    idleTimeout: duration,
    maxHeadersCount: int("the most header fields an upstream's response head may carry; more is a 502 upstream_protocol_error", { minimum: 1 }),
    maxStreamDuration: duration,
    maxRequestsPerConnection: int("0 or unset: unlimited", { minimum: 0 }),
    headersWithUnderscoresAction: str("kgateway v2.0's field; does nothing on a backend, as in Envoy's cluster options (a warning says so unless Allow)", { enum: ["Allow", "RejectRequest", "DropHeader"] }),
  }),
  http1ProtocolOptions: obj({
    enableTrailers: bool(),
    preserveHttp1HeaderCase: bool(),
    headerFormat: str("kgateway v2.0's field; not read: header names go upstream in lower case (a warning says so)", { enum: ["ProperCaseHeaderKeyFormat", "PreserveCaseHeaderKeyFormat"] }),
    overrideStreamErrorOnInvalidHttpMessage: bool(),
  }),
  http2ProtocolOptions: notRead("the gateway speaks HTTP/1.1 to upstreams"),
  tls: anyObject("not implemented: an error; a BackendTLSPolicy gives a backend TLS"),
  loadBalancer: obj({
    healthyPanicThreshold: int("not read: there are no health checks (a warning says so)", { minimum: 0, maximum: 100 }),
    updateMergeWindow: duration,
    leastRequest: obj({ choiceCount: int("endpoints drawn per request, the least busy taken (default 2)", { minimum: 0 }), slowStart }),
    roundRobin: obj({ slowStart }),
    ringHash: obj({ minimumRingSize: ringSize, maximumRingSize: ringSize, useHostnameForHashing: bool("endpoints are placed by what the Backend lists, a hostname or an IP"), hashPolicies: backendHashPolicies }),
    maglev: obj({ useHostnameForHashing: bool("endpoints are placed by what the Backend lists, a hostname or an IP"), hashPolicies: backendHashPolicies }),
    random: empty("a random endpoint for each request"),
    localityType: str("not read: endpoints have no locality", { enum: ["WeightedLb"] }),
    zoneAware: anyObject("kgateway v2.4's zone-aware routing; not read: endpoints have no zone (a warning says so)"),
    closeConnectionsOnHostSetChange: bool("not read (a warning says so)"),
  }),
  healthCheck: notRead("no active health checks: every endpoint stays in rotation"),
  outlierDetection: notRead("no outlier detection: every endpoint stays in rotation"),
  circuitBreakers: obj({
    maxConnections: int("connections to the backend, split evenly among its endpoints", { minimum: 1 }),
    maxPendingRequests: int("requests waiting for a connection, split evenly among its endpoints", { minimum: 1 }),
    maxRequests: int("not read (a warning says so)", { minimum: 1 }),
    maxRetries: int("not read (a warning says so)", { minimum: 0 }),
    trackRemaining: bool("not read"),
  }),
  upstreamProxyProtocol: notRead("no PROXY protocol header is sent to upstreams"),
});

const directResponseSpec = obj({ status: int(undefined, { minimum: 200, maximum: 599 }), body: str() }, ["status"]);

// ---------------------------------------------------------------- kinds

export interface KindSchema {
  readonly apiVersions: readonly string[];
  readonly kind: string;
  readonly spec: Schema;
  readonly description: string;
}

export const IMPLEMENTED_KINDS: readonly KindSchema[] = [
  { apiVersions: ["gateway.networking.k8s.io/v1", "gateway.networking.k8s.io/v1beta1"], kind: "Gateway", spec: gatewaySpec, description: "Gateway API Gateway: HTTP and HTTPS listeners" },
  { apiVersions: ["gateway.networking.k8s.io/v1", "gateway.networking.k8s.io/v1beta1"], kind: "HTTPRoute", spec: httpRouteSpec, description: "Gateway API HTTPRoute" },
  { apiVersions: ["gateway.networking.k8s.io/v1beta1", "gateway.networking.k8s.io/v1"], kind: "ReferenceGrant", spec: referenceGrantSpec, description: "allows cross-namespace references into its namespace" },
  { apiVersions: ["gateway.tollgate.dev/v1alpha1"], kind: "Backend", spec: backendSpec, description: "Tollgate Backend: endpoints by fqdn or ip" },
  {
    apiVersions: ["gateway.networking.k8s.io/v1", "gateway.networking.k8s.io/v1alpha3"],
    kind: "BackendTLSPolicy",
    spec: backendTlsPolicySpec,
    description: "Gateway API BackendTLSPolicy: TLS to a Service or Backend, and how its certificate is verified",
  },
  {
    apiVersions: ["gateway.networking.x-k8s.io/v1alpha1", "agentic.networking.x-k8s.io/v1alpha1"],
    kind: "TelemetryPolicy",
    spec: telemetryPolicySpec,
    description: "GEP Telemetry API policy attached to Gateways",
  },
  { apiVersions: ["gateway.kgateway.dev/v1alpha1"], kind: "ListenerPolicy", spec: listenerPolicySpec, description: "kgateway ListenerPolicy (tracing, access logs, listener limits)" },
  { apiVersions: ["gateway.kgateway.dev/v1alpha1"], kind: "HTTPListenerPolicy", spec: httpListenerPolicySpec, description: "kgateway HTTPListenerPolicy (tracing, access logs, listener limits, health checks, the Server header)" },
  { apiVersions: ["gateway.kgateway.dev/v1alpha1"], kind: "TrafficPolicy", spec: trafficPolicySpec, description: "kgateway TrafficPolicy (per-route tracing, CORS and regex path rewrites; jwtAuth, basicAuth, apiKeyAuth, extAuth, header modifiers, local and global rate limits, rbac, acl, csrf, fault injection, buffer, compression, retry and timeouts on routes, Gateways and listeners; autoHostRewrite and consistentHash on routes)" },
  { apiVersions: ["gateway.kgateway.dev/v1alpha1"], kind: "GatewayExtension", spec: gatewayExtensionSpec, description: "kgateway GatewayExtension: the rate limit service TrafficPolicy rateLimit.global calls, the authorization service of TrafficPolicy extAuth, or the JWT providers of TrafficPolicy jwtAuth" },
  { apiVersions: ["gateway.kgateway.dev/v1alpha1"], kind: "BackendConfigPolicy", spec: backendConfigPolicySpec, description: "kgateway BackendConfigPolicy: load balancing and connection settings of Services and Backends" },
  { apiVersions: ["gateway.kgateway.dev/v1alpha1"], kind: "DirectResponse", spec: directResponseSpec, description: "kgateway DirectResponse, used from an HTTPRoute ExtensionRef filter" },
];

/** The schema of one document of the given kind (apiVersion fixed to its accepted values). */
export function documentSchema(k: KindSchema): Schema {
  return obj(
    {
      apiVersion: { type: "string", enum: [...k.apiVersions] },
      kind: { type: "string", const: k.kind },
      metadata,
      spec: k.spec,
      status: anyObject("ignored"),
    },
    ["apiVersion", "kind", "metadata", "spec"],
    { description: k.description },
  );
}

/** The whole-file schema: each YAML document is one of the implemented kinds, or any other Kubernetes resource (skipped). */
export function configJsonSchema(): object {
  const implemented = IMPLEMENTED_KINDS.map((k) => documentSchema(k));
  const implementedPairs = IMPLEMENTED_KINDS.map((k) => ({
    properties: { apiVersion: { enum: [...k.apiVersions] }, kind: { const: k.kind } },
    required: ["apiVersion", "kind"],
  }));
  return {
    $schema: "http://json-schema.org/draft-07/schema#",
    $id: "https://tollgate.dev/schema/config.json",
    title: "Tollgate configuration document",
    description: "One Kubernetes-style resource. Kinds Tollgate does not implement are skipped.",
    oneOf: [
      ...implemented,
      {
        description: "Any other Kubernetes resource: skipped by Tollgate",
        type: "object",
        required: ["apiVersion", "kind"],
        properties: { apiVersion: { type: "string" }, kind: { type: "string" } },
        not: { anyOf: implementedPairs },
      },
    ],
  };
}
