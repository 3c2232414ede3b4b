// kgateway's TrafficPolicy `rbac`: CEL expressions over the request and client IP ranges,
// checked here (each expression compiled and type-checked, each range parsed) so the proxy
// only ever compiles what is known to be good.
import { AUTHORIZATION_VARIABLE_NAMES, compileAuthorizationExpression } from "../cel/authorization-environment.ts";
import { checkMatchesPatterns } from "./cel-patterns.ts";
import { IPV4_MAPPED_HINT, IPV4_MAPPED_WARNING, holdsIpv4Mapped, parseCidr } from "./cidr.ts";
import type { AuthorizationModel } from "./model.ts";
import { type Reporter, type Resource, type Segments, key } from "./resources.ts";

export function policyAuthorization(p: Resource, reporter: Reporter, cfg: Record<string, unknown>): AuthorizationModel | undefined {
  const at = ["spec", "rbac", "policy"];
  const policy = cfg["policy"] as Record<string, unknown>;
  const expressions = (policy["matchExpressions"] as string[] | undefined) ?? [];
  const allowed = (policy["allowedCIDRs"] as string[] | undefined) ?? [];
  const blocked = (policy["blockedCIDRs"] as string[] | undefined) ?? [];
  if (expressions.length + allowed.length + blocked.length === 0) {
    reporter.error(p, at, "the policy sets no condition: one of matchExpressions, allowedCIDRs or blockedCIDRs is needed", "add matchExpressions: [\"request.headers['x-role'] == 'admin'\"] or allowedCIDRs: [10.0.0.0/8]");
    return undefined;
  }
  let usable = true;
  expressions.forEach((expr, i) => {
    usable = checkedExpression(p, reporter, expr, [...at, "matchExpressions", i]) && usable;
  });
  for (const [field, list] of [["allowedCIDRs", allowed], ["blockedCIDRs", blocked]] as const) {
    list.forEach((text, i) => {
      const cidr = parseCidr(text);
      if (!("problem" in cidr)) {
        if (holdsIpv4Mapped(cidr)) reporter.warn(p, [...at, field, i], IPV4_MAPPED_WARNING, IPV4_MAPPED_HINT);
        return;
      }
      reporter.error(p, [...at, field, i], `invalid CIDR: ${cidr.problem}`, "write an address and a prefix length, such as 10.0.0.0/8 or 2001:db8::/32");
      usable = false;
    });
  }
  if (!usable) return undefined;
  return { type: "Authorization", policy: key(p), action: (cfg["action"] as "Allow" | "Deny" | undefined) ?? "Allow", expressions, allowedCidrs: allowed, blockedCidrs: blocked };
}

function checkedExpression(p: Resource, reporter: Reporter, expr: string, at: Segments): boolean {
  const compiled = compileAuthorizationExpression(expr);
  if (!compiled.ok) {
    reporter.errorInString(p, at, compiled.offset, `invalid CEL expression: ${compiled.message}`, `variables: ${AUTHORIZATION_VARIABLE_NAMES} (see docs/configuration.md)`);
    return false;
  }
  // A pattern built from the request is refused outright: the check runs before forwarding.
  return checkMatchesPatterns(p, reporter, at, compiled.program, "error");
}
