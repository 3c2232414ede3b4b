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

export function load(text: string, file = "t.yaml"): LoadResult {
  return loadConfigText(text, file);
}

export function lines(result: LoadResult, severity: "error" | "warning" | "info"): string[] {
  return result.diagnostics.filter((d) => d.severity === severity).map(formatDiagnostic);
}

export const errors = (text: string): string[] => lines(load(text), "error");
export const warnings = (text: string): string[] => lines(load(text), "warning");
