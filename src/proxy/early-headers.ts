// kgateway's earlyRequestHeaderModifier (Envoy's early_header_mutation): a listener's header
// changes made as the request arrives, before anything reads its headers, so routing, the
// route's own checks, telemetry and the upstream all see the changed request.
import type { HeaderModifierModel } from "../config/model.ts";

type HeaderView = Record<string, string | string[] | undefined>;

/**
 * Applies `modifier` to the received headers in place: set, then add, then remove, as a
 * route's RequestHeaderModifier. A header it sets or adds is the gateway's own: a client that
 * names it in Connection cannot make it hop-by-hop and so keep it from the upstream.
 */
export function applyEarlyHeaders(modifier: HeaderModifierModel, headers: HeaderView): void {
  for (const { name, value } of modifier.set) headers[name] = value;
  for (const { name, value } of modifier.add) {
    const existing = headers[name];
    if (existing === undefined) headers[name] = value;
    else if (Array.isArray(existing)) existing.push(value);
    else headers[name] = `${existing},${value}`;
  }
  for (const name of modifier.remove) delete headers[name];
  const connection = headers["connection"];
  if (connection !== undefined && (modifier.set.length > 0 || modifier.add.length > 0)) headers["connection"] = withoutTokens(connection, modifier);
}

/** The Connection value without the names the modifier set or added. */
function withoutTokens(connection: string | string[], modifier: HeaderModifierModel): string {
  const written = new Set([...modifier.set, ...modifier.add].map((op) => op.name));
  const tokens = (typeof connection === "string" ? connection : connection.join(",")).split(",").map((token) => token.trim());
  return tokens.filter((token) => token !== "" && !written.has(token.toLowerCase())).join(", ");
}
