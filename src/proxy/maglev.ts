// Maglev consistent hashing (Eisenbud et al., NSDI 2016; Envoy's maglev load balancer): a
// lookup table of a prime number of slots, filled by letting each endpoint address claim, in
// turn, the next free slot of its own permutation of the table. Every address ends up with the
// same share of slots (to within one), a key is one array read away from its endpoint, and
// an address that comes or goes moves few keys beyond its own.
import type { CompiledEndpoint } from "../plan/types.ts";
import { distinctAddresses } from "./endpoint-addresses.ts";
import { hashString, nthOwnerFrom } from "./hash-ring.ts";

/** Envoy's default table size: a prime, so every skip visits every slot. */
export const MAGLEV_TABLE_SIZE = 65537;

export class MaglevTable {
  /** The endpoint owning each slot, by index into the backend's endpoints. */
  readonly owners: Uint32Array;
  /** Distinct addresses: a Backend listing one twice still claims slots once. */
  readonly distinct: number;

  constructor(endpoints: readonly CompiledEndpoint[], size = MAGLEV_TABLE_SIZE) {
    const { addresses, ownerOf } = distinctAddresses(endpoints);
    this.distinct = addresses.length;
    const offsets = addresses.map((address) => hashString(`offset:${address}`) % size);
    const skips = addresses.map((address) => (hashString(`skip:${address}`) % (size - 1)) + 1);
    const next = new Float64Array(addresses.length);
    const claimed = new Int32Array(size).fill(-1);
    let filled = 0;
    while (filled < size) {
      for (let rank = 0; rank < addresses.length && filled < size; rank++) {
        let slot = (offsets[rank]! + next[rank]! * skips[rank]!) % size;
        while (claimed[slot] !== -1) {
          next[rank] = next[rank]! + 1;
          slot = (offsets[rank]! + next[rank]! * skips[rank]!) % size;
        }
        claimed[slot] = rank;
        next[rank] = next[rank]! + 1;
        filled++;
      }
    }
    this.owners = new Uint32Array(size);
    for (let slot = 0; slot < size; slot++) this.owners[slot] = ownerOf[claimed[slot]!]!;
  }

  /**
   * The endpoint owning the key's slot; for `nth` > 0 the nth other endpoint met reading on
   * from there, so retries visit the endpoints in an order fixed by the key.
   */
  ownerOf(hash: number, nth: number): number {
    return nthOwnerFrom(this.owners, hash % this.owners.length, nth);
  }
}
