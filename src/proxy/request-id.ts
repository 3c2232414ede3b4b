// X-Request-Id, as Envoy's `generate_request_id` (on by default in Envoy and kgateway):
// a request that arrives without one gets a random UUID before routing, so the upstream,
// span attributes, access logs (`%REQ(X-REQUEST-ID)%`, the GEP `RequestId` field) and CEL
// filters all see the same id. One the client sent is kept as it is.
import { randomUUID } from "node:crypto";
import type { IncomingHttpHeaders } from "node:http";

export const REQUEST_ID_HEADER = "x-request-id";

export function ensureRequestId(headers: IncomingHttpHeaders): void {
  // Node's UUIDs come from a pre-filled entropy cache: no system call per request.
  if (headers[REQUEST_ID_HEADER] === undefined) headers[REQUEST_ID_HEADER] = randomUUID();
}
