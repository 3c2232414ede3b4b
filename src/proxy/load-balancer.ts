// Which endpoint of a backend takes a request: the backend's load balancer (a
// BackendConfigPolicy's loadBalancer) picks it, with the request's key (TrafficPolicy
// consistentHash) for the hashing ones. Without a policy a keyed request goes by the hash ring
// and any other round-robin.
import type { CompiledBackend, CompiledEndpoint } from "../plan/types.ts";
import { HashRing, pointsPerAddress } from "./hash-ring.ts";
import { MaglevTable } from "./maglev.ts";
import { nextEndpoint } from "./round-robin.ts";

/** How busy an endpoint is now: the requests holding or waiting for one of its connections, and its open tunnels (the pools). */
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
 * undefined when the backend has no endpoint. `tried` lists the endpoints earlier attempts
 * went to: random and least request pass them over while others remain, as Envoy's
 * PreviousHosts retry predicate does (round-robin and the hashing balancers move on by themselves).
 */
export function chooseEndpoint(backend: CompiledBackend, hashKey: number | undefined, attempt: number, loads: EndpointLoads, tried?: readonly CompiledEndpoint[]): CompiledEndpoint | undefined {
  const endpoints = backend.endpoints;
  if (endpoints.length <= 1) return endpoints[0];
  const lb = backend.model.loadBalancer;
  switch (lb?.kind) {
    case undefined:
      return hashKey === undefined ? nextEndpoint(backend) : endpointForHash(backend, hashKey, attempt);
    case "RoundRobin":
      return nextEndpoint(backend);
    case "Random":
      return randomEndpoint(endpoints, untried(endpoints, tried));
    case "LeastRequest":
      return leastRequest(backend, lb.choiceCount, loads, untried(endpoints, tried));
    case "RingHash":
    case "Maglev":
      // As Envoy's: a request the route gives no key goes to a random endpoint.
      return hashKey === undefined ? randomEndpoint(endpoints, untried(endpoints, tried)) : endpointForHash(backend, hashKey, attempt);
  }
}

/** Whether an endpoint may be taken: not tried yet, or everything was. */
type Eligible = ((endpoint: CompiledEndpoint) => boolean) | undefined;

function untried(endpoints: readonly CompiledEndpoint[], tried: readonly CompiledEndpoint[] | undefined): Eligible {
  if (tried === undefined || tried.length === 0 || endpoints.every((e) => tried.includes(e))) return undefined;
  return (endpoint) => !tried.includes(endpoint);
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

/**
 * Builds a ring-hash or Maglev backend's table now, at a load or reload, rather than on its
 * first keyed request: a large ring takes long enough to stall the requests behind that one.
 */
export function prepareKeyedTable(backend: CompiledBackend): void {
  const kind = backend.model.loadBalancer?.kind;
  if ((kind === "RingHash" || kind === "Maglev") && backend.endpoints.length > 1 && !tables.has(backend)) tables.set(backend, keyedTable(backend));
}

function keyedTable(backend: CompiledBackend): KeyedTable {
  const lb = backend.model.loadBalancer;
  if (lb?.kind === "Maglev") return new MaglevTable(backend.endpoints);
  if (lb?.kind === "RingHash") return new HashRing(backend.endpoints, (addresses) => pointsPerAddress(addresses, lb.minimumRingSize, lb.maximumRingSize));
  return new HashRing(backend.endpoints);
}

/** A random endpoint; with `eligible`, the first eligible one from a random place. */
function randomEndpoint(endpoints: readonly CompiledEndpoint[], eligible?: Eligible): CompiledEndpoint {
  const count = endpoints.length;
  const start = Math.floor(Math.random() * count);
  if (eligible === undefined) return endpoints[start]!;
  for (let i = 0; i < count; i++) {
    const endpoint = endpoints[(start + i) % count]!;
    if (eligible(endpoint)) return endpoint;
  }
  return endpoints[start]!;
}

/** Indices drawn without replacement (a partial Fisher-Yates shuffle), reused between calls: the event loop runs one at a time. */
let draws = new Uint32Array(16);

/**
 * Envoy's least request with equal weights: the least busy of `choiceCount` endpoints drawn at
 * random. Draws are distinct, so a busy endpoint loses to any idle one drawn beside it; when
 * they would cover the backend, or on a retry (only endpoints not tried yet), every eligible
 * endpoint is compared, from a random place so ties spread.
 */
function leastRequest(backend: CompiledBackend, choiceCount: number, loads: EndpointLoads, eligible: Eligible): CompiledEndpoint {
  const endpoints = backend.endpoints;
  const maxConnections = backend.model.maxConnections;
  const count = endpoints.length;
  let best: CompiledEndpoint | undefined;
  let bestLoad = Infinity;
  const consider = (candidate: CompiledEndpoint): void => {
    const load = loads.inFlight(candidate, maxConnections);
    if (load < bestLoad) {
      best = candidate;
      bestLoad = load;
    }
  };
  if (choiceCount >= count || eligible !== undefined) {
    const start = Math.floor(Math.random() * count);
    for (let i = 0; i < count; i++) {
      const candidate = endpoints[(start + i) % count]!;
      if (eligible === undefined || eligible(candidate)) consider(candidate);
    }
    return best!;
  }
  if (draws.length < count) draws = new Uint32Array(count);
  for (let i = 0; i < count; i++) draws[i] = i;
  for (let i = 0; i < choiceCount; i++) {
    const j = i + Math.floor(Math.random() * (count - i));
    const drawn = draws[j]!;
    draws[j] = draws[i]!;
    draws[i] = drawn;
    consider(endpoints[drawn]!);
  }
  return best!;
}
