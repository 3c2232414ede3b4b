// kgateway's TrafficPolicy `faultInjection` (Envoy's fault filter): a delay, an abort and a
// response rate limit, each on a share of requests, and a bound on the faults active at once.
// `disable: {}` turns off the fault injection a rule's Gateway would give it.
import { parseDuration } from "./duration.ts";
import type { FilterModel } from "./model.ts";
import { type Reporter, type Resource, key } from "./resources.ts";

/** kgateway's CRD bounds on fixedDelay. */
const MIN_DELAY_MS = 1;
const MAX_DELAY_MS = 3_600_000;

export type FaultInjectionPolicyModel = Extract<FilterModel, { type: "FaultInjection" | "NoFaultInjection" }>;

export function policyFaultInjection(p: Resource, reporter: Reporter, cfg: Record<string, unknown>): FaultInjectionPolicyModel | undefined {
  const at = ["spec", "faultInjection"];
  const faults = (["delay", "abort", "responseRateLimit"] as const).filter((f) => cfg[f] !== undefined);
  if (cfg["disable"] !== undefined) {
    if (faults.length === 0 && cfg["maxActiveFaults"] === undefined) return { type: "NoFaultInjection" };
    reporter.error(p, [...at, "disable"], "disable is set with other fields; it turns off fault injection whole", "keep disable: {} alone to turn off a Gateway's fault injection, or remove it");
    return undefined;
  }
  if (faults.length === 0) {
    reporter.error(p, at, "faultInjection needs one of delay, abort, responseRateLimit or disable", "add delay: {fixedDelay: 2s}, abort: {httpStatus: 503}, or responseRateLimit: {kbitsPerSecond: 64}");
    return undefined;
  }
  const share = (c: Record<string, unknown>): number => ((c["percentage"] as number | undefined) ?? 100) / 100;
  let usable = true;

  const d = cfg["delay"] as Record<string, unknown> | undefined;
  let delay: { ms: number; share: number } | undefined;
  if (d !== undefined) {
    const ms = parseDuration(String(d["fixedDelay"]));
    if (ms === undefined || ms < MIN_DELAY_MS || ms > MAX_DELAY_MS) {
      reporter.error(p, [...at, "delay", "fixedDelay"], `${String(d["fixedDelay"])} is not a delay from 1ms to 1h`, "write a Gateway API duration such as 500ms or 2s");
      usable = false;
    } else delay = { ms, share: share(d) };
  }

  const a = cfg["abort"] as Record<string, unknown> | undefined;
  let abort: { httpStatus: number | undefined; grpcStatus: number | undefined; share: number } | undefined;
  if (a !== undefined) {
    const httpStatus = a["httpStatus"] as number | undefined;
    const grpcStatus = a["grpcStatus"] as number | undefined;
    if ((httpStatus === undefined) === (grpcStatus === undefined)) {
      reporter.error(p, [...at, "abort"], httpStatus === undefined ? "abort needs httpStatus or grpcStatus" : "httpStatus and grpcStatus are both set; an abort answers with one", "write httpStatus: 503 for HTTP clients, or grpcStatus: 14 (UNAVAILABLE) for gRPC ones");
      usable = false;
    } else abort = { httpStatus, grpcStatus, share: share(a) };
  }

  const r = cfg["responseRateLimit"] as Record<string, unknown> | undefined;
  // kgateway hands the number to Envoy's limit_kbps, which Envoy reads as KiB/s whatever the
  // field's name says: users tuned their rates by what Envoy did.
  const responseRateLimit = r === undefined ? undefined : { bytesPerSecond: (r["kbitsPerSecond"] as number) * 1024, share: share(r) };

  if (!usable) return undefined;
  return { type: "FaultInjection", policy: key(p), delay, abort, responseRateLimit, maxActiveFaults: cfg["maxActiveFaults"] as number | undefined };
}
