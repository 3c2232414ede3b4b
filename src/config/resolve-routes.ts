// HTTPRoutes: attachment to gateways/listeners, matches with Gateway API defaults, filters,
// weighted backends, timeouts and retries.
import type { ListenerModel, MatchModel, RetryModel, RouteParent, RuleModel, WeightedBackendModel } from "./model.ts";
import { describeNamespaceSelection, namespaceSelected } from "./namespace-selection.ts";
import { parseDuration } from "./duration.ts";
import { closest } from "./did-you-mean.ts";
import { hostnameProblem, hostnamesIntersect } from "./hostnames.ts";
import type { BackendResolver } from "./resolve-backends.ts";
import { resolveFilters } from "./resolve-filters.ts";
import type { GatewayDraft } from "./resolve-gateways.ts";
import type { Reporter, Resource, Segments } from "./resources.ts";
import { alternateReading, normalizePath } from "../router/path-normalize.ts";
import { neverMatchedText } from "./path-pattern-check.ts";
import { HTTP_TOKEN_HINT, SECTION_NAME_HINT, isHttpToken, isSectionName } from "./name-formats.ts";
import { regexProblem } from "./regex-check.ts";
import { shadowedHostnames } from "./listener-shadowing.ts";

const GATEWAY_GROUP = "gateway.networking.k8s.io";
export const DEFAULT_RETRY = { attempts: 1, backoffMs: 25, codes: [502, 503, 504] } as const;

export interface RouteDraft {
  readonly resource: Resource;
  readonly parents: readonly RouteParent[];
  readonly hostnames: readonly string[];
  readonly rules: readonly RuleModel[];
}

export function resolveRoute(
  r: Resource,
  reporter: Reporter,
  gateways: ReadonlyMap<string, GatewayDraft>,
  backends: BackendResolver,
  directResponses: ReadonlyMap<string, Resource>,
): RouteDraft {
  const hostnames = ((r.spec["hostnames"] ?? []) as string[]).map((h, i) => {
    const problem = hostnameProblem(h);
    if (problem !== undefined) reporter.error(r, ["spec", "hostnames", i], `invalid hostname "${h}": ${problem}`, "use e.g. example.com or *.example.com");
    return h;
  });
  const parents = resolveParents(r, reporter, gateways, hostnames);
  const rules = ((r.spec["rules"] ?? [{}]) as Record<string, any>[]).map((rule, i) => resolveRule(r, reporter, rule, i, backends, directResponses));
  const ruleNames = new Map<string, number>();
  rules.forEach((rule) => {
    if (rule.name === undefined) return;
    if (!isSectionName(rule.name)) reporter.error(r, ["spec", "rules", rule.index, "name"], `"${rule.name}" is not a valid rule name`, SECTION_NAME_HINT);
    const prev = ruleNames.get(rule.name);
    if (prev !== undefined) reporter.error(r, ["spec", "rules", rule.index, "name"], `duplicate rule name "${rule.name}" (also rules[${prev}])`, "rule names must be unique in a route");
    else ruleNames.set(rule.name, rule.index);
  });
  return { resource: r, parents, hostnames, rules };
}

/**
 * The Gateway API CRD's rule: a route may refer to one parent several times only to attach to
 * different listeners, so each such ref names a sectionName or a port, and no two are alike.
 */
function checkRepeatedParents(r: Resource, reporter: Reporter, refs: readonly Record<string, any>[]): void {
  const parentOf = (p: Record<string, any>): string => [p["group"] ?? GATEWAY_GROUP, p["kind"] ?? "Gateway", p["namespace"] ?? r.namespace, p["name"]].join("/");
  const byParent = new Map<string, number[]>();
  refs.forEach((p, i) => {
    const parent = parentOf(p);
    byParent.set(parent, [...(byParent.get(parent) ?? []), i]);
  });
  for (const indexes of byParent.values()) {
    if (indexes.length < 2) continue;
    const seen = new Map<string, number>();
    for (const i of indexes) {
      const p = refs[i]!;
      if (p["sectionName"] === undefined && p["port"] === undefined) {
        reporter.error(r, ["spec", "parentRefs", i], `Gateway ${String(p["name"])} is referred to ${indexes.length} times; each of those refs needs a sectionName or a port`, "add the listener's sectionName (or port) to each, or keep one ref");
        continue;
      }
      const listener = `${p["sectionName"] ?? ""}:${p["port"] ?? ""}`;
      const first = seen.get(listener);
      if (first !== undefined) reporter.error(r, ["spec", "parentRefs", i], `the same parentRef as parentRefs[${first}]`, "remove the duplicate");
      else seen.set(listener, i);
    }
  }
}

