// The response headers as the client received them, for every signal that reads them
// (span header capture, metric overrides, access-log fields and CEL). The proxy passes
// forwarded headers straight to writeHead(), which getHeaders() misses, so it keeps them on
// the exchange; responses written another way are read back from the serialised head.
import type { Exchange } from "../proxy/exchange.ts";

export type HeaderBag = Readonly<Record<string, string | string[] | number | undefined>>;

/**
 * The response headers the client got. Proxied responses: the forwarded upstream headers
 * the proxy left on the exchange. Responses the proxy made itself: getHeaders(), plus the
 * serialised head for headers passed straight to writeHead() (which getHeaders() misses).
 */
export function responseHeadersOf(ex: Exchange): HeaderBag {
  if (ex.responseHeaders !== undefined) return ex.responseHeaders;
  const set = ex.res.getHeaders() as HeaderBag;
  const head = (ex.res as unknown as { _header?: unknown })._header;
  if (typeof head !== "string") return set;
  const out: Record<string, string | string[] | number | undefined> = { ...set };
  const lines = head.split("\r\n");
  for (let i = 1; i < lines.length; i++) {
    const line = lines[i]!;
    const colon = line.indexOf(":");
    if (colon <= 0) continue;
    const name = line.slice(0, colon).trim().toLowerCase();
    if (set[name] !== undefined) continue;
    const value = line.slice(colon + 1).trim();
    const prev = out[name];
    out[name] = prev === undefined ? value : Array.isArray(prev) ? [...prev, value] : [String(prev), value];
  }
  return out;
}
