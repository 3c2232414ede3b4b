// X-Request-Id, as Envoy's `generate_request_id` (on by default in Envoy and kgateway):
// a request that arrives without one gets a random UUID before routing, so the upstream,
// span attributes, access logs (`%REQ(X-REQUEST-ID)%`, the GEP `RequestId` field) and CEL
// filters all see the same id. One the client sent is kept as it is, unless the client named
// it in Connection: that makes it hop-by-hop, so, as Envoy does (it strips such headers before
// generating), it is replaced by a generated one, which is forwarded.
import { randomUUID } from "node:crypto";
import type { IncomingHttpHeaders } from "node:http";
import { connectionTokens } from "./headers.ts";

export const REQUEST_ID_HEADER = "x-request-id";

export function ensureRequestId(headers: IncomingHttpHeaders): void {
  // Node's UUIDs come from a pre-filled entropy cache: no system call per request.
  if (headers[REQUEST_ID_HEADER] === undefined || connectionTokens(headers.connection)?.includes(REQUEST_ID_HEADER) === true) {
    headers[REQUEST_ID_HEADER] = randomUUID();
  }
}

/**
 * generateRequestId: false. An id the client sent is kept; one it named in Connection is
 * hop-by-hop and, with nothing to replace it, goes no further.
 */
export function keepClientRequestId(headers: IncomingHttpHeaders): void {
  if (headers[REQUEST_ID_HEADER] !== undefined && connectionTokens(headers.connection)?.includes(REQUEST_ID_HEADER) === true) delete headers[REQUEST_ID_HEADER];
}
