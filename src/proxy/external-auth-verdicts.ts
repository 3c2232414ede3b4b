// What a rule does with its ExternalAuth check, the same for plain requests and upgrades:
// whether this request is checked at all (percentageEnabled), every verdict counted
// (tollgate.ext_authz.checks), and no verdict answered as the policy says, refused with its
// statusOnError or, with failOpen, let through unchecked. A denial is never "no verdict":
// failOpen never lets one through.
import type { AuthVerdictSink } from "./auth-check.ts";
import type { AuthGrant } from "./auth-grant.ts";
import { Flag } from "./errors.ts";
import type { ExternalAuthCounts, ExternalAuthOutcome } from "./external-auth-counts.ts";
import type { ExternalAuthPolicy } from "./external-auth-policy.ts";
import { Failure } from "./failures.ts";
import type { RuleCountKey } from "./rule-counts.ts";

/** A denial whose answer cannot be relayed: Envoy's default denial status, the gateway's JSON. */
export const unrelayableDenialRefusal = new Failure("403", Flag.unauthorizedExternalService, 403, "ext_authz_error", "", false, false);

/** How the request path or the upgrade path carries out a verdict. */
export interface ExternalAuthActions {
  /** Go on; `grant` is undefined when failOpen let the request through without a verdict. */
  allow(grant: AuthGrant | undefined): void;
  /** Relay the service's denial. */
  deny(status: number, headers: Record<string, string | string[]>, body: Buffer): void;
  /** Answer with the gateway's own refusal. */
  refuse(failure: Failure, message: string): void;
  abandon(): void;
}

/** Where the rule's checks count. */
export function checkCountKey(policy: ExternalAuthPolicy, route: string, rule: string): RuleCountKey {
  return { route, rule, policy: policy.policyName };
}

/** Whether this request is checked; one percentageEnabled leaves out is counted as `not_sampled`. */
export function checksThisRequest(policy: ExternalAuthPolicy, key: RuleCountKey, counts: ExternalAuthCounts | undefined): boolean {
  if (policy.sampled()) return true;
  counts?.count("not_sampled", key);
  return false;
}

export function countedVerdicts(policy: ExternalAuthPolicy, key: RuleCountKey, counts: ExternalAuthCounts | undefined, act: ExternalAuthActions): AuthVerdictSink {
  const count = (outcome: ExternalAuthOutcome): void => counts?.count(outcome, key);
  return {
    authAllowed(grant) {
      count("ok");
      act.allow(grant);
    },
    authDenied(status, headers, body) {
      count("denied");
      act.deny(status, headers, body);
    },
    unusableDenial(message) {
      count("denied");
      act.refuse(unrelayableDenialRefusal, message);
    },
    checkFailed(message) {
      if (policy.failOpen) {
        count("error_allowed");
        act.allow(undefined);
        return;
      }
      count("error_refused");
      act.refuse(policy.failure, message);
    },
    abandon() {
      act.abandon();
    },
  };
}
