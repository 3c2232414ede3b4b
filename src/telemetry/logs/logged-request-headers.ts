// Which request headers an access log shows: the request as the gateway forwarded it, as
// Envoy's %REQ(...)% reads its own, already rewritten header map. X-Forwarded-For is the
// gateway's (a client's value counts only when the listener trusts it), Host is the
// absolute-form authority or a rewritten hostname, and request header filters have run.
// Hop-by-hop headers (Connection, Proxy-Authorization, ...) are never forwarded, so they
// show as received. Spans keep every header as received: there semconv describes what the
// server got.
import type { Exchange } from "../../proxy/exchange.ts";
import { isHopByHop } from "../../proxy/headers.ts";
import { forwardingHeaders } from "../../proxy/upstream-request.ts";
import { headerValue } from "../metrics/value-sources.ts";
import type { HeaderBag } from "../response-headers.ts";

/** The forwarded headers; for a request answered without an upstream (404, redirect, refusal), what would have been forwarded before filters. */
export function forwardedViewOf(ex: Exchange): HeaderBag {
  return ex.forwardedHeaders ?? forwardingHeaders(ex);
}

/** One request header as access logs show it; `forwarded` is forwardedViewOf(ex). */
export function loggedRequestHeader(ex: Exchange, forwarded: HeaderBag, name: string): string | undefined {
  return headerValue(isHopByHop(name) ? ex.req.headers : forwarded, name);
}

/** Every request header as access logs show it (for CEL's `request.headers`). */
export function loggedRequestHeaders(ex: Exchange): HeaderBag {
  const forwarded = forwardedViewOf(ex);
  const received = ex.req.headers;
  let merged: Record<string, string | string[] | number | undefined> | undefined;
  for (const name in received) {
    if (isHopByHop(name) && received[name] !== undefined) (merged ??= { ...forwarded })[name] = received[name];
  }
  return merged ?? forwarded;
}
