import { formatDiagnostic } from "../../src/config/diagnostics.ts";
import { loadConfigText } from "../../src/config/load.ts";
import type { LoadResult } from "../../src/config/load.ts";

export const GATEWAY = `apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata:
  name: gw
spec:
  gatewayClassName: tollgate
  listeners:
  - name: http
    port: 8080
    protocol: HTTP
`;

/** GATEWAY, then an HTTPRoute `web` attached to it, up to (not including) its `rules:`. */
export const WEB_ROUTE = `${GATEWAY}---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata:
  name: web
spec:
  parentRefs:
  - name: gw
`;

/** GATEWAY, a Service `app` and an HTTPRoute `web` with a rule named `a` (/a) and an unnamed one (/b). */
export const TWO_RULE_ROUTE = `${GATEWAY}---
apiVersion: v1
kind: Service
metadata: {name: app}
spec: {ports: [{port: 80}]}
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: web}
spec:
  parentRefs: [{name: gw}]
  rules:
  - name: a
    matches: [{path: {type: PathPrefix, value: /a}}]
    backendRefs: [{name: app, port: 80}]
  - matches: [{path: {type: PathPrefix, value: /b}}]
    backendRefs: [{name: app, port: 80}]
`;

/** An HTTPListenerPolicy on `gw` tracing to the Service `collector` port 4317 (a document, starting with `---`). */
export const TRACING_TO_COLLECTOR = `---
apiVersion: gateway.kgateway.dev/v1alpha1
kind: HTTPListenerPolicy
metadata: {name: tracing}
spec:
  targetRefs: [{group: gateway.networking.k8s.io, kind: Gateway, name: gw}]
  tracing:
    provider:
      openTelemetry:
        serviceName: edge
        grpcService:
          backendRef: {name: collector, port: 4317}
`;

/** TrafficPolicy targetRefs: the Gateway `gw`, and rule `a` of route `web`. */
export const TO_GATEWAY = "[{group: gateway.networking.k8s.io, kind: Gateway, name: gw}]";
export const TO_RULE_A = "[{group: gateway.networking.k8s.io, kind: HTTPRoute, name: web, sectionName: a}]";

/** A Gateway of this name with GATEWAY's listener (port 8080, any hostname), so the two share it. */
export const sameListenerGateway = (name: string): string =>
  `---\napiVersion: gateway.networking.k8s.io/v1\nkind: Gateway\nmetadata: {name: ${name}}\nspec:\n  gatewayClassName: tollgate\n  listeners: [{name: http, port: 8080, protocol: HTTP}]\n`;

/** TWO_RULE_ROUTE with route `web` attached to `gw` and the Gateway `gw2` sharing its listener. */
export const ROUTE_ON_SHARED_LISTENER = TWO_RULE_ROUTE.replace("  parentRefs: [{name: gw}]", "  parentRefs: [{name: gw}, {name: gw2}]") + sameListenerGateway("gw2");

/** A kgateway GatewayExtension `name` in the default namespace, with `spec` (indented spec fields). */
export const gatewayExtension = (name: string, spec: string): string => `---
apiVersion: gateway.kgateway.dev/v1alpha1
kind: GatewayExtension
metadata: {name: ${name}}
spec:
${spec}`;

/** A kgateway TrafficPolicy with `body` (indented spec fields) after its targetRefs, by default all of route `web`. */
export const trafficPolicy = (name: string, body: string, targets = "[{group: gateway.networking.k8s.io, kind: HTTPRoute, name: web}]", created = "2026-01-01T00:00:00Z"): string => `---
apiVersion: gateway.kgateway.dev/v1alpha1
kind: TrafficPolicy
metadata: {name: ${name}, creationTimestamp: "${created}"}
spec:
  targetRefs: ${targets}
${body}`;

/** GATEWAY and an HTTPListenerPolicy on it whose `accessLog:` list is `entries` (each line indented two spaces or more). */
export const accessLogPolicy = (entries: string): string => `${GATEWAY}---
apiVersion: gateway.kgateway.dev/v1alpha1
kind: HTTPListenerPolicy
metadata: {name: logs}
spec:
  targetRefs: [{group: gateway.networking.k8s.io, kind: Gateway, name: gw}]
  accessLog:
${entries}`;

export function load(text: string, file = "t.yaml"): LoadResult {
  return loadConfigText(text, file);
}

export function lines(result: LoadResult, severity: "error" | "warning" | "info"): string[] {
  return result.diagnostics.filter((d) => d.severity === severity).map(formatDiagnostic);
}

export const errors = (text: string): string[] => lines(load(text), "error");
export const warnings = (text: string): string[] => lines(load(text), "warning");