function resolveParents(r: Resource, reporter: Reporter, gateways: ReadonlyMap<string, GatewayDraft>, hostnames: readonly string[]): RouteParent[] {
  const out: RouteParent[] = [];
  const refs = (r.spec["parentRefs"] ?? []) as Record<string, any>[];
  const attached: { listener: ListenerModel; at: Segments }[] = [];
  let brokenParents = 0;
  if (refs.length === 0) reporter.warn(r, ["spec"], "the route has no parentRefs and attaches to no gateway", "add parentRefs: [{name: <gateway>}]");
  checkRepeatedParents(r, reporter, refs);
  refs.forEach((p, i) => {
    const at = ["spec", "parentRefs", i];
    const group = p["group"] ?? GATEWAY_GROUP;
    const kind = p["kind"] ?? "Gateway";
    if (group !== GATEWAY_GROUP || kind !== "Gateway") {
      reporter.warn(r, at, `parent kind ${group}/${kind} is not supported; this parentRef is ignored`, "reference a Gateway");
      return;
    }
    const ns = (p["namespace"] ?? r.namespace) as string;
    const gw = gateways.get(`${ns}/${String(p["name"])}`);
    if (gw === undefined) {
      if (reporter.isBroken("Gateway", ns, String(p["name"]))) {
        brokenParents++;
        return;
      }
      const guess = closest(`${ns}/${String(p["name"])}`, [...gateways.keys()]);
      reporter.warn(r, [...at, "name"], `Gateway ${ns}/${String(p["name"])} is not in the file; this parentRef is ignored`, guess ? `did you mean ${guess}?` : undefined);
      return;
    }
    const sectionName = p["sectionName"] as string | undefined;
    const port = p["port"] as number | undefined;
    let candidates = gw.listeners;
    if (sectionName !== undefined) {
      candidates = candidates.filter((l) => l.name === sectionName);
      if (candidates.length === 0) {
        const guess = closest(sectionName, gw.listeners.map((l) => l.name));
        reporter.warn(r, [...at, "sectionName"], `Gateway ${ns}/${gw.resource.name} has no listener "${sectionName}"; this parentRef is ignored`, guess ? `did you mean "${guess}"?` : `listeners: ${gw.listeners.map((l) => l.name).join(", ")}`);
        return;
      }
    }
    if (port !== undefined) {
      candidates = candidates.filter((l) => l.port === port);
      if (candidates.length === 0) {
        reporter.warn(r, [...at, "port"], `Gateway ${ns}/${gw.resource.name} has no ${sectionName ? `listener "${sectionName}" on` : "listener on"} port ${port}; this parentRef is ignored`, undefined);
        return;
      }
    }
    const reasons: string[] = [];
    const accepted = candidates.filter((l) => {
      const kinds = gw.allowedKinds.get(l.name);
      if (kinds !== undefined && !kinds.includes("HTTPRoute")) {
        reasons.push(`listener "${l.name}" admits no HTTPRoutes`);
        return false;
      }
      const nsOk = l.allowedRoutesFrom === "All" || (l.allowedRoutesFrom === "Same" ? r.namespace === ns : namespaceSelected(l.allowedNamespaces, r.namespace));
      if (!nsOk) {
        reasons.push(`listener "${l.name}" admits routes from ${l.allowedRoutesFrom === "Same" ? `namespace "${ns}" only` : describeNamespaceSelection(l.allowedNamespaces)}`);
        return false;
      }
      if (l.hostname !== undefined && hostnames.length > 0 && !hostnames.some((h) => hostnamesIntersect(h, l.hostname!))) {
        reasons.push(`listener "${l.name}" hostname ${l.hostname} matches none of the route's hostnames`);
        return false;
      }
      return true;
    });
    if (accepted.length === 0) {
      reporter.warn(r, at, `Gateway ${ns}/${gw.resource.name} does not accept this route: ${reasons.join("; ")}`, "check allowedRoutes, sectionName, port and hostnames");
      return;
    }
    for (const listener of accepted) attached.push({ listener, at });
    out.push({ gatewayKey: `${ns}/${gw.resource.name}`, sectionName, port, listenerNames: accepted.map((l) => l.name) });
  });
  warnShadowed(r, reporter, gateways, attached, hostnames);
  if (refs.length > brokenParents && out.length === 0) reporter.warn(r, ["spec", "parentRefs"], "the route attaches to no gateway listener and serves no traffic", undefined);
  return out;
}

