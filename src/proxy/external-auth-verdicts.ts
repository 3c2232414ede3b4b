// What a rule does with each verdict of its ExternalAuth check, the same for plain requests
// and upgrades: every verdict counted (tollgate.ext_authz.checks), and no verdict answered as
// the policy says, refused with its statusOnError or, with failOpen, let through unchecked.
// A denial is never "no verdict": failOpen never lets one through.
import type { AuthVerdictSink } from "./auth-check.ts";
import type { AuthGrant } from "./auth-grant.ts";
import { Flag } from "./errors.ts";
import type { ExternalAuthCounts } from "./external-auth-counts.ts";
import type { ExternalAuthPolicy } from "./external-auth-policy.ts";
import { Failure } from "./failures.ts";

/** A denial whose answer cannot be relayed: Envoy's default denial status, the gateway's JSON. */
export const unusableDenial = new Failure("403", Flag.unauthorizedExternalService, 403, "ext_authz_error", "", false, false);

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

export function countedVerdicts(policy: ExternalAuthPolicy, route: string, rule: string, counts: ExternalAuthCounts | undefined, act: ExternalAuthActions): AuthVerdictSink {
  const count = (outcome: Parameters<ExternalAuthCounts["count"]>[0]): void => counts?.count(outcome, policy.policyName, route, rule);
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
      act.refuse(unusableDenial, message);
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
