// kgateway's TrafficPolicy `extAuth`: every request of the rules it covers is checked by the
// authorization service its `extensionRef` GatewayExtension names, before anything else of
// the rule runs (the same check as the HTTPRoute ExternalAuth filter). The policy may send
// the body (`withRequestBody`, replacing the extension's) and context extensions (gRPC).
// `disable: {}` exempts a route's rules from their Gateway's extAuth; kgateway v2.0 wrote it
// `enablement: DisableAll`, which means the same and loads the same.
import type { GatewayExtensions } from "./gateway-extensions.ts";
import { readExtAuthBody } from "./ext-auth-provider.ts";
import type { FilterModel } from "./model.ts";
import type { Reporter, Resource } from "./resources.ts";
import { key } from "./resources.ts";

export type PolicyExternalAuthModel = Extract<FilterModel, { type: "ExternalAuth" | "NoExternalAuth" }>;

/** Whether an `extAuth` turns the check off: `disable: {}`, or kgateway v2.0's `enablement: DisableAll`. */
export function extAuthDisables(cfg: Record<string, unknown>): boolean {
  return cfg["disable"] !== undefined || cfg["enablement"] !== undefined;
}

export function policyExternalAuth(p: Resource, reporter: Reporter, cfg: Record<string, unknown>, extensions: GatewayExtensions): PolicyExternalAuthModel | undefined {
  const at = ["spec", "extAuth"];
  const ref = cfg["extensionRef"] as { name: string; namespace?: string } | undefined;
  // Two spellings of one switch, from two kgateway versions: one policy says it once.
  if (cfg["disable"] !== undefined && cfg["enablement"] !== undefined) {
    reporter.error(p, [...at, "enablement"], "enablement and disable are both set; enablement: DisableAll is kgateway v2.0's spelling of disable: {}", "keep disable: {} alone");
    return undefined;
  }
  const off = extAuthDisables(cfg) ? (cfg["disable"] !== undefined ? "disable" : "enablement") : undefined;
  if ((ref === undefined) === (off === undefined)) {
    reporter.error(p, at, ref === undefined ? "extAuth needs extensionRef or disable" : `extensionRef and ${off} are both set; extAuth holds exactly one`, "write extensionRef: {name: <GatewayExtension>} to check requests, or disable: {} to exempt the rules from their Gateway's extAuth");
    return undefined;
  }
  if (ref === undefined) {
    for (const field of ["withRequestBody", "contextExtensions"]) {
      if (cfg[field] !== undefined) reporter.warn(p, [...at, field], `${field} does nothing beside ${off}: the rules are not checked`, `remove ${field}`);
    }
    return { type: "NoExternalAuth" };
  }
  const provider = extensions.externalAuthProvider(p, ref, [...at, "extensionRef"]);
  if (provider === undefined) return undefined;
  const contextExtensions = (cfg["contextExtensions"] ?? {}) as Record<string, string>;
  if (provider.protocol === "HTTP" && Object.keys(contextExtensions).length > 0) {
    reporter.warn(p, [...at, "contextExtensions"], `contextExtensions are not sent: GatewayExtension ${provider.name} is an HTTP service, and only gRPC checks carry them`, "remove contextExtensions, or use a gRPC service");
  }
  const body = cfg["withRequestBody"] === undefined ? provider.body : readExtAuthBody(p, reporter, cfg["withRequestBody"] as Record<string, unknown>, [...at, "withRequestBody"]);
  return {
    type: "ExternalAuth",
    protocol: provider.protocol,
    backendKey: provider.backendKey,
    pathPrefix: provider.pathPrefix,
    allowedRequestHeaders: provider.allowedRequestHeaders,
    allowedResponseHeaders: provider.allowedResponseHeaders,
    answerHeadersWhenUnlisted: "none",
    forwardBodyBytes: body?.maxBytes ?? 0,
    bodyAsBytes: body?.asBytes ?? false,
    policyName: key(p),
    timeoutMs: provider.timeoutMs,
    failOpen: provider.failOpen,
    statusOnError: provider.statusOnError,
    percentEnabled: provider.percentEnabled,
    contextExtensions: provider.protocol === "GRPC" ? { ...contextExtensions } : {},
    checkHeadersToAdd: provider.checkHeadersToAdd,
    clientHeadersOnDenial: provider.clientHeadersOnDenial,
    clientHeadersOnSuccess: provider.clientHeadersOnSuccess,
  };
}
