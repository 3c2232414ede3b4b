// A hash ring over a backend's endpoints (Envoy's ring hash load balancer): each endpoint owns
// many points on a 32-bit circle, and a key goes to the endpoint owning the first point at or
// after it. Adding or removing one endpoint moves only the keys that endpoint owns or takes.
// The points come from the endpoints' addresses alone, so every gateway replica, whatever
// order it lists the endpoints in, sends a key to the same endpoint.
import type { CompiledEndpoint } from "../plan/types.ts";
import { distinctAddresses } from "./endpoint-addresses.ts";

/**
 * Points per address when no BackendConfigPolicy sizes the ring. A fixed count (Envoy divides a
 * ring size among the hosts instead) keeps every other address's points where they are when one
 * comes or goes, so only its own keys move; 256 spreads keys over two or three endpoints within
 * a few percent.
 */
const DEFAULT_POINTS_PER_ADDRESS = 256;

/**
 * Points per address for a ring of `minimumRingSize` to `maximumRingSize` points over `addresses`
 * (Envoy's ring_hash_lb_config): the minimum split evenly, rounded up, within the maximum; one at least.
 */
export function pointsPerAddress(addresses: number, minimumRingSize: number, maximumRingSize: number): number {
  return Math.max(1, Math.min(Math.ceil(minimumRingSize / addresses), Math.floor(maximumRingSize / addresses)));
}

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

export class HashRing {
  readonly points: Uint32Array;
  /** The endpoint owning each point, by index into the backend's endpoints. */
  readonly owners: Uint32Array;
  /** Distinct addresses: a Backend listing one twice still has one place on the ring. */
  readonly distinct: number;

  constructor(endpoints: readonly CompiledEndpoint[], points: (addresses: number) => number = () => DEFAULT_POINTS_PER_ADDRESS) {
    const { addresses, ownerOf } = distinctAddresses(endpoints);
    this.distinct = addresses.length;
    const perAddress = points(addresses.length);
    // A point and its address's rank in one number, sorted natively: a tie goes to the
    // smaller address, so the order endpoints are listed in never matters.
    const keyed = new Float64Array(addresses.length * perAddress);
    let n = 0;
    addresses.forEach((address, rank) => {
      const addressHash = hashString(address);
      for (let i = 0; i < perAddress; i++) keyed[n++] = ringPoint(addressHash, i) * RANK_SPACE + rank;
    });
    keyed.sort();
    this.points = new Uint32Array(keyed.length);
    this.owners = new Uint32Array(keyed.length);
    for (let i = 0; i < keyed.length; i++) {
      const rank = keyed[i]! % RANK_SPACE;
      this.points[i] = (keyed[i]! - rank) / RANK_SPACE;
      this.owners[i] = ownerOf[rank]!;
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
    return nthOwnerFrom(this.owners, low === points.length ? 0 : low, nth);
  }
}

/** The owner at `start`, or for `nth` > 0 the nth other owner met reading on (around) from there. */
export function nthOwnerFrom(owners: Uint32Array, start: number, nth: number): number {
  const first = owners[start]!;
  if (nth === 0) return first;
  const met = [first];
  for (let step = 1; step < owners.length; step++) {
    const owner = owners[(start + step) % owners.length]!;
    if (met.includes(owner)) continue;
    if (met.push(owner) > nth) return owner;
  }
  return first;
}
