// One port has one set of listener settings (forwarded-header trust, limits, timeouts): the
// proxy reads them before it knows which Gateway a request is for. kgateway gives each Gateway
// its own proxy; Tollgate serves Gateways on one port together, so their ListenerPolicies and
// HTTPListenerPolicies must agree there, or one Gateway would get another's (a Gateway that
// trusts no proxy would trust X-Forwarded-For because its neighbour does).
import type { ListenerSettings } from "./model.ts";
import type { GatewayDraft } from "./resolve-gateways.ts";
import { type Reporter, key } from "./resources.ts";

export function checkPortSettings(gateways: readonly GatewayDraft[], settingsOf: ReadonlyMap<string, ListenerSettings>, proxyProtocolPorts: ReadonlyMap<string, readonly number[]>, reporter: Reporter): void {
  const expectsProxyHeader = (g: GatewayDraft, port: number): boolean => proxyProtocolPorts.get(key(g.resource))?.includes(port) ?? false;
  const first = new Map<number, GatewayDraft>();
  for (const g of gateways) {
    const reported = new Set<number>();
    g.listeners.forEach((l) => {
      const seen = first.get(l.port);
      if (seen === undefined) {
        first.set(l.port, g);
        return;
      }
      if (seen === g || reported.has(l.port)) return;
      const differences = differingSettings(settingsOf.get(key(seen.resource))!, settingsOf.get(key(g.resource))!);
      // A connection's first bytes say nothing of the Gateway it is for: the port expects a PROXY header or not.
      const ours = expectsProxyHeader(g, l.port);
      const theirs = expectsProxyHeader(seen, l.port);
      if (ours !== theirs) differences.push(`proxyProtocol ${ours ? "on" : "off"} here, ${theirs ? "on" : "off"} there`);
      if (differences.length === 0) return;
      reported.add(l.port);
      const index = (g.resource.spec["listeners"] as { name: string }[]).findIndex((x) => x.name === l.name);
      reporter.error(
        g.resource,
        ["spec", "listeners", index, "port"],
        `port ${l.port} is also served by Gateway ${key(seen.resource)}, whose listener settings differ: ${differences.join(", ")}; a port has one set, which requests for this Gateway would not get`,
        "target both Gateways with the same ListenerPolicy or HTTPListenerPolicy, or move this listener to a port of its own",
      );
    });
  }
}

function differingSettings(theirs: ListenerSettings, ours: ListenerSettings): string[] {
  // Each Gateway's settings are its own objects: a modifier is compared by what it does.
  const shown = (value: ListenerSettings[keyof ListenerSettings]): string => (value === undefined ? "none" : typeof value === "object" ? JSON.stringify(value) : String(value));
  return (Object.keys(ours) as (keyof ListenerSettings)[]).filter((name) => shown(theirs[name]) !== shown(ours[name])).map((name) => `${name} ${shown(ours[name])} here, ${shown(theirs[name])} there`);
}
