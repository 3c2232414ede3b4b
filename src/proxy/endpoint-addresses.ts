// A backend's endpoints as the hashing load balancers place them: each distinct address once,
// in address order, so every gateway replica places them alike whatever order the Backend
// lists them in, and an address listed twice (or an IPv6 literal spelt two ways) counts once.
import type { CompiledEndpoint } from "../plan/types.ts";
import { addressKey } from "../config/address-key.ts";

export interface DistinctAddresses {
  /** `host:port` keys, sorted. */
  readonly addresses: readonly string[];
  /** Rank in `addresses` → index of the first endpoint with that address. */
  readonly ownerOf: readonly number[];
}

export function distinctAddresses(endpoints: readonly CompiledEndpoint[]): DistinctAddresses {
  const firstOf = new Map<string, number>();
  endpoints.forEach((endpoint, index) => {
    const address = addressKey(endpoint.host, endpoint.port);
    if (!firstOf.has(address)) firstOf.set(address, index);
  });
  const addresses = [...firstOf.keys()].sort();
  return { addresses, ownerOf: addresses.map((address) => firstOf.get(address)!) };
}
