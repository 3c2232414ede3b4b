// kgateway's TrafficPolicy `buffer`: the request body is read whole, up to `maxRequestSize`,
// before the request goes on (Envoy's buffer filter); a larger one is refused with 413.
// `disable: {}` turns off a buffer the rule's Gateway would give it.
import type { FilterModel } from "./model.ts";
import { quantityBytes } from "./quantity.ts";
import type { Reporter, Resource } from "./resources.ts";
import { key } from "./resources.ts";

/** kgateway's CRD bound: below 4Gi. */
const MAX_BUFFER_BYTES = 4 * 2 ** 30;

export type BufferModel = Extract<FilterModel, { type: "Buffer" | "NoBuffer" }>;

export function policyBuffer(p: Resource, reporter: Reporter, cfg: Record<string, unknown>): BufferModel | undefined {
  const at = ["spec", "buffer"];
  const size = cfg["maxRequestSize"] as string | number | undefined;
  const disable = cfg["disable"];
  if ((size === undefined) === (disable === undefined)) {
    reporter.error(p, at, size === undefined ? "buffer needs maxRequestSize or disable" : "maxRequestSize and disable are both set; a buffer policy holds exactly one", 'write maxRequestSize: "1Mi" to buffer bodies up to that size, or disable: {} to turn off a Gateway\'s buffer');
    return undefined;
  }
  if (size === undefined) return { type: "NoBuffer" };
  const bytes = quantityBytes(size);
  if (bytes === undefined || bytes <= 0 || bytes >= MAX_BUFFER_BYTES) {
    reporter.error(p, [...at, "maxRequestSize"], `${JSON.stringify(size)} is not a size above 0 and below 4Gi`, 'write a byte count or a quantity: 65536, "512Ki", "1Mi"');
    return undefined;
  }
  return { type: "Buffer", maxBytes: bytes, policyName: key(p) };
}
