// How many route rules a plan serves, counted as the config writes them.
import type { ListenerModel, RuleModel } from "../config/model.ts";
import type { RuntimePlan } from "./types.ts";

/**
 * Route rules as the config has them, one per listener they attach to: the compiled copies
 * of a rule whose matches render several `http.route` templates count once.
 */
export function attachedRuleCount(plan: RuntimePlan): number {
  const listenersByRule = new Map<RuleModel, Set<ListenerModel>>();
  for (const r of plan.rules) {
    let listeners = listenersByRule.get(r.model);
    if (listeners === undefined) listenersByRule.set(r.model, (listeners = new Set()));
    listeners.add(r.listener);
  }
  let count = 0;
  for (const listeners of listenersByRule.values()) count += listeners.size;
  return count;
}
