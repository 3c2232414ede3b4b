// Requests an access control refused, per route, rule, the TrafficPolicy that refused them and
// its kind (`tollgate.access_control.denied`), as Envoy counts `rbac.denied` per filter: a
// dashboard can tell a policy that works from one that locks clients out without reading
// access logs.
import { RuleCounts } from "./rule-counts.ts";

export type AccessControlKind = "rbac" | "acl" | "basic_auth" | "api_key_auth" | "jwt_auth" | "csrf";

export class AccessDenials extends RuleCounts<AccessControlKind> {}