/**
 * A warning for each route hostname a more specific listener on the port takes whole, unless
 * the route is attached to that listener too (a parentRef naming the whole Gateway).
 */
function warnShadowed(
  r: Resource,
  reporter: Reporter,
  gateways: ReadonlyMap<string, GatewayDraft>,
  attached: readonly { listener: ListenerModel; at: Segments }[],
  hostnames: readonly string[],
): void {
  for (const { listener, at } of attached) {
    const servedThrough = new Set(attached.filter((a) => a.listener.port === listener.port).map((a) => a.listener.hostname?.toLowerCase()));
    const portHostnames = [...gateways.values()].flatMap((g) => g.listeners.filter((l) => l.port === listener.port && !servedThrough.has(l.hostname?.toLowerCase())).map((l) => l.hostname));
    warnShadowedOn(r, reporter, listener, hostnames, portHostnames, at);
  }
}

function warnShadowedOn(r: Resource, reporter: Reporter, listener: ListenerModel, hostnames: readonly string[], portHostnames: readonly (string | undefined)[], at: Segments): void {
  for (const { hostname, owner } of shadowedHostnames(listener.hostname, hostnames, portHostnames)) {
    reporter.warn(
      r,
      at,
      `${hostname} is never answered through listener "${listener.name}": the listener for ${owner} on port ${listener.port} is more specific and takes those requests (listener isolation)`,
      `attach the route to that listener (sectionName), or drop ${hostname} from its hostnames`,
    );
  }
}

/** False, with an error, when `value` is not a regular expression the router may run. */
function checkRegex(r: Resource, reporter: Reporter, value: string, at: Segments): boolean {
  const problem = regexProblem(value);
  if (problem === undefined) return true;
  reporter.report(problem.severity, r, at, problem.message, problem.hint);
  return problem.severity !== "error";
}

/** A warning when a path pattern spells out text no normalised request path contains. */
function checkPathPattern(r: Resource, reporter: Reporter, value: string, at: Segments): void {
  const never = neverMatchedText(value);
  if (never === undefined) return;
  reporter.warn(r, at, `requests are normalised before routing and ${never.reason}, so no request path contains "${never.text}" where this pattern needs it`, never.hint);
}

