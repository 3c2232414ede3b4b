// kgateway's TrafficPolicy `rateLimit.local`: the token bucket, checked as kgateway's CRD
// validates it.
import { parseDuration } from "./duration.ts";
import type { LocalRateLimitModel } from "./model.ts";
import type { Reporter, Resource } from "./resources.ts";
import { key } from "./resources.ts";

/**
 * What one policy sets, before it is given to each rule it covers. `off`: kgateway's
 * `local: {}`, which turns off the limit another policy would give the rule.
 */
export type LocalRateLimitSpec = Omit<LocalRateLimitModel, "type" | "bucketKey" | "routeName" | "ruleName"> | "off";

/** kgateway's CRD floor for fillInterval (a finer rate is a larger tokensPerFill over a longer one). */
const MIN_FILL_INTERVAL_MS = 50;

export function localRateLimit(p: Resource, reporter: Reporter, cfg: Record<string, unknown>): LocalRateLimitSpec | undefined {
  const at = ["spec", "rateLimit"];
  const local = cfg["local"] as Record<string, unknown> | undefined;
  if (local === undefined) {
    if (cfg["global"] === undefined) reporter.warn(p, at, "rateLimit sets neither a local nor a global limit: it limits nothing", "add local.tokenBucket {maxTokens, fillInterval}, or global {descriptors, extensionRef}");
    return undefined;
  }
  const bucket = local["tokenBucket"] as Record<string, unknown> | undefined;
  if (bucket === undefined) {
    const set = Object.keys(local);
    if (set.length === 0) return "off";
    reporter.error(p, [...at, "local"], `${set.join(" and ")} ${set.length === 1 ? "needs" : "need"} a tokenBucket`, "add tokenBucket {maxTokens: 10, tokensPerFill: 10, fillInterval: 1s}, or write local: {} to turn the limit off");
    return undefined;
  }
  const fillIntervalMs = parseDuration(String(bucket["fillInterval"]));
  if (fillIntervalMs === undefined) return undefined;
  if (fillIntervalMs < MIN_FILL_INTERVAL_MS) {
    reporter.error(p, [...at, "local", "tokenBucket", "fillInterval"], `fillInterval must be at least ${MIN_FILL_INTERVAL_MS}ms`, "for a finer rate, raise tokensPerFill and maxTokens over a longer interval");
    return undefined;
  }
  return {
    maxTokens: bucket["maxTokens"] as number,
    tokensPerFill: (bucket["tokensPerFill"] as number | undefined) ?? 1,
    fillIntervalMs,
    enabledShare: ((local["percentEnabled"] as number | undefined) ?? 100) / 100,
    enforcedShare: ((local["percentEnforced"] as number | undefined) ?? 100) / 100,
    policyName: key(p),
  };
}
