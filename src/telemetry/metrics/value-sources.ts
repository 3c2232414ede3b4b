// Resolves policy value sources (Literal, Header, Metadata, environment) for metric
// attributes and log fields. Everything that is fixed for a rule is resolved at plan time;
// only header values and the chosen backend are read per request.
import { canonicalMetadataKey } from "../../config/metadata-keys.ts";
import type { CustomAttributeModel, GatewayModel } from "../../config/model.ts";
import type { CompiledRule } from "../../plan/types.ts";
import type { Exchange } from "../../proxy/exchange.ts";
import { envString, type Env } from "../env.ts";
import type { HeaderBag } from "../response-headers.ts";

/** A value known per rule, or read per request. */
export type CompiledSource =
  | { readonly kind: "static"; readonly value: string }
  | { readonly kind: "requestHeader"; readonly header: string; readonly defaultValue: string | undefined }
  | { readonly kind: "responseHeader"; readonly header: string; readonly defaultValue: string | undefined }
  | { readonly kind: "backend" }
  | { readonly kind: "absent" };

export interface RuleScope {
  readonly gateway: GatewayModel;
  readonly listenerName: string | undefined;
  readonly rule: CompiledRule | undefined;
}

/** Metadata keys (src/config/metadata-keys.ts) resolved for one rule; `backend` stays per request. */
export function metadataSource(key: string, scope: RuleScope): CompiledSource {
  const g = scope.gateway;
  const r = scope.rule;
  const stat = (v: string | undefined): CompiledSource => (v === undefined ? { kind: "absent" } : { kind: "static", value: v });
  switch (canonicalMetadataKey(key)) {
    case "gateway":
      return stat(`${g.ref.namespace}/${g.ref.name}`);
    case "gateway.name":
      return stat(g.ref.name);
    case "gateway.namespace":
      return stat(g.ref.namespace);
    case "listener":
      return stat(scope.listenerName ?? r?.listener.name);
    case "route":
      return stat(r?.routeKey);
    case "route.name":
      return stat(r?.route.ref.name);
    case "route.namespace":
      return stat(r?.route.ref.namespace);
    case "rule":
      return stat(r?.ruleName);
    case "backend":
      return { kind: "backend" };
    default:
      return { kind: "absent" };
  }
}

export function compileSource(attr: CustomAttributeModel, scope: RuleScope, env: Env): CompiledSource {
  const v = attr.value;
  switch (v.from) {
    case "literal":
      return { kind: "static", value: v.value };
    case "environment": {
      const value = envString(env, v.variable) ?? v.defaultValue;
      return value === undefined ? { kind: "absent" } : { kind: "static", value };
    }
    case "requestHeader":
      return { kind: "requestHeader", header: v.header.toLowerCase(), defaultValue: v.defaultValue };
    case "responseHeader":
      return { kind: "responseHeader", header: v.header.toLowerCase(), defaultValue: v.defaultValue };
    case "metadata":
      return metadataSource(v.key, scope);
  }
}

/** A header's value as one string (repeated values joined with `, `); undefined when absent. */
export function headerValue(headers: HeaderBag, name: string): string | undefined {
  const v = headers[name];
  if (v === undefined) return undefined;
  if (typeof v === "string") return v;
  if (typeof v === "number") return String(v);
  return v.join(", ");
}
