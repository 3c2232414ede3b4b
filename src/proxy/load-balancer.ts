// Which endpoint of a backend takes a request: the backend's load balancer (a
// BackendConfigPolicy's loadBalancer) picks it, with the request's key (TrafficPolicy
// consistentHash) for the hashing ones. Without a policy a keyed request goes by the hash ring
// and any other round-robin.
import type { CompiledBackend, CompiledEndpoint } from "../plan/types.ts";
import { HashRing, pointsPerAddress } from "./hash-ring.ts";
import { MaglevTable } from "./maglev.ts";
import { nextEndpoint } from "./round-robin.ts";

/** How busy an endpoint is now: the requests holding or waiting for one of its connections (the pools). */
export interface EndpointLoads {
  inFlight(endpoint: CompiledEndpoint, maxConnections: number | undefined): number;
}

interface KeyedTable {
  /** Distinct endpoint addresses in the table. */
  readonly distinct: number;
  ownerOf(hash: number, nth: number): number;
}

// Backends are frozen plan objects: a table lives beside each in a WeakMap and dies with its plan.
const tables = new WeakMap<CompiledBackend, KeyedTable>();

/**
 * The endpoint for attempt `attempt` (0 the first) of a request with `hashKey` (undefined: none);
 * undefined when the backend has no endpoint.
 */
export function chooseEndpoint(backend: CompiledBackend, hashKey: number | undefined, attempt: number, loads: EndpointLoads): CompiledEndpoint | undefined {
  const endpoints = backend.endpoints;
  if (endpoints.length <= 1) return endpoints[0];
  const lb = backend.model.loadBalancer;
  switch (lb?.kind) {
    case undefined:
      return hashKey === undefined ? nextEndpoint(backend) : endpointForHash(backend, hashKey, attempt);
    case "RoundRobin":
      return nextEndpoint(backend);
    case "Random":
      return randomEndpoint(endpoints);
    case "LeastRequest":
      return leastRequest(backend, lb.choiceCount, loads);
    case "RingHash":
    case "Maglev":
      // As Envoy's: a request the route gives no key goes to a random endpoint.
      return hashKey === undefined ? randomEndpoint(endpoints) : endpointForHash(backend, hashKey, attempt);
  }
}

/**
 * The endpoint `hash` falls to on the backend's ring or Maglev table. Attempt n of a request
 * goes to the nth next endpoint from there, as Envoy's hashing balancers with the PreviousHosts
 * retry predicate: a retry never repeats an endpoint until every one was tried.
 */
export function endpointForHash(backend: CompiledBackend, hash: number, attempt = 0): CompiledEndpoint | undefined {
  const endpoints = backend.endpoints;
  if (endpoints.length <= 1) return endpoints[0];
  let table = tables.get(backend);
  if (table === undefined) {
    table = keyedTable(backend);
    tables.set(backend, table);
  }
  return endpoints[table.ownerOf(hash, attempt % table.distinct)];
}

function keyedTable(backend: CompiledBackend): KeyedTable {
  const lb = backend.model.loadBalancer;
  if (lb?.kind === "Maglev") return new MaglevTable(backend.endpoints);
  if (lb?.kind === "RingHash") return new HashRing(backend.endpoints, (addresses) => pointsPerAddress(addresses, lb.minimumRingSize, lb.maximumRingSize));
  return new HashRing(backend.endpoints);
}

function randomEndpoint(endpoints: readonly CompiledEndpoint[]): CompiledEndpoint {
  return endpoints[Math.floor(Math.random() * endpoints.length)]!;
}

/**
 * Envoy's least request with equal weights: the least busy of `choiceCount` endpoints drawn at
 * random. When the draws would cover the backend, every endpoint is compared instead (the
 * least busy for sure), from a random start so ties spread.
 */
function leastRequest(backend: CompiledBackend, choiceCount: number, loads: EndpointLoads): CompiledEndpoint {
  const endpoints = backend.endpoints;
  const maxConnections = backend.model.maxConnections;
  const count = endpoints.length;
  const scanAll = choiceCount >= count;
  const start = Math.floor(Math.random() * count);
  let best = endpoints[start]!;
  let bestLoad = loads.inFlight(best, maxConnections);
  for (let i = 1; i < (scanAll ? count : choiceCount); i++) {
    const candidate = scanAll ? endpoints[(start + i) % count]! : randomEndpoint(endpoints);
    const candidateLoad = loads.inFlight(candidate, maxConnections);
    if (candidateLoad < bestLoad) {
      best = candidate;
      bestLoad = candidateLoad;
    }
  }
  return best;
}
