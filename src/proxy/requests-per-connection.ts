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

/** Where a request stands among the `max` its connection may carry. */
export type RequestTurn = "within" | "last" | "past";

/**
 * Counts one more request on `socket`. A request `past` the limit was pipelined behind the
 * last allowed one: Envoy's codec never reads it, so it is neither served nor logged, and the
 * connection closes after the last allowed answer.
 */
export function requestTurn(socket: Socket, max: number): RequestTurn {
  const counted = socket as Socket & CountedSocket;
  const served = (counted[kRequestsServed] ?? 0) + 1;
  counted[kRequestsServed] = served;
  return served < max ? "within" : served === max ? "last" : "past";
}
