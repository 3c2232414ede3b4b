// The CEL activation for access-log filters (variables declared in src/cel/environment.ts),
// built at most once per request and only when some access log of the gateway filters.
import { celDuration, type AccessLogActivation } from "../../cel/environment.ts";
import type { Exchange } from "../../proxy/exchange.ts";
import { protocolName } from "./envoy-render.ts";
import type { RequestFacts } from "./facts.ts";
import { responseHeadersOf, type HeaderBag } from "../response-headers.ts";
import { responseCodeDetails } from "./envoy-render.ts";
import { loggedRequestHeaders } from "./logged-request-headers.ts";
import { celConnectionTls } from "./downstream-tls.ts";


function flatHeaders(headers: HeaderBag): Record<string, string> {
  const out: Record<string, string> = {};
  for (const k in headers) {
    const v = headers[k];
    if (v !== undefined) out[k] = typeof v === "string" ? v : Array.isArray(v) ? v.join(", ") : String(v);
  }
  return out;
}

/** `forwarded` is forwardedViewOf(ex). */
export function activationOf(ex: Exchange, f: RequestFacts, forwarded: HeaderBag): AccessLogActivation {
  const r = f.rule;
  const g = r?.gateway ?? ex.listener.gateways[0];
  return {
    request: {
      method: f.method,
      path: f.query === "" ? f.path : `${f.path}?${f.query}`,
      url_path: f.path,
      query: f.query,
      host: f.requestHeaders[0] ?? f.serverAddress,
      scheme: f.scheme,
      protocol: protocolName(f),
      headers: flatHeaders(loggedRequestHeaders(ex, forwarded)),
      useragent: f.userAgent ?? "",
      id: f.requestHeaders[1] ?? "",
      size: BigInt(f.bytesReceived),
      duration: celDuration(f.durationMs),
      time: new Date(f.startTimeMs),
    },
    response: {
      code: BigInt(f.status),
      code_details: responseCodeDetails(f),
      flags: f.responseFlags,
      headers: flatHeaders(responseHeadersOf(ex)),
      size: BigInt(f.bytesSent),
    },
    connection: {
      id: BigInt(f.connectionId),
      client_address: f.clientAddress,
      client_port: BigInt(f.peerPort),
      ...celConnectionTls(f.downstreamTls),
    },
    upstream: { address: f.upstreamHost ?? "", port: BigInt(f.upstreamEndpoint?.port ?? 0) },
    route: {
      name: r?.route.ref.name ?? "",
      namespace: r?.route.ref.namespace ?? "",
      rule: r?.ruleName ?? "",
      gateway: g === undefined ? "" : `${g.ref.namespace}/${g.ref.name}`,
      listener: f.listenerName ?? "",
      backend: f.backendName ?? "",
    },
  };
}
