// The `Standard` access-log field values a TelemetryPolicy can name (GEP `standardValue`).
// Telemetry renders each one per request; docs/configuration.md lists them with their meaning.
export const STANDARD_LOG_FIELDS: Readonly<Record<string, string>> = {
  RequestStartTime: "request start, RFC 3339 with milliseconds (UTC)",
  Duration: "total request duration in milliseconds, from first byte received to last byte sent",
  RequestDuration: "milliseconds until the request was fully received",
  ResponseDuration: "milliseconds until the first response byte from upstream",
  RequestMethod: "HTTP method",
  RequestPath: "request path without the query string",
  RequestQuery: "raw query string (sensitive parameters redacted)",
  Authority: "Host / :authority",
  Scheme: "http or https as seen by the client",
  Protocol: "HTTP/1.0, HTTP/1.1 or HTTP/2",
  UserAgent: "User-Agent header",
  RequestId: "X-Request-Id header",
  ResponseCode: "HTTP status code sent to the client (0 when none was sent)",
  ResponseCodeDetails: "why the response code was chosen, e.g. via_upstream, route_not_found",
  ResponseFlags: "Envoy-style response flags, e.g. UF, UT, NR, DC; `-` when none",
  BytesReceived: "request body bytes received from the client",
  BytesSent: "response body bytes sent to the client",
  UpstreamHost: "address:port of the upstream endpoint that served the request",
  UpstreamCluster: "backend name (`namespace/name[:port]`)",
  UpstreamRequestAttemptCount: "upstream attempts, retries included",
  RouteName: "`namespace/name` of the matched HTTPRoute",
  RuleName: "the matched rule's name or index",
  GatewayName: "`namespace/name` of the Gateway",
  ListenerName: "name of the listener",
  TraceId: "trace id of the SERVER span (hex)",
  SpanId: "span id of the SERVER span (hex)",
  ClientAddress: "client address (forwarding headers only when trusted)",
  DownstreamRemoteAddress: "peer address:port of the client connection",
  DownstreamLocalAddress: "local address:port the request arrived on",
};

export function isStandardLogField(name: string): boolean {
  return Object.hasOwn(STANDARD_LOG_FIELDS, name);
}
