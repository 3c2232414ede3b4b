// Round-robin over a backend's endpoints. Backends are frozen plan objects, so the cursor
// lives beside them in a WeakMap and dies with the plan.
import type { CompiledBackend, CompiledEndpoint } from "../plan/types.ts";

class Cursor {
  next = 0;
}

const cursors = new WeakMap<CompiledBackend, Cursor>();

/** The next endpoint of the backend; undefined when it has none. */
export function nextEndpoint(backend: CompiledBackend): CompiledEndpoint | undefined {
  const endpoints = backend.endpoints;
  if (endpoints.length <= 1) return endpoints[0];
  let cursor = cursors.get(backend);
  if (cursor === undefined) {
    cursor = new Cursor();
    cursors.set(backend, cursor);
  }
  const index = cursor.next;
  cursor.next = index + 1 >= endpoints.length ? 0 : index + 1;
  return endpoints[index];
}
