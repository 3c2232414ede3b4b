// kgateway's TrafficPolicy `rateLimit.global`: the descriptors each request yields, and the
// GatewayExtension whose rate limit service judges them. The descriptors are built as kgateway
// has Envoy build them: a Generic entry is its key and value, a Header entry is keyed by the
// header's name, RemoteAddress is `remote_address`, and Path is `path`.
import type { GatewayExtensions, RateLimitProvider } from "./gateway-extensions.ts";
import type { RateLimitDescriptorModel } from "./model.ts";
import type { Reporter, Resource } from "./resources.ts";
import { key } from "./resources.ts";
import { headerName } from "./set-lists.ts";

/** What one policy sets, before it is given to each rule it covers. */
export interface GlobalRateLimitSpec {
  readonly policyName: string;
  readonly provider: RateLimitProvider;
  readonly descriptors: readonly RateLimitDescriptorModel[];
}

type Entry = RateLimitDescriptorModel[number];

export function globalRateLimit(p: Resource, reporter: Reporter, cfg: Record<string, unknown>, extensions: GatewayExtensions): GlobalRateLimitSpec | undefined {
  const at = ["spec", "rateLimit", "global"];
  const descriptors: RateLimitDescriptorModel[] = [];
  let usable = true;
  (cfg["descriptors"] as Record<string, unknown>[]).forEach((d, i) => {
    const entries: Entry[] = [];
    (d["entries"] as Record<string, unknown>[]).forEach((e, j) => {
      const entry = descriptorEntry(p, reporter, e, [...at, "descriptors", i, "entries", j]);
      if (entry === undefined) usable = false;
      else entries.push(entry);
    });
    descriptors.push(entries);
  });
  const provider = extensions.rateLimitProvider(p, cfg["extensionRef"] as { name: string; namespace?: string }, [...at, "extensionRef"]);
  if (!usable || provider === undefined) return undefined;
  return { policyName: key(p), provider, descriptors };
}

/** One entry, checked as kgateway's CRD rule does: the block its type needs, and no other. */
function descriptorEntry(p: Resource, reporter: Reporter, e: Record<string, unknown>, at: (string | number)[]): Entry | undefined {
  const type = e["type"] as "Generic" | "Header" | "RemoteAddress" | "Path";
  const generic = e["generic"] as { key: string; value: string } | undefined;
  const header = e["header"] as string | undefined;
  if (type !== "Generic" && generic !== undefined) {
    reporter.error(p, [...at, "generic"], `generic is set but type is ${type}`, "remove generic, or set type: Generic");
    return undefined;
  }
  if (type !== "Header" && header !== undefined) {
    reporter.error(p, [...at, "header"], `header is set but type is ${type}`, "remove header, or set type: Header");
    return undefined;
  }
  switch (type) {
    case "Generic":
      if (generic === undefined) {
        reporter.report("error", p, [...at, "generic"], "type Generic needs generic {key, value}", "add generic: {key: service, value: api}", { missing: true });
        return undefined;
      }
      return { type, key: generic.key, value: generic.value };
    case "Header": {
      if (header === undefined) {
        reporter.report("error", p, [...at, "header"], "type Header needs header: the request header whose value the entry takes", "add header: x-user-id", { missing: true });
        return undefined;
      }
      const name = headerName(p, reporter, header, [...at, "header"]);
      return name === undefined ? undefined : { type, key: header, header: name };
    }
    default:
      return { type };
  }
}