function resolveMatches(r: Resource, reporter: Reporter, list: Record<string, any>[] | undefined, at: Segments): MatchModel[] {
  if (list === undefined || list.length === 0) {
    return [{ path: { type: "PathPrefix", value: "/" }, method: undefined, headers: [], queryParams: [], source: reporter.source(r, at) }];
  }
  return list.map((m, i) => {
    const mat = [...at, "matches", i];
    const type = (m["path"]?.["type"] ?? "PathPrefix") as MatchModel["path"]["type"];
    let value = (m["path"]?.["value"] ?? "/") as string;
    if (type === "RegularExpression") {
      if (checkRegex(r, reporter, value, [...mat, "path", "value"])) checkPathPattern(r, reporter, value, [...mat, "path", "value"]);
    } else if (!value.startsWith("/")) reporter.error(r, [...mat, "path", "value"], `a ${type} path must start with /`, `write "/${value}"`);
    else if (/[?#]/.test(value)) reporter.error(r, [...mat, "path", "value"], "a path match cannot contain ? or #", "match query parameters with queryParams");
    else if (checkPathCharacters(r, reporter, value, [...mat, "path", "value"])) value = normalizedMatchPath(r, reporter, value, [...mat, "path", "value"]);
    const values = (field: "headers" | "queryParams", lower: boolean) => {
      const seen = new Set<string>();
      return ((m[field] ?? []) as { type?: string; name: string; value: string }[]).flatMap((h, j) => {
        const name = lower ? h.name.toLowerCase() : h.name;
        const vtype = (h.type ?? "Exact") as "Exact" | "RegularExpression";
        if (seen.has(name)) {
          reporter.warn(r, [...mat, field, j, "name"], `"${h.name}" is matched twice; Gateway API uses the first`, "remove the duplicate");
          return [];
        }
        seen.add(name);
        if (!isHttpToken(h.name)) reporter.error(r, [...mat, field, j, "name"], `"${h.name}" is not a valid ${field === "headers" ? "header" : "query parameter"} name`, HTTP_TOKEN_HINT);
        if (vtype === "RegularExpression") checkRegex(r, reporter, h.value, [...mat, field, j, "value"]);
        else if (field === "queryParams") checkDecodedQueryValue(r, reporter, h.value, [...mat, field, j, "value"]);
        return [{ type: vtype, name, value: h.value }];
      });
    };
    return {
      path: { type, value },
      method: m["method"] as string | undefined,
      headers: values("headers", true),
      queryParams: values("queryParams", false),
      source: reporter.source(r, mat),
    };
  });
}

/**
 * Query values are compared percent-decoded, `+` as a space (Envoy compares the raw text), so
 * an Exact value written encoded would need a request to encode it twice.
 */
function checkDecodedQueryValue(r: Resource, reporter: Reporter, value: string, at: Segments): void {
  const escape = /%[0-9A-Fa-f]{2}/.exec(value);
  if (escape !== null) {
    let decoded: string | undefined;
    try {
      decoded = decodeURIComponent(value);
    } catch {
      decoded = undefined;
    }
    const hint = decoded === undefined ? "write the value decoded" : `write the value decoded: ${JSON.stringify(decoded)}`;
    reporter.warn(r, at, `query values are compared percent-decoded, so ${escape[0]} here matches only a request that encodes it twice (${escape[0].replace("%", "%25")})`, hint);
  } else if (value.includes("+")) {
    reporter.warn(r, at, "query values are compared decoded and a + in a request's query decodes to a space, so this + matches only %2B", "write a space to match a +, or keep the + if %2B is what clients send");
  }
}

/** What an Exact or PathPrefix value may hold (the Gateway API CRD's rule): path characters and %XX escapes. */
const PATH_CHARACTER = /[-A-Za-z0-9/._~!$&'()*+,;=:@%]/;

/** False, after reporting it, when the value holds a character no request path carries unescaped. */
function checkPathCharacters(r: Resource, reporter: Reporter, value: string, at: Segments): boolean {
  for (const ch of value) {
    if (PATH_CHARACTER.test(ch)) continue;
    const escaped = [...Buffer.from(ch, "utf8")].map((b) => `%${b.toString(16).toUpperCase().padStart(2, "0")}`).join("");
    reporter.error(r, at, `a path match can hold only URL path characters; ${JSON.stringify(ch)} is not one`, `write it escaped, as requests carry it: ${escaped}`);
    return false;
  }
  return true;
}

/**
 * Requests are routed on their normalised path (docs/proxy.md, "Path normalisation"), so a
 * match value is normalised the same way; one that changes would otherwise never match.
 */
function normalizedMatchPath(r: Resource, reporter: Reporter, value: string, at: Segments): string {
  const normal = normalizePath(value);
  if (normal === undefined) {
    reporter.error(r, at, "every % in a path match must start an escape of two hex digits other than %00", "write a literal % as %25; requests with %00 in the path are refused");
    return value;
  }
  if (/\/\.\.?(\/|$)/.test(value.replaceAll("\\", "/"))) {
    // Resolving `..` would move the match elsewhere (`/internal/..` is `/`, every path).
    reporter.error(r, at, "a path match cannot contain . or .. segments", `write "${normal}" if that is the path meant`);
    return value;
  }
  if (normal !== value) {
    reporter.warn(r, at, `requests are normalised before routing, so this matches "${normal}"`, `write "${normal}"`);
  }
  if (alternateReading(normal) !== undefined) {
    reporter.warn(
      r,
      at,
      "servers that decode %2F or drop ;parameters read this path differently; its requests get 400 invalid_path unless that reading picks the same rule",
      "match the path without %2F, %5C or ;",
    );
  }
  return normal;
}

function resolveRule(r: Resource, reporter: Reporter, rule: Record<string, any>, index: number, backends: BackendResolver, directResponses: ReadonlyMap<string, Resource>): RuleModel {
  const at = ["spec", "rules", index];
  const matches = resolveMatches(r, reporter, rule["matches"], at);
  const filters = resolveFilters(r, reporter, (rule["filters"] ?? []) as Record<string, any>[], [...at, "filters"], matches, directResponses, backends, false);
  const weighted: WeightedBackendModel[] = [];
  ((rule["backendRefs"] ?? []) as Record<string, any>[]).forEach((b, j) => {
    const bat = [...at, "backendRefs", j];
    const model = backends.resolveRouteRef(r, b as { name: string }, bat);
    const bfilters = resolveFilters(r, reporter, (b["filters"] ?? []) as Record<string, any>[], [...bat, "filters"], matches, directResponses, backends, true);
    const weight = (b["weight"] ?? 1) as number;
    if ("unresolved" in model) weighted.push({ weight, backendKey: "", unresolved: model.unresolved, filters: bfilters });
    else weighted.push({ weight, backendKey: model.key, filters: bfilters });
  });
  const terminal = filters.some((f) => f.type === "RequestRedirect" || f.type === "DirectResponse");
  if (terminal && weighted.length > 0) {
    reporter.warn(r, [...at, "backendRefs"], "backendRefs are never used: a RequestRedirect or DirectResponse filter answers first", "remove the backendRefs or the filter");
  }
  if (terminal && filters.some((f) => f.type === "RequestMirror")) {
    reporter.warn(r, [...at, "filters"], "RequestMirror never runs: a RequestRedirect or DirectResponse filter answers without an upstream request to copy", "remove the RequestMirror or the answering filter");
  }
  const timeouts = resolveTimeouts(r, reporter, rule["timeouts"], [...at, "timeouts"]);
  return {
    index,
    name: rule["name"] as string | undefined,
    matches,
    filters,
    backends: weighted,
    timeouts,
    retry: resolveRetry(r, reporter, rule["retry"], [...at, "retry"]),
    source: reporter.source(r, at),
  };
}

function resolveTimeouts(r: Resource, reporter: Reporter, t: Record<string, string> | undefined, at: Segments): RuleModel["timeouts"] {
  if (t === undefined) return { requestMs: undefined, backendRequestMs: undefined, streamIdleMs: undefined };
  // The schema already rejected malformed durations. A zero duration means "no timeout"; it
  // stays 0 (the proxy treats 0 as off) so that a TrafficPolicy's timeout does not fill it.
  const ms = (v: string | undefined): number | undefined => (v === undefined ? undefined : parseDuration(v));
  const requestMs = ms(t["request"]);
  const backendRequestMs = ms(t["backendRequest"]);
  if (requestMs !== undefined && requestMs > 0 && backendRequestMs !== undefined && backendRequestMs > requestMs) {
    reporter.error(r, [...at, "backendRequest"], `backendRequest (${t["backendRequest"]}) is longer than request (${t["request"]})`, "backendRequest must not exceed request");
  }
  return { requestMs, backendRequestMs, streamIdleMs: undefined };
}

function resolveRetry(r: Resource, reporter: Reporter, retry: Record<string, any> | undefined, at: Segments): RetryModel | undefined {
  if (retry === undefined) return undefined;
  const codes = (retry["codes"] ?? DEFAULT_RETRY.codes) as number[];
  const dupe = codes.findIndex((c, i) => codes.indexOf(c) !== i);
  if (dupe >= 0) reporter.warn(r, [...at, "codes", dupe], `status ${codes[dupe]} is listed twice`, undefined);
  const backoff = retry["backoff"] as string | undefined;
  const attempts = (retry["attempts"] ?? DEFAULT_RETRY.attempts) as number;
  return {
    codes: [...new Set(codes)],
    attempts: attempts + 1,
    backoffMs: backoff === undefined ? DEFAULT_RETRY.backoffMs : (parseDuration(backoff) ?? DEFAULT_RETRY.backoffMs),
    // Gateway API leaves these to the implementation; Envoy-based ones retry them.
    onConnectFailure: true,
    onReset: true,
    onRateLimited: false,
  };
}
