// Which objects a policy attaches to: by name (`targetRefs`) or, for kgateway's policies, by
// labels (`targetSelectors`), always in the policy's own namespace (Gateway API local policy
// attachment). A sectionName narrows a route policy to the rules of that name, or attaches a
// Gateway policy to that listener alone (see listener-scope.ts).

import { listenerScope } from "./listener-scope.ts";
import { extAuthDisables } from "./traffic-ext-auth.ts";
import { byPrecedence, hasLabels } from "./resources.ts";
import type { Reporter, Resource, Segments } from "./resources.ts";

const GATEWAY_GROUP = "gateway.networking.k8s.io";

/** Sections whose policy, ignored, would let through what it should refuse. */
export const ACCESS_CONTROL_SECTIONS = ["acl", "apiKeyAuth", "basicAuth", "csrf", "extAuth", "jwtAuth", "rbac"] as const;

/** An object a policy may attach to, with the names its sectionName may give. */
export interface TargetableObject {
  readonly resource: Resource;
  /** The route's rule names, or the Gateway's listener names. */
  readonly sections: ReadonlySet<string>;
}

/**
 * The objects of one kind a policy may attach to (by `namespace/name`), and what a
 * sectionName does to them: `narrow` the policy to the rules of that name; `listener`:
 * attach it to that listener of the Gateway, under its `listenerScope` key; `ignored`: it
 * covers the whole object (a warning).
 */
export interface TargetKind {
  readonly objects: ReadonlyMap<string, TargetableObject>;
  readonly sectionName: "narrow" | "listener" | "ignored";
}

export interface Attached {
  readonly policy: Resource;
  /** The targetRef or targetSelector that attached it (the first, when several do). */
  readonly at: Segments;
  /**
   * The rules (by name) the policy's references narrow to, each with the first reference
   * naming it; undefined when one of them covers the whole object. Only for `narrow` kinds.
   */
  sections: { readonly names: Map<string, Segments>; readonly at: Segments } | undefined;
}

/**
 * Policies grouped by the kind, then the key, of the object they attach to, each list oldest
 * first; `kinds` in the order warnings name them. Targets not in the file are warned about.
 */
