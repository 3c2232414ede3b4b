// kgateway's GatewayParameters configure the data-plane Deployment kgateway would create;
// Tollgate is that data plane, run from its own manifest, so the document is skipped. One
// part of it is often the telemetry setup (seed 003 sets OTEL_* variables there): those
// must not vanish quietly, so each such variable is named, with where it belongs instead.

export interface ParametersEnvWarning {
  /** Path to the `env` list that holds the variables. */
  readonly segments: (string | number)[];
  readonly names: readonly string[];
}

/** `spec.kube.<container>.env[]` entries whose name Tollgate reads from its own environment. */
export function gatewayParametersEnv(doc: Readonly<Record<string, unknown>>): ParametersEnvWarning[] {
  const kube = (doc["spec"] as Record<string, unknown> | undefined)?.["kube"];
  if (kube === null || typeof kube !== "object") return [];
  const out: ParametersEnvWarning[] = [];
  for (const [container, settings] of Object.entries(kube as Record<string, unknown>)) {
    const env = (settings as Record<string, unknown> | null)?.["env"];
    if (!Array.isArray(env)) continue;
    const names = env
      .map((e) => (e as Record<string, unknown> | null)?.["name"])
      .filter((n): n is string => typeof n === "string" && (n.startsWith("OTEL_") || n.startsWith("TOLLGATE_")));
    if (names.length > 0) out.push({ segments: ["spec", "kube", container, "env"], names });
  }
  return out;
}
