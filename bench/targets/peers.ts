// What a single-gateway bench tool (profile, memory, ab) runs its gateways against: the
// upstream (nginx `return 200` when installed, else the node server) and, with telemetry on,
// the OTLP receiver that acknowledges every export or the black hole that never answers.
import { launchScript, type Launched } from "./launch.ts";
import { findNginx, startNginxUpstream } from "./nginx.ts";
import type { TelemetryMode } from "./tollgate.ts";

export type GatewayMode = "off" | "full" | "blackhole";

export function isGatewayMode(text: string | undefined): text is GatewayMode {
  return text === "off" || text === "full" || text === "blackhole";
}

export interface Peers {
  readonly upstream: Launched;
  /** How the gateways export: off, or to the receiver (healthy) or the black hole. */
  readonly telemetry: TelemetryMode;
}

export async function startPeers(mode: GatewayMode, workDir: string): Promise<Peers> {
  const nginx = findNginx();
  const upstream = nginx === undefined ? await launchScript("upstream", "upstream.ts") : await startNginxUpstream(nginx, workDir);
  if (mode === "off") return { upstream, telemetry: { kind: "off" } };
  const collector = mode === "full" ? await launchScript("ack-receiver", "ack-receiver.ts") : await launchScript("blackhole", "blackhole.ts");
  return { upstream, telemetry: { kind: "full", collectorPort: collector.port } };
}

/** `K=V,K=V` (a command-line option's value) as an environment. */
export function parseEnvList(text: string | undefined, option: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const pair of (text ?? "").split(",").filter((p) => p !== "")) {
    const eq = pair.indexOf("=");
    if (eq < 1) throw new Error(`${option}: expected K=V, got ${JSON.stringify(pair)}`);
    out[pair.slice(0, eq)] = pair.slice(eq + 1);
  }
  return out;
}
