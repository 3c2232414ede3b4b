// A hash ring over a backend's endpoints (Envoy's ring hash load balancer): each endpoint owns
// many points on a 32-bit circle, and a key goes to the endpoint owning the first point at or
// after it. Adding or removing one endpoint moves only the keys that endpoint owns or takes.
// The points come from the endpoints' addresses alone, so every gateway replica, whatever
// order it lists the endpoints in, sends a key to the same endpoint.
import type { CompiledBackend, CompiledEndpoint } from "../plan/types.ts";
import { addressKey } from "../config/address-key.ts";

/**
 * Points per endpoint. A fixed count (Envoy divides a ring size among the hosts instead) keeps
 * every other endpoint's points where they are when one comes or goes, so only its own keys
 * move; 256 spreads keys over two or three endpoints within a few percent.
 */
const POINTS_PER_ENDPOINT = 256;

/** A 32-bit hash of a string's UTF-16 code units: FNV-1a, then murmur3's finaliser to spread close inputs. */
export function hashString(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return finalise(h);
}

/** murmur3's 32-bit finaliser: every input bit moves about half the output bits. */
function finalise(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/** Point `i` of an address on the ring: its hash stepped by the golden ratio, then finalised (no string per point). */
export function ringPoint(addressHash: number, i: number): number {
  return finalise((addressHash + Math.imul(i + 1, 0x9e3779b9)) | 0);
}

/** Two parts of a key into one, as Envoy combines them: rotating the older keeps equal parts from cancelling. */
export function combineHashes(older: number, part: number): number {
  return (((older << 1) | (older >>> 31)) ^ part) >>> 0;
}

/** Ranks fit below the point in one float: 2^32 points times 2^20 ranks stays under 2^53. */
const RANK_SPACE = 2 ** 20;

class HashRing {
  readonly points: Uint32Array;
  /** The endpoint owning each point, by index into the backend's endpoints. */
  readonly owners: Uint32Array;
  /** Distinct addresses: a Backend listing one twice still has one place on the ring. */
  readonly distinct: number;

  constructor(endpoints: readonly CompiledEndpoint[]) {
    // Each distinct address once, ranked in address order, owned by its first endpoint.
    const firstOf = new Map<string, number>();
    endpoints.forEach((endpoint, index) => {
      const address = addressKey(endpoint.host, endpoint.port);
      if (!firstOf.has(address)) firstOf.set(address, index);
    });
    const addresses = [...firstOf.keys()].sort();
    this.distinct = addresses.length;
    // A point and its address's rank in one number, sorted natively: a tie goes to the
    // smaller address, so the order endpoints are listed in never matters.
    const keyed = new Float64Array(addresses.length * POINTS_PER_ENDPOINT);
    let n = 0;
    addresses.forEach((address, rank) => {
      const addressHash = hashString(address);
      for (let i = 0; i < POINTS_PER_ENDPOINT; i++) keyed[n++] = ringPoint(addressHash, i) * RANK_SPACE + rank;
    });
    keyed.sort();
    const rankOwner = addresses.map((address) => firstOf.get(address)!);
    this.points = new Uint32Array(keyed.length);
    this.owners = new Uint32Array(keyed.length);
    for (let i = 0; i < keyed.length; i++) {
      const rank = keyed[i]! % RANK_SPACE;
      this.points[i] = (keyed[i]! - rank) / RANK_SPACE;
      this.owners[i] = rankOwner[rank]!;
    }
  }

  /**
   * The endpoint owning the first point at or after `hash`; for `nth` > 0, the nth other
   * endpoint met walking on from there, so retries visit the endpoints in an order fixed by the key.
   */
  ownerOf(hash: number, nth: number): number {
    const points = this.points;
    let low = 0;
    let high = points.length;
    while (low < high) {
      const mid = (low + high) >>> 1;
      if (points[mid]! < hash) low = mid + 1;
      else high = mid;
    }
    const start = low === points.length ? 0 : low;
    const first = this.owners[start]!;
    if (nth === 0) return first;
    const met = [first];
    for (let step = 1; step < points.length; step++) {
      const owner = this.owners[(start + step) % points.length]!;
      if (met.includes(owner)) continue;
      if (met.push(owner) > nth) return owner;
    }
    return first;
  }
}

// Backends are frozen plan objects: the ring lives beside each in a WeakMap and dies with its plan.
const rings = new WeakMap<CompiledBackend, HashRing>();

/**
 * The endpoint of the backend that `hash` falls to; undefined when it has none. Attempt n of a
 * request (0 the first) goes to the nth next endpoint on the ring, as Envoy's ring hash with the
 * PreviousHosts retry predicate: a retry never repeats an endpoint until every one was tried.
 */
export function endpointForHash(backend: CompiledBackend, hash: number, attempt = 0): CompiledEndpoint | undefined {
  const endpoints = backend.endpoints;
  if (endpoints.length <= 1) return endpoints[0];
  let ring = rings.get(backend);
  if (ring === undefined) {
    ring = new HashRing(endpoints);
    rings.set(backend, ring);
  }
  return endpoints[ring.ownerOf(hash, attempt % ring.distinct)];
}
