// kgateway's TrafficPolicy `acl`: client IP rules where the longest matching prefix decides,
// a default action, and the answer a denied request gets. Checked here so the proxy builds
// its ranges and its denial from values known to be good.
import { IPV4_MAPPED_HINT, IPV4_MAPPED_WARNING, holdsIpv4Mapped, parseCidr } from "./cidr.ts";
import type { ClientAclModel } from "./model.ts";
import { FIELD_VALUE_HINT, HTTP_TOKEN_HINT, isFieldValue, isHttpToken } from "./name-formats.ts";
import { isGatewayFramedResponseHeader } from "./resolve-filters.ts";
import { type Reporter, type Resource, key } from "./resources.ts";

type AclAction = "allow" | "deny";

/** Statuses RFC 9110 says a response must carry a header with. */
const HEADER_A_STATUS_NEEDS: Readonly<Record<number, string>> = { 401: "www-authenticate", 405: "allow", 407: "proxy-authenticate" };

export function policyClientAcl(p: Resource, reporter: Reporter, cfg: Record<string, unknown>): ClientAclModel | undefined {
  const at = ["spec", "acl"];
  let usable = true;
  const rules = ((cfg["rules"] as Record<string, unknown>[] | undefined) ?? []).map((rule, i) => {
    const cidrs = rule["cidrs"] as string[];
    const name = rule["name"] as string | undefined;
    // The name is what the blocked-by header says.
    if (name !== undefined && !isFieldValue(name)) {
      reporter.error(p, [...at, "rules", i, "name"], "the name holds a character no HTTP header may carry", FIELD_VALUE_HINT);
      usable = false;
    }
    cidrs.forEach((text, j) => {
      const cidr = parseCidr(text);
      if (!("problem" in cidr)) {
        if (holdsIpv4Mapped(cidr)) reporter.warn(p, [...at, "rules", i, "cidrs", j], IPV4_MAPPED_WARNING, IPV4_MAPPED_HINT);
        return;
      }
      reporter.error(p, [...at, "rules", i, "cidrs", j], `invalid CIDR: ${cidr.problem}`, "write an address, or an address and a prefix length, such as 10.0.0.0/8 or 2001:db8::/32");
      usable = false;
    });
    return { name, cidrs, action: rule["action"] as AclAction };
  });
  const deny = (cfg["denyResponse"] as Record<string, unknown> | undefined) ?? {};
  const status = (deny["statusCode"] as number | undefined) ?? 403;
  // A 2xx would log a refusal as a success, a 3xx redirect nowhere, a 1xx is no answer at all.
  if (status < 400) {
    reporter.error(p, [...at, "denyResponse", "statusCode"], `a denial must answer with a 4xx or 5xx status, not ${status}`, "use 403 (the default), or another 4xx such as 451");
    usable = false;
  }
  const seen = new Set<string>();
  const denyHeaders = ((deny["headers"] as { name: string; value: string }[] | undefined) ?? []).map((h, i) => {
    const where = [...at, "denyResponse", "headers", i];
    const name = h.name.toLowerCase();
    if (!isHttpToken(h.name)) reporter.error(p, [...where, "name"], `"${h.name}" is not a valid header name`, HTTP_TOKEN_HINT);
    else if (isGatewayFramedResponseHeader(h.name, h.value)) reporter.error(p, [...where, "name"], `header "${h.name}" cannot be set on a denial: the gateway writes it from how it frames the answer`, "remove this entry");
    else if (seen.has(name)) reporter.error(p, [...where, "name"], `header "${h.name}" is listed twice`, "list each header once");
    else if (!isFieldValue(h.value)) reporter.error(p, [...where, "value"], `the value of header "${h.name}" holds a character no HTTP header may carry`, FIELD_VALUE_HINT);
    else {
      seen.add(name);
      return { name, value: h.value };
    }
    usable = false;
    return { name, value: h.value };
  });
  const needed = HEADER_A_STATUS_NEEDS[status];
  if (needed !== undefined && !seen.has(needed)) {
    reporter.warn(p, [...at, "denyResponse", "statusCode"], `a ${status} answer needs a ${needed} header, which this denial does not carry`, `add {name: ${needed}, value: ...} to headers, or answer 403`);
  }
  const blockedBy = deny["blockedByHeaderName"] as string | undefined;
  if (blockedBy !== undefined && (!isHttpToken(blockedBy) || seen.has(blockedBy.toLowerCase()))) {
    const problem = isHttpToken(blockedBy) ? `"${blockedBy}" is also one of headers` : `"${blockedBy}" is not a valid header name`;
    reporter.error(p, [...at, "denyResponse", "blockedByHeaderName"], problem, isHttpToken(blockedBy) ? "name another header" : HTTP_TOKEN_HINT);
    usable = false;
  }
  if (!usable) return undefined;
  return {
    type: "ClientAcl",
    policy: key(p),
    defaultAction: cfg["defaultAction"] as AclAction,
    rules,
    denyStatus: status,
    denyHeaders,
    blockedByHeader: blockedBy?.toLowerCase(),
  };
}
