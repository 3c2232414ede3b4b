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

/** What an earlier attempt went to: its endpoint (an UpstreamAttempt of the request). */
export interface TriedAttempt {
  readonly endpoint: CompiledEndpoint;
}

/**
 * The endpoint for attempt `attempt` (0 the first) of a request with `hashKey` (undefined: none);
 * undefined when the backend has no endpoint. `tried` are the request's earlier attempts:
 * random and least request pass over their addresses while others remain, as Envoy's
 * PreviousHosts retry predicate does (round-robin and the hashing balancers move on by themselves).
 */
export function chooseEndpoint(backend: CompiledBackend, hashKey: number | undefined, attempt: number, loads: EndpointLoads, tried?: readonly TriedAttempt[]): CompiledEndpoint | undefined {
  const endpoints = backend.endpoints;
  if (endpoints.length <= 1) return endpoints[0];
  const lb = backend.model.loadBalancer;
  switch (lb?.kind) {
    case undefined:
      return hashKey === undefined ? nextEndpoint(backend) : endpointForHash(backend, hashKey, attempt);
    case "RoundRobin":
      return nextEndpoint(backend);
    case "Random":
      return randomEndpoint(endpoints, untried(endpoints, attempt, tried));
    case "LeastRequest":
      return leastRequest(backend, lb.choiceCount, loads, untried(endpoints, attempt, tried));
    case "RingHash":
    case "Maglev":
      // As Envoy's: a request the route gives no key goes to a random endpoint.
      return hashKey === undefined ? randomEndpoint(endpoints, untried(endpoints, attempt, tried)) : endpointForHash(backend, hashKey, attempt);
  }
}

/** Whether an endpoint may be taken: its address not tried yet (undefined: any may). */
type Eligible = ((endpoint: CompiledEndpoint) => boolean) | undefined;

/** The endpoints of addresses no earlier attempt went to; undefined on a first attempt, or once every address was tried. */
function untried(endpoints: readonly CompiledEndpoint[], attempt: number, tried: readonly TriedAttempt[] | undefined): Eligible {
  if (attempt === 0 || tried === undefined || tried.length === 0) return undefined;
  // By pool key, not object: an address a Backend lists twice is one endpoint to retry past.
  const isTried = (endpoint: CompiledEndpoint): boolean => tried.some((t) => t.endpoint.poolKey === endpoint.poolKey);
  return endpoints.every(isTried) ? undefined : (endpoint) => !isTried(endpoint);
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

/** A random endpoint; with `eligible`, a random one of the eligible, each as likely. */
function randomEndpoint(endpoints: readonly CompiledEndpoint[], eligible?: Eligible): CompiledEndpoint {
  if (eligible === undefined) return endpoints[Math.floor(Math.random() * endpoints.length)]!;
  let count = 0;
  for (const endpoint of endpoints) if (eligible(endpoint)) count++;
  let left = Math.floor(Math.random() * count);
  for (const endpoint of endpoints) if (eligible(endpoint) && left-- === 0) return endpoint;
  return endpoints[0]!;
}

/**
 * Each least-request backend's endpoint indices in some order. A partial shuffle of any order
 * draws distinct indices uniformly, so each pick shuffles only the `choiceCount` it takes and
 * leaves the order for the next.
 */
const drawOrders = new WeakMap<CompiledBackend, Uint32Array>();

/**
 * Envoy's least request with equal weights: the least busy of `choiceCount` endpoints drawn at
 * random. Draws are distinct, so a busy endpoint loses to any idle one
 * drawn beside it; when they would cover the backend, or on a retry (only endpoints not tried
 * yet), every eligible endpoint is compared, ties going to a random one of the least busy.
 */
function leastRequest(backend: CompiledBackend, choiceCount: number, loads: EndpointLoads, eligible: Eligible): CompiledEndpoint {
  const endpoints = backend.endpoints;
  const maxConnections = backend.model.maxConnections;
  const count = endpoints.length;
  if (choiceCount >= count || eligible !== undefined) {
    let best = endpoints[0]!;
    let bestLoad = Infinity;
    let ties = 0;
    for (const candidate of endpoints) {
      if (eligible !== undefined && !eligible(candidate)) continue;
      const load = loads.inFlight(candidate, maxConnections);
      if (load < bestLoad) {
        best = candidate;
        bestLoad = load;
        ties = 1;
      } else if (load === bestLoad && Math.random() * ++ties < 1) {
        // Each of the equally least busy is kept with the same chance (reservoir sampling).
        best = candidate;
      }
    }
    return best;
  }
  let order = drawOrders.get(backend);
  if (order === undefined) {
    order = Uint32Array.from(endpoints.keys());
    drawOrders.set(backend, order);
  }
  let best = endpoints[0]!;
  let bestLoad = Infinity;
  for (let i = 0; i < choiceCount; i++) {
    const j = i + Math.floor(Math.random() * (count - i));
    const index = order[j]!;
    order[j] = order[i]!;
    order[i] = index;
    const candidate = endpoints[index]!;
    const load = loads.inFlight(candidate, maxConnections);
    if (load < bestLoad) {
      best = candidate;
      bestLoad = load;
    }
  }
  return best;
}
