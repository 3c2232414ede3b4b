// Listener maxRequestsPerConnection (Envoy's max_requests_per_connection downstream): the
// connection's last allowed request is answered with `Connection: close` and the connection
// ends after it. node's own maxRequestsPerSocket only writes the header, keeps the connection
// open until the keep-alive timeout, and answers requests past the limit with a 503 of its own
// that no telemetry sees.
import type { Socket } from "node:net";

const kRequestsServed = Symbol("tollgate.requestsServed");

interface CountedSocket {
  [kRequestsServed]?: number;
}

/** Counts one more request on `socket`; true when it is the last of `max` the connection may carry. */
export function isLastAllowedRequest(socket: Socket, max: number): boolean {
  const counted = socket as Socket & CountedSocket;
  const served = (counted[kRequestsServed] ?? 0) + 1;
  counted[kRequestsServed] = served;
  return served >= max;
}
