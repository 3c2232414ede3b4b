// What ExternalAuth checks decided, per route, rule, the TrafficPolicy that gave the check
// ('' for the HTTPRoute filter) and outcome (`tollgate.ext_authz.checks`), as Envoy counts
// ext_authz.ok, denied, error, failure_mode_allowed and disabled: a request let through
// unchecked (failOpen, percentageEnabled) is counted, never silent.
import { RuleCounts } from "./rule-counts.ts";

export type ExternalAuthOutcome = "ok" | "denied" | "error_allowed" | "error_refused" | "not_sampled";

export class ExternalAuthCounts extends RuleCounts<ExternalAuthOutcome> {}
