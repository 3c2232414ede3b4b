// What csrf checks found, per route, rule, policy and outcome (`tollgate.csrf.checks`), as
// Envoy counts csrf.request_valid, request_invalid and missing_source_origin: a policy in
// shadow shows here what enforcing it would refuse.
import type { CsrfOutcome } from "./csrf.ts";
import { RuleCounts } from "./rule-counts.ts";

export class CsrfChecks extends RuleCounts<CsrfOutcome> {}
