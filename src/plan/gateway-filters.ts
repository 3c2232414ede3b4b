// The filters a Gateway's TrafficPolicy adds to each rule served through it, where nothing
// route-level sets the same section:
// - its local rate limit, as a filter of that rule named for the rule in metrics, drawing on
//   one bucket per Gateway and port (as kgateway gives each port of a Gateway its own route
//   configuration, and so its own bucket);
// - its global rate limit, named for the rule likewise, unless a route-level policy gives the
//   rule one;
// - its header modifiers, before the rule's own, so the HTTPRoute's have the last word;
// - its rbac, its acl and its csrf, which a route-level policy's replace whole (the most
//   specific is enforced);
// - its buffer, unless a route-level policy buffers the rule or turns buffering off;
// - its faultInjection, unless a route-level policy gives the rule one or turns it off;
// - its compression, unless a route-level policy gives the rule one or turns it off;
// - its cors, unless the rule has a CORS filter of its own (its HTTPRoute filter or a
//   route-level policy's) or a route-level policy's `cors.disable`;
// - its jwtAuth, its basicAuth and its apiKeyAuth, each unless a route-level policy gives the rule one or turns it off;
// - its extAuth, unless the rule has an ExternalAuth of its own (its HTTPRoute filter or a
//   route-level policy's) or a route-level policy's `extAuth.disable`.
import type { FilterModel, GatewayPolicies, RuleModel } from "../config/model.ts";
import { hasPolicyHeaderModifiers } from "../config/traffic-header-modifiers.ts";

export interface FiltersThrough {
  /** `rule.filters` as requests through the Gateway meet them: the same array when it adds nothing. */
  readonly models: readonly FilterModel[];
  /** What sets these filters apart from the rule's own: '' when nothing does. */
  readonly variant: string;
}

/** `gateway`: what the Gateway, or the listener the rule is reached through, gives (GatewayModel.listenerPolicies). */
export function filtersThrough(rule: RuleModel, gateway: GatewayPolicies, port: number, routeKey: string): FiltersThrough {
  const limit = gateway.rateLimit;
  const addsLimit = limit !== undefined && !rule.filters.some((f) => f.type === "LocalRateLimit" || f.type === "NoLocalRateLimit");
  const modifiers = gateway.headerModifiers;
  const addsModifiers = modifiers !== undefined && !hasPolicyHeaderModifiers(rule.filters);
  const authorization = gateway.authorization;
  const addsAuthorization = authorization !== undefined && !rule.filters.some((f) => f.type === "Authorization");
  const acl = gateway.acl;
  const addsAcl = acl !== undefined && !rule.filters.some((f) => f.type === "ClientAcl");
  const faultInjection = gateway.faultInjection;
  const addsFaultInjection = faultInjection !== undefined && !rule.filters.some((f) => f.type === "FaultInjection" || f.type === "NoFaultInjection");
  const compression = gateway.compression;
  const addsCompression = compression !== undefined && !rule.filters.some((f) => f.type === "Compression" || f.type === "NoCompression");
  const cors = gateway.cors;
  const addsCors = cors !== undefined && !rule.filters.some((f) => f.type === "CORS" || f.type === "NoCors");
  const csrf = gateway.csrf;
  const addsCsrf = csrf !== undefined && !rule.filters.some((f) => f.type === "Csrf");
  const global = gateway.globalRateLimit;
  const addsGlobal = global !== undefined && !rule.filters.some((f) => f.type === "GlobalRateLimit");
  const buffer = gateway.buffer;
  const addsBuffer = buffer?.type === "Buffer" && !rule.filters.some((f) => f.type === "Buffer" || f.type === "NoBuffer");
  const externalAuth = gateway.externalAuth;
  const addsExternalAuth = externalAuth !== undefined && !rule.filters.some((f) => f.type === "ExternalAuth" || f.type === "NoExternalAuth");
  const basicAuth = gateway.basicAuth;
  const addsBasicAuth = basicAuth !== undefined && !rule.filters.some((f) => f.type === "BasicAuth" || f.type === "NoBasicAuth");
  const apiKeyAuth = gateway.apiKeyAuth;
  const addsApiKeyAuth = apiKeyAuth !== undefined && !rule.filters.some((f) => f.type === "ApiKeyAuth" || f.type === "NoApiKeyAuth");
  const jwtAuth = gateway.jwtAuth;
  const addsJwtAuth = jwtAuth !== undefined && !rule.filters.some((f) => f.type === "JwtAuth" || f.type === "NoJwtAuth");
  if (!addsLimit && !addsModifiers && !addsCors && !addsAuthorization && !addsAcl && !addsCsrf && !addsFaultInjection && !addsCompression && !addsGlobal && !addsBuffer && !addsExternalAuth && !addsBasicAuth && !addsApiKeyAuth && !addsJwtAuth) return { models: rule.filters, variant: "" };
  const ruleName = rule.name ?? `rule-${rule.index}`;
  const bucketKey = addsLimit ? `${limit.bucketKey} port ${port}` : "";
  return {
    models: [
      ...(addsModifiers ? modifiers.filters : []),
      ...rule.filters,
      ...(addsCors ? [cors.filter] : []),
      ...(addsAuthorization ? [authorization] : []),
      ...(addsAcl ? [acl] : []),
      ...(addsCsrf ? [csrf] : []),
      ...(addsFaultInjection ? [faultInjection] : []),
      ...(addsCompression ? [compression] : []),
      ...(addsLimit ? [{ ...limit, bucketKey, routeName: routeKey, ruleName }] : []),
      ...(addsGlobal ? [{ ...global, routeName: routeKey, ruleName }] : []),
      ...(addsBuffer ? [buffer] : []),
      ...(addsExternalAuth ? [externalAuth] : []),
      ...(addsBasicAuth ? [basicAuth] : []),
      ...(addsApiKeyAuth ? [apiKeyAuth] : []),
      ...(addsJwtAuth ? [jwtAuth] : []),
    ],
    variant: `${bucketKey}|${addsModifiers ? modifiers.policyName : ""}|${addsCors ? cors.policy : ""}|${addsAuthorization ? authorization.policy : ""}|${addsAcl ? acl.policy : ""}|${addsCsrf ? csrf.policy : ""}|${addsFaultInjection ? faultInjection.policy : ""}|${addsCompression ? compression.policy : ""}|${addsGlobal ? global.policyName : ""}|${addsBuffer ? buffer.policyName : ""}|${addsExternalAuth ? externalAuth.policyName : ""}|${addsBasicAuth ? basicAuth.policy : ""}|${addsApiKeyAuth ? apiKeyAuth.policy : ""}|${addsJwtAuth ? jwtAuth.policy : ""}`,
  };
}
