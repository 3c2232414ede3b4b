// kgateway ListenerPolicy `proxyProtocol`: which ports of each Gateway expect every connection
// to start with a PROXY protocol header. `default` covers each port of the Gateway; a
// `perPort` entry replaces the default for its port whole (kgateway: unset fields do not
// inherit), so one without `proxyProtocol` turns it off there. Per port, the oldest
// ListenerPolicy that says anything for it wins.
import type { GatewayDraft } from "./resolve-gateways.ts";
import type { Attached } from "./policy-targets.ts";
import { type Reporter, type Resource, type Segments, key } from "./resources.ts";

interface PortDecision {
  readonly expects: boolean;
  readonly at: Segments;
}

/** Per Gateway key, its ports that expect a PROXY header, ascending. */
export function resolveProxyProtocolPorts(
  listenerPolicies: readonly Resource[],
  byGateway: ReadonlyMap<string, readonly Attached[]>,
  gateways: ReadonlyMap<string, GatewayDraft>,
  reporter: Reporter,
): Map<string, number[]> {
  for (const p of listenerPolicies) checkPolicy(p, reporter);
  const out = new Map<string, number[]>();
  for (const [gk, gateway] of gateways) {
    const ports = [...new Set(gateway.listeners.map((l) => l.port))].sort((a, b) => a - b);
    const attached = (byGateway.get(gk) ?? []).filter((a) => a.policy.kind === "ListenerPolicy");
    for (const a of attached) warnPortsNotServed(a.policy, gk, ports, reporter);
    const expecting = ports.filter((port) => {
      let winner: { readonly policy: Resource; readonly decision: PortDecision } | undefined;
      for (const { policy } of attached) {
        const decision = decisionFor(policy, port);
        if (decision === undefined) continue;
        if (winner === undefined) winner = { policy, decision };
        else if (decision.expects !== winner.decision.expects) {
          reporter.warn(policy, decision.at, `ListenerPolicy ${key(winner.policy)}, which is older, already ${winner.decision.expects ? "turns proxyProtocol on" : "leaves proxyProtocol off"} for port ${port} of Gateway ${gk}; this one is ignored there`, "keep one ListenerPolicy's proxyProtocol per Gateway port");
        }
      }
      return winner?.decision.expects === true;
    });
    if (expecting.length > 0) out.set(gk, expecting);
  }
  return out;
}

/** What a policy says for a port: its `perPort` entry for it, else its `default`'s proxyProtocol. */
function decisionFor(p: Resource, port: number): PortDecision | undefined {
  const perPort = (p.spec["perPort"] ?? []) as Record<string, any>[];
  const index = perPort.findIndex((entry) => entry["port"] === port);
  if (index >= 0) return { expects: perPort[index]!["listener"]["proxyProtocol"] !== undefined, at: ["spec", "perPort", index, "listener"] };
  if (p.spec["default"]?.["proxyProtocol"] !== undefined) return { expects: true, at: ["spec", "default", "proxyProtocol"] };
  return undefined;
}

function checkPolicy(p: Resource, reporter: Reporter): void {
  const perPort = (p.spec["perPort"] ?? []) as Record<string, any>[];
  const seen = new Map<number, number>();
  perPort.forEach((entry, i) => {
    const port = entry["port"] as number;
    const first = seen.get(port);
    if (first !== undefined) reporter.error(p, ["spec", "perPort", i, "port"], `port ${port} already has an entry (perPort[${first}])`, "give each port one entry");
    else seen.set(port, i);
    warnBufferLimit(p, ["spec", "perPort", i, "listener"], entry["listener"], reporter);
  });
  warnBufferLimit(p, ["spec", "default"], p.spec["default"], reporter);
}

function warnBufferLimit(p: Resource, at: Segments, config: Record<string, unknown> | undefined, reporter: Reporter): void {
  if (config?.["perConnectionBufferLimitBytes"] === undefined) return;
  reporter.warn(
    p,
    [...at, "perConnectionBufferLimitBytes"],
    "perConnectionBufferLimitBytes has no effect in Tollgate: memory is bounded per request (maxRequestHeadersKb, a route's buffer limits) and by backpressure, not by a per-connection buffer",
    undefined,
  );
}

function warnPortsNotServed(p: Resource, gk: string, ports: readonly number[], reporter: Reporter): void {
  ((p.spec["perPort"] ?? []) as Record<string, any>[]).forEach((entry, i) => {
    const port = entry["port"] as number;
    if (ports.includes(port)) return;
    reporter.warn(p, ["spec", "perPort", i, "port"], `Gateway ${gk} has no listener on port ${port}; this entry has no effect there`, `its listener ports: ${ports.join(", ")}`);
  });
}
