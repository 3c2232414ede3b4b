// Header hygiene between client and upstream: hop-by-hop headers and the names listed in
// `Connection` never cross the proxy (RFC 9110 §7.6.1), and X-Forwarded-* are appended or
// replaced according to the listener's trust setting. One outgoing object per request.
import type { ListenerSettings } from "../config/model.ts";
import type { IncomingHttpHeaders } from "node:http";
import type { OutgoingHeaders } from "../telemetry/hooks.ts";

/**
 * Names listed in a Connection header besides the usual `keep-alive`/`close`/`upgrade`, or
 * undefined when there are none (the common case, which allocates nothing).
 */
export function connectionTokens(value: string | string[] | undefined): string[] | undefined {
  if (value === undefined) return undefined;
  const text = typeof value === "string" ? value : value.join(",");
  if (text.indexOf(",") < 0) {
    const single = text.trim().toLowerCase();
    if (single === "keep-alive" || single === "close" || single === "upgrade" || single === "") return undefined;
    return [single];
  }
  let tokens: string[] | undefined;
  for (const part of text.split(",")) {
    const token = part.trim().toLowerCase();
    if (token === "" || token === "close") continue;
    (tokens ??= []).push(token);
  }
  return tokens;
}

/** True for the headers that only describe one connection and are never forwarded. */
export function isHopByHop(name: string): boolean {
  switch (name) {
    case "connection":
    case "keep-alive":
    case "proxy-connection":
    case "te":
    case "trailer":
    case "transfer-encoding":
    case "upgrade":
    case "proxy-authenticate":
    case "proxy-authorization":
    case "http2-settings":
      return true;
    default:
      return false;
  }
}

const X_FORWARDED = "x-forwarded-";
const X_ENVOY = "x-envoy-";

/**
 * Copies the client's headers into the one object sent upstream, minus hop-by-hop headers,
 * `Expect` (the proxy answers 100-continue itself) and, when forwarding headers are not
 * trusted, every incoming `X-Forwarded-*`, `Forwarded` and `X-Envoy-*`: an external client
 * must not set what the gateway's own access log (X-Envoy-Original-Path) or an Envoy behind
 * it (X-Envoy-Retry-On, ...) take as set by a proxy. Then writes X-Forwarded-For,
 * -Proto and -Host: appended to the trusted incoming values, or replacing them.
 */
export function buildUpstreamHeaders(
  incoming: IncomingHttpHeaders,
  forwarding: Pick<ListenerSettings, "trustForwardedHeaders" | "skipXffAppend">,
  peerAddress: string,
  connectionScheme: string,
  hostHeader: string | undefined,
): OutgoingHeaders {
  const out: OutgoingHeaders = {};
  const trustForwarded = forwarding.trustForwardedHeaders;
  const listed = connectionTokens(incoming.connection);
  for (const name in incoming) {
    switch (name) {
      case "connection":
      case "keep-alive":
      case "proxy-connection":
      case "te":
      case "trailer":
      case "transfer-encoding":
      case "upgrade":
      case "proxy-authenticate":
      case "proxy-authorization":
      case "http2-settings":
      case "expect":
      case "x-forwarded-for":
      case "x-forwarded-proto":
      case "x-forwarded-host":
        continue;
      case "forwarded":
        if (!trustForwarded) continue;
        break;
      default:
        if (!trustForwarded && name.charCodeAt(0) === 120 && (name.startsWith(X_FORWARDED) || name.startsWith(X_ENVOY))) continue;
    }
    // The gateway's own X-Request-Id replaced one a client named in Connection (request-id.ts).
    if (listed !== undefined && listed.includes(name) && name !== "x-request-id") continue;
    const value = incoming[name];
    if (value !== undefined) out[name] = value;
  }
  // An absolute-form target's authority replaces the received Host (RFC 9112 §3.2.2).
  if (hostHeader !== undefined && out.host !== hostHeader) out.host = hostHeader;
  if (trustForwarded) {
    // skipXFFAppend: the trusted chain goes on as it came, without the gateway's peer.
    const chain = incoming["x-forwarded-for"];
    if (!forwarding.skipXffAppend) out["x-forwarded-for"] = appendListValue(chain, peerAddress);
    else if (chain !== undefined) out["x-forwarded-for"] = chain;
    out["x-forwarded-proto"] = appendListValue(incoming["x-forwarded-proto"], connectionScheme);
    if (hostHeader !== undefined) out["x-forwarded-host"] = appendListValue(incoming["x-forwarded-host"], hostHeader);
    else if (incoming["x-forwarded-host"] !== undefined) out["x-forwarded-host"] = incoming["x-forwarded-host"];
  } else {
    // An untrusted client's chain is never passed on; with skipXFFAppend nothing replaces it.
    if (!forwarding.skipXffAppend) out["x-forwarded-for"] = peerAddress;
    out["x-forwarded-proto"] = connectionScheme;
    if (hostHeader !== undefined) out["x-forwarded-host"] = hostHeader;
  }
  return out;
}

