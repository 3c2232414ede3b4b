// A BackendConfigPolicy's `loadBalancer`: which of Envoy's cluster load balancers picks the
// endpoint of each request. The settings that tune health handling or ramp-up have nothing
// to act on here (no health checks, no slow start) and are said to be ignored.
import type { LoadBalancerModel } from "./model.ts";
import type { Reporter, Resource } from "./resources.ts";

/** Envoy's ring hash defaults: ring_hash_lb_config minimum_ring_size and maximum_ring_size. */
const DEFAULT_MINIMUM_RING_SIZE = 1024;
const DEFAULT_MAXIMUM_RING_SIZE = 8_388_608;

/** Rings beyond this many points take a noticeable pause to build (about 0.2 s per million). */
const LARGE_RING = 1_048_576;

const KINDS = { roundRobin: "RoundRobin", random: "Random", leastRequest: "LeastRequest", ringHash: "RingHash", maglev: "Maglev" } as const;
type KindField = keyof typeof KINDS;

const IGNORED: readonly (readonly [field: string, consequence: string])[] = [
  ["healthyPanicThreshold", "there are no health checks, so every endpoint is always in rotation"],
  ["updateMergeWindow", "endpoint changes take effect at the next reload"],
  ["localityType", "endpoints have no locality"],
  ["zoneAware", "endpoints have no zone: each takes its share wherever it runs"],
  ["closeConnectionsOnHostSetChange", "a reload keeps the connections to the endpoints it keeps"],
];

/** The model of `spec.loadBalancer`; undefined (after an error) when no single kind is set. */
export function readLoadBalancer(policy: Resource, lb: Record<string, unknown>, reporter: Reporter): LoadBalancerModel | undefined {
  const at = ["spec", "loadBalancer"];
  for (const [field, consequence] of IGNORED) {
    if (lb[field] !== undefined) reporter.warn(policy, [...at, field], `loadBalancer.${field} is not read: ${consequence}`, `remove ${field}`);
  }
  const set = (Object.keys(KINDS) as KindField[]).filter((k) => lb[k] !== undefined);
  if (set.length !== 1) {
    const message = set.length === 0 ? "loadBalancer sets no load balancer" : `loadBalancer sets ${set.join(" and ")}; kgateway takes exactly one`;
    reporter.report("error", policy, set.length === 0 ? at : [...at, set[1]!], message, "keep one of roundRobin: {}, random: {}, leastRequest: {}, ringHash: {}, maglev: {}", { atKey: set.length === 0 });
    return undefined;
  }
  const field = set[0]!;
  const cfg = lb[field] as Record<string, unknown>;
  if (cfg["slowStart"] !== undefined) reporter.warn(policy, [...at, field, "slowStart"], "slowStart is not read: a new endpoint takes its full share at once", "remove slowStart");
  if (cfg["hashPolicies"] !== undefined) {
    reporter.warn(policy, [...at, field, "hashPolicies"], "hashPolicies are not read on a BackendConfigPolicy: the key comes from the routes' TrafficPolicy consistentHash; requests without one go to a random endpoint", "move the hash policies to a TrafficPolicy consistentHash on the routes to this backend");
  }
  switch (field) {
    case "roundRobin":
    case "random":
    case "maglev":
      return { kind: KINDS[field] };
    case "leastRequest": {
      const choiceCount = (cfg["choiceCount"] as number | undefined) ?? 0;
      if (choiceCount === 1) {
        reporter.error(policy, [...at, field, "choiceCount"], "choiceCount 1 is a random pick, not a least-request one; Envoy requires at least 2", "set choiceCount: 2 (the default), or use random: {}");
        return undefined;
      }
      // 0 is the field left out (kgateway's omitempty): Envoy's default of 2.
      return { kind: "LeastRequest", choiceCount: choiceCount === 0 ? 2 : choiceCount };
    }
    case "ringHash": {
      const minimumRingSize = (cfg["minimumRingSize"] as number | undefined) ?? DEFAULT_MINIMUM_RING_SIZE;
      const maximumRingSize = (cfg["maximumRingSize"] as number | undefined) ?? DEFAULT_MAXIMUM_RING_SIZE;
      if (minimumRingSize > maximumRingSize) {
        reporter.error(policy, [...at, field, cfg["minimumRingSize"] === undefined ? "maximumRingSize" : "minimumRingSize"], `minimumRingSize ${minimumRingSize} is more than maximumRingSize ${maximumRingSize}`, "make minimumRingSize at most maximumRingSize");
        return undefined;
      }
      if (minimumRingSize > LARGE_RING) {
        reporter.warn(policy, [...at, field, "minimumRingSize"], `a ring of ${minimumRingSize} points is built at every load and reload, about 0.2 s per million points, while the gateway serves nothing`, `keep minimumRingSize at ${LARGE_RING} or less (Envoy's default is ${DEFAULT_MINIMUM_RING_SIZE}), or use maglev: {}`);
      }
      return { kind: "RingHash", minimumRingSize, maximumRingSize };
    }
  }
}

/** Whether the load balancer reads a request's hash key (TrafficPolicy consistentHash). */
export function hashesRequests(lb: LoadBalancerModel | undefined): boolean {
  return lb === undefined || lb.kind === "RingHash" || lb.kind === "Maglev";
}
