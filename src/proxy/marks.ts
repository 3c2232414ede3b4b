// Symbols the proxy hangs on node's ServerResponse so listeners shared by every request
// (close, drain, clientError) find that request's state without a closure per request.
import type { ServerResponse } from "node:http";
import type { Exchange } from "./exchange.ts";
import type { StallWatch } from "./stall-watch.ts";

export const kExchange = Symbol("tollgate.exchange");
export const kCall = Symbol("tollgate.proxyCall");
/** The proxy itself cut the connection; a close without finish is then not a client abort. */
export const kCutByProxy = Symbol("tollgate.cutByProxy");
/** The stream idle watch of a gateway's own answer the client has not taken yet (answer-stall.ts). */
export const kStallWatch = Symbol("tollgate.answerStallWatch");

/** The call type stays opaque here so this module depends on no proxy logic. */
export interface MarkedResponse<Call = unknown> extends ServerResponse {
  [kExchange]?: Exchange | undefined;
  [kCall]?: Call | undefined;
  [kCutByProxy]?: boolean;
  [kStallWatch]?: StallWatch | undefined;
}