export function attachPolicies(policies: readonly Resource[], kinds: ReadonlyMap<string, TargetKind>, reporter: Reporter): Map<string, Map<string, Attached[]>> {
  const byKind = new Map([...kinds.keys()].map((kind) => [kind, new Map<string, Attached[]>()]));
  const kindNames = [...kinds.keys()];
  for (const p of policies) {
    const refs = (p.spec["targetRefs"] ?? []) as Record<string, unknown>[];
    const selectors = (p.spec["targetSelectors"] ?? []) as Record<string, unknown>[];
    if (refs.length === 0 && selectors.length === 0) {
      reporter.error(p, ["spec"], `${p.kind} attaches to nothing: it has neither targetRefs nor targetSelectors`, `targetRefs: [{group: ${GATEWAY_GROUP}, kind: ${kindNames[0]}, name: ...}], or targetSelectors: [{group: ${GATEWAY_GROUP}, kind: ${kindNames[0]}, matchLabels: {...}}]`);
      continue;
    }
    const attach = (at: Segments, kind: string, objectKey: string, section: string | undefined): void => {
      const handling = kinds.get(kind)!.sectionName;
      const out = byKind.get(kind)!;
      const k = section !== undefined && handling === "listener" ? listenerScope(objectKey, section) : objectKey;
      const list = out.get(k) ?? [];
      const narrowed = section !== undefined && handling === "narrow" ? { names: new Map([[section, at]]), at } : undefined;
      const seen = list.find((a) => a.policy === p);
      if (seen === undefined) list.push({ policy: p, at, sections: narrowed });
      // A second reference to the same object widens the first: to more rules, or to all.
      else if (seen.sections !== undefined) {
        if (narrowed === undefined) seen.sections = undefined;
        else if (!seen.sections.names.has(section!)) seen.sections.names.set(section!, at);
      }
      out.set(k, list);
    };
    refs.forEach((t, i) => {
      const at = ["spec", "targetRefs", i];
      const kind = targetKindOf(p, t, at, kinds, reporter, "targetRef");
      if (kind === undefined) return;
      if (t["namespace"] !== undefined && t["namespace"] !== p.namespace) {
        reporter.warn(p, [...at, "namespace"], "a policy can target objects in its own namespace only; this targetRef is ignored", `move the policy to namespace "${String(t["namespace"])}"`);
        return;
      }
      const section = sectionOf(p, t, at, kind, kinds.get(kind)!, reporter);
      const objectKey = `${p.namespace}/${String(t["name"])}`;
      const target = kinds.get(kind)!.objects.get(objectKey);
      if (target === undefined) {
        if (reporter.isBroken(kind, p.namespace, String(t["name"]))) return;
        reporter.warn(p, [...at, "name"], `${kind} ${objectKey} is not in the file; this targetRef has no effect`, undefined);
        return;
      }
      if (section !== undefined && kinds.get(kind)!.sectionName === "listener" && !target.sections.has(section)) {
        reportMissingListener(p, [...at, "sectionName"], `${kind} ${objectKey} has no listener named "${section}"`, "targetRef", reporter);
        return;
      }
      attach(at, kind, objectKey, section);
    });
    selectors.forEach((s, i) => {
      const at = ["spec", "targetSelectors", i];
      const kind = targetKindOf(p, s, at, kinds, reporter, "targetSelector");
      if (kind === undefined) return;
      const targetKind = kinds.get(kind)!;
      const section = sectionOf(p, s, at, kind, targetKind, reporter);
      const matchLabels = s["matchLabels"] as Readonly<Record<string, string>>;
      if (Object.keys(matchLabels).length === 0) {
        // kgateway selects nothing with it, Kubernetes label selection everything: either
        // reading would surprise someone, and one of them opens what a policy guards.
        reporter.error(p, [...at, "matchLabels"], `an empty matchLabels selects no ${kind} in kgateway, and every one of the namespace in a Kubernetes label selector`, `name the labels the ${kind}s the policy is for carry, e.g. {tier: public}`);
        return;
      }
      const selected = [...targetKind.objects].filter(([, o]) => o.resource.namespace === p.namespace && hasLabels(o.resource, matchLabels));
      const controls = accessControlsOf(p);
      if (selected.length === 0) {
        if (reporter.hasBroken(kind, p.namespace)) return;
        // A misspelt label would leave the objects meant without the access control.
        const consequence = controls.length === 0 ? "this targetSelector has no effect" : `${controls.join(" and ")} ${controls.length === 1 ? "applies" : "apply"} to nothing through it`;
        reporter.report(controls.length === 0 ? "warning" : "error", p, [...at, "matchLabels"], `no ${kind} in namespace ${p.namespace} carries the labels ${JSON.stringify(matchLabels)}; ${consequence}`, `label the ${kind}s the policy is for (metadata.labels), or change matchLabels`);
        return;
      }
      // A selected object without the named section is passed over: the selector names the
      // section of each object that has one.
      const withSection = section === undefined || targetKind.sectionName === "ignored" ? selected : selected.filter(([, o]) => o.sections.has(section));
      const what = targetKind.sectionName === "listener" ? "listener" : "rule";
      if (withSection.length === 0) {
        const message = `no ${kind} this targetSelector selects (${selected.map(([k]) => k).join(", ")}) has a ${what} named "${section}"`;
        if (what === "listener") reportMissingListener(p, [...at, "sectionName"], message, "targetSelector", reporter);
        else reportMissingRule(p, [...at, "sectionName"], message, reporter);
        return;
      }
      if (controls.length > 0 && withSection.length < selected.length) {
        const passed = selected.filter(([, o]) => !o.sections.has(section!)).map(([k]) => k);
        reporter.warn(p, [...at, "sectionName"], `${controls.join(" and ")} ${controls.length === 1 ? "does" : "do"} not apply to ${kind} ${passed.join(", ")} through this targetSelector: ${passed.length === 1 ? "it has" : "they have"} no ${what} named "${section}"`, `if ${passed.length === 1 ? "it is" : "they are"} meant to be guarded, check the ${what} names, or target ${passed.length === 1 ? "it" : "them"} by another reference`);
      }
      for (const [objectKey] of withSection) attach(at, kind, objectKey, section);
    });
  }
  for (const out of byKind.values()) for (const list of out.values()) list.sort((a, b) => byPrecedence(a.policy, b.policy));
  return byKind;
}