function appendListValue(existing: string | string[] | undefined, value: string): string {
  if (existing === undefined || existing === "") return value;
  return typeof existing === "string" ? `${existing}, ${value}` : `${existing.join(", ")}, ${value}`;
}

/**
 * True for `Transfer-Encoding: chunked` and nothing else. The gateway forwards de-chunked
 * bytes, so any other coding (gzip, deflate) would reach the far side still applied but no
 * longer declared; repeated Transfer-Encoding lines never qualify.
 */
export function isChunkedAlone(value: string | readonly string[]): boolean {
  return typeof value === "string" && value.length >= 7 && value.trim().toLowerCase() === "chunked";
}

/**
 * The response headers to forward as the flat `[name, value, ...]` list writeHead takes:
 * one pass over the object undici parsed, leaving out hop-by-hop headers and the names the
 * upstream's Connection header lists. Deleting from undici's object instead turns it into
 * a slow dictionary that writeHead then walks.
 */
export function forwardedResponseHeaders(headers: Record<string, string | string[] | undefined>): (string | string[])[] {
  const connection = headers.connection;
  const listed = connection === undefined ? undefined : connectionTokens(connection);
  const out: (string | string[])[] = [];
  for (const name in headers) {
    if (isHopByHop(name)) continue;
    if (listed !== undefined && listed.includes(name)) continue;
    const value = headers[name];
    if (value !== undefined) out.push(name, value);
  }
  return out;
}

/** Removes hop-by-hop response headers in place from the object undici parsed for us. */
export function stripResponseHopByHop(headers: Record<string, string | string[] | undefined>): void {
  const listed = headers.connection === undefined ? undefined : connectionTokens(headers.connection);
  if (headers.connection !== undefined) delete headers.connection;
  if (headers["keep-alive"] !== undefined) delete headers["keep-alive"];
  if (headers["transfer-encoding"] !== undefined) delete headers["transfer-encoding"];
  if (headers["proxy-connection"] !== undefined) delete headers["proxy-connection"];
  if (headers.te !== undefined) delete headers.te;
  if (headers.trailer !== undefined) delete headers.trailer;
  if (headers.upgrade !== undefined) delete headers.upgrade;
  if (headers["proxy-authenticate"] !== undefined) delete headers["proxy-authenticate"];
  if (headers["proxy-authorization"] !== undefined) delete headers["proxy-authorization"];
  if (headers["http2-settings"] !== undefined) delete headers["http2-settings"];
  if (listed !== undefined) for (const name of listed) delete headers[name];
}

/** Header fields in a parsed head: a name undici joined from several lines counts each. */
export function headerFieldCount(headers: Readonly<Record<string, string | string[] | undefined>>): number {
  let count = 0;
  for (const name in headers) {
    const value = headers[name];
    if (value !== undefined) count += typeof value === "string" ? 1 : value.length;
  }
  return count;
}
