// Which header names a policy may read from or write to: names the gateway can read (RFC 9110
// tokens), and not the headers the gateway frames or sets itself, where a value from a policy
// would break or forge the request.

// RFC 9110 token.
const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
const GATEWAY_HEADERS = new Set(["host", "content-length", "transfer-encoding", "connection", "keep-alive", "proxy-connection", "te", "trailer", "upgrade", "expect", "forwarded", "x-forwarded-for", "x-forwarded-proto", "x-forwarded-host", "x-envoy-original-path", "x-request-id", "traceparent", "tracestate"]);

export const isHeaderName = (name: string): boolean => TOKEN.test(name) && name !== "__proto__";

/** The gateway's own: the headers above, and X-Envoy-* (x-envoy-basic-auth-user, x-envoy-original-path, ...). */
export const isGatewayHeader = (name: string): boolean => GATEWAY_HEADERS.has(name.toLowerCase()) || name.toLowerCase().startsWith("x-envoy-");
