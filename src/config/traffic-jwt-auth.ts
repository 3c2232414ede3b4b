// kgateway's TrafficPolicy `jwtAuth` (Envoy's jwt_authn filter): every request of the rules it
// covers needs a token one of the JWT providers of its `extensionRef` GatewayExtension
// verifies. `disable: {}` exempts a route's rules from their Gateway's jwtAuth.
import type { GatewayExtensions } from "./gateway-extensions.ts";
import type { FilterModel } from "./model.ts";
import type { Reporter, Resource } from "./resources.ts";
import { key } from "./resources.ts";

export type JwtAuthModel = Extract<FilterModel, { type: "JwtAuth" | "NoJwtAuth" }>;

export function policyJwtAuth(p: Resource, reporter: Reporter, cfg: Record<string, unknown>, extensions: GatewayExtensions): JwtAuthModel | undefined {
  const at = ["spec", "jwtAuth"];
  const ref = cfg["extensionRef"] as { name: string; namespace?: string } | undefined;
  if ((ref === undefined) === (cfg["disable"] === undefined)) {
    reporter.error(p, at, ref === undefined ? "jwtAuth needs extensionRef or disable" : "extensionRef and disable are both set; jwtAuth holds exactly one", "write extensionRef: {name: <GatewayExtension with spec.jwt>} to verify tokens, or disable: {} to exempt the rules from their Gateway's jwtAuth");
    return undefined;
  }
  if (ref === undefined) return { type: "NoJwtAuth" };
  const set = extensions.jwtProviders(p, ref, [...at, "extensionRef"]);
  if (set === undefined) return undefined;
  return { type: "JwtAuth", policy: key(p), extension: set.name, allowMissing: set.allowMissing, providers: set.providers };
}
