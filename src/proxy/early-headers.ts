// kgateway's earlyRequestHeaderModifier (Envoy's early_header_mutation): a listener's header
// changes made as the request arrives, before anything reads its headers, so routing, the
// route's own checks, telemetry and the upstream all see the changed request.
import type { IncomingHttpHeaders } from "node:http";
import type { HeaderModifierModel } from "../config/model.ts";

/** Applies `modifier` to the received headers in place: set, then add, then remove, as a route's RequestHeaderModifier. */
export function applyEarlyHeaders(modifier: HeaderModifierModel, headers: IncomingHttpHeaders): void {
  for (const { name, value } of modifier.set) headers[name] = value;
  for (const { name, value } of modifier.add) {
    const existing = headers[name];
    if (existing === undefined) headers[name] = value;
    else if (Array.isArray(existing)) existing.push(value);
    else headers[name] = `${existing},${value}`;
  }
  for (const name of modifier.remove) delete headers[name];
}