/** The kind a reference names, when the policy may attach to it (else a warning). */
function targetKindOf(p: Resource, ref: Record<string, unknown>, at: Segments, kinds: ReadonlyMap<string, TargetKind>, reporter: Reporter, what: string): string | undefined {
  const group = (ref["group"] ?? GATEWAY_GROUP) as string;
  const kind = String(ref["kind"]);
  if (group === GATEWAY_GROUP && kinds.has(kind)) return kind;
  const names = [...kinds.keys()];
  reporter.warn(p, at, `${p.kind} here can target a ${names.join(" or a ")} only; this ${what} (${group}/${kind}) is ignored`, `kind: ${names.join(" or ")}, group: ${GATEWAY_GROUP}`);
  return undefined;
}

/** A reference's sectionName where its kind reads one (otherwise a warning, and the whole object). */
function sectionOf(p: Resource, ref: Record<string, unknown>, at: Segments, kind: string, targetKind: TargetKind, reporter: Reporter): string | undefined {
  const section = ref["sectionName"] as string | undefined;
  if (section === undefined || targetKind.sectionName !== "ignored") return section;
  reporter.warn(p, [...at, "sectionName"], "sectionName is not supported; the policy applies to the whole " + kind, "remove sectionName");
  return undefined;
}

/** The access controls a policy sets that would be lost (a `disable`, or extAuth's `enablement: DisableAll`, opens nothing). */
function accessControlsOf(p: Resource): string[] {
  return ACCESS_CONTROL_SECTIONS.filter((name) => {
    const cfg = p.spec[name] as Record<string, unknown> | undefined;
    return cfg !== undefined && !(name === "extAuth" ? extAuthDisables(cfg) : cfg["disable"] !== undefined);
  });
}

/**
 * A misspelt listener would leave the one meant without its access control: that fails the
 * load, as a rule name a route lacks does. Anything else is a warning.
 */
function reportMissingListener(p: Resource, at: Segments, message: string, what: string, reporter: Reporter): void {
  const controls = accessControlsOf(p);
  const consequence = controls.length === 0 ? `this ${what} has no effect` : `${controls.join(" and ")} ${controls.length === 1 ? "applies" : "apply"} to no listener through it`;
  reporter.report(controls.length === 0 ? "warning" : "error", p, at, `${message}; ${consequence}`, "name one of the Gateway's spec.listeners, or remove sectionName to cover the whole Gateway");
}

/** As a targetRef's rule name a route lacks: an error for any access-control section, a `disable` too. */
function reportMissingRule(p: Resource, at: Segments, message: string, reporter: Reporter): void {
  const controls = ACCESS_CONTROL_SECTIONS.filter((name) => p.spec[name] !== undefined);
  const consequence = controls.length === 0 ? "this targetSelector has no effect" : `${controls.join(" and ")} ${controls.length === 1 ? "applies" : "apply"} to no rule through it`;
  reporter.report(controls.length === 0 ? "warning" : "error", p, at, `${message}; ${consequence}`, "name a rule the selected routes have (spec.rules[].name), or remove sectionName to cover their rules");
}
