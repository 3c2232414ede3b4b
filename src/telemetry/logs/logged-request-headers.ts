// Which request headers an access log shows: the request as the gateway forwarded it, as
// Envoy's %REQ(...)% reads its own, already rewritten header map. X-Forwarded-For is the
// gateway's (a client's value counts only when the listener trusts it), Host is the
// absolute-form authority or a rewritten hostname, and request header filters have run.
// Headers the gateway itself never forwards (the hop-by-hop ones such as Connection and
// Proxy-Authorization, and Expect) show as received, unless a filter set one for the
// upstream. Names a client lists in Connection do not: that would let it bring back a header
// the gateway removed (a forged X-Envoy-Original-Path). X-Envoy-Original-Path carries a
// query, so its credentials are redacted as in :path; so are those of the other URL-valued
// headers (Referer, ...). Spans keep every header as received:
// there semconv describes what the server got.
import type { Exchange } from "../../proxy/exchange.ts";
import { isHopByHop } from "../../proxy/headers.ts";
import { forwardingHeaders } from "../../proxy/upstream-request.ts";
import { headerValue } from "../metrics/value-sources.ts";
import { shownHeaderValue } from "../trace/attributes.ts";
import type { HeaderBag } from "../response-headers.ts";

/** The forwarded headers; for a request answered without an upstream (404, redirect, refusal), what would have been forwarded before filters. */
export function forwardedViewOf(ex: Exchange): HeaderBag {
  return ex.forwardedHeaders ?? forwardingHeaders(ex);
}

/** True for a received header the gateway consumes by name instead of forwarding. */
function consumedByGateway(name: string): boolean {
  return isHopByHop(name) || name === "expect";
}

/** One request header as access logs show it; `forwarded` is forwardedViewOf(ex). */
export function loggedRequestHeader(ex: Exchange, forwarded: HeaderBag, name: string): string | undefined {
  const value = headerValue(forwarded, name) ?? (consumedByGateway(name) ? headerValue(ex.req.headers, name) : undefined);
  return value === undefined ? undefined : shownHeaderValue(name, value);
}

/**
 * One request header in the view access logs read, its credentials not redacted (for an
 * access log filter, as Envoy's HeaderFilter reads its rewritten header map). A header the
 * client repeated and the gateway left alone is its values joined with `,`, as Envoy joins
 * them (node joins them with `, `).
 */
export function requestHeaderAsLogged(ex: Exchange, forwarded: HeaderBag, name: string): string | undefined {
  const value = headerValue(forwarded, name);
  if (value !== undefined) {
    const distinct = ex.req.headersDistinct[name];
    return distinct !== undefined && distinct.length > 1 && value === headerValue(ex.req.headers, name) ? distinct.join(",") : value;
  }
  return consumedByGateway(name) ? headerValue(ex.req.headers, name) : undefined;
}

/** Every request header as access logs show it (for CEL's `request.headers`); `forwarded` is forwardedViewOf(ex). */
export function loggedRequestHeaders(ex: Exchange, forwarded: HeaderBag): HeaderBag {
  const received = ex.req.headers;
  let merged: Record<string, string | string[] | number | undefined> | undefined;
  for (const name in received) {
    if (forwarded[name] !== undefined || received[name] === undefined) continue;
    if (consumedByGateway(name)) (merged ??= { ...forwarded })[name] = received[name];
  }
  return merged ?? forwarded;
}

