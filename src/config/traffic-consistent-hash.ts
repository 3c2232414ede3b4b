// kgateway's TrafficPolicy `consistentHash` (Envoy's route hash policies): which parts of a
// request make the key that picks a backend's endpoint, and how the policies covering one rule
// merge into a single list, as kgateway documents it: the preferred policy's entries first,
// then the others', duplicates dropped, `sourceIp` and `disable` from the preferred policy alone.
import type { BackendModel, FilterModel, HashPolicyModel, RuleModel } from "./model.ts";
import type { Attached } from "./policy-targets.ts";
import { checkRegexSubstitution } from "./regex-substitution.ts";
import { type Reporter, type Resource, type Segments, key } from "./resources.ts";
import type { RouteDraft } from "./resolve-routes.ts";
import { isHeaderName } from "./header-names.ts";
import { distinctAddressCount } from "./address-key.ts";
import { hashesRequests } from "./backend-load-balancer.ts";

type HeaderPolicy = Extract<HashPolicyModel, { kind: "header" }>;
type CookiePolicy = Extract<HashPolicyModel, { kind: "cookie" }>;
type QueryPolicy = Extract<HashPolicyModel, { kind: "queryParameter" }>;
type SourceIpPolicy = Extract<HashPolicyModel, { kind: "sourceIp" }>;
type ConsistentHashModel = Extract<FilterModel, { type: "ConsistentHash" }>;

/** One policy's `consistentHash`, checked; its lists as written (mergeConsistentHash drops duplicates). */
export interface ConsistentHashSpec {
  readonly policy: string;
  readonly disable: boolean;
  readonly headers: readonly HeaderPolicy[];
  readonly cookies: readonly CookiePolicy[];
  readonly queryParameters: readonly QueryPolicy[];
  readonly sourceIp: SourceIpPolicy | undefined;
  /** filterState entries were written: they count as retained (no default sourceIp), and never give a value. */
  readonly filterState: boolean;
}

/** The pseudo-headers a hash may read: each names a part of the request line. */
const PSEUDO_HEADERS = new Set([":authority", ":path", ":method"]);
/** What kgateway lets a time to live in seconds be: what a protobuf Duration holds. */
const MAX_TTL_SECONDS = 315_576_000_000;
// Printable ASCII but the separator: a ';' would end the Set-Cookie attribute early, and a
// header value cannot carry a control character or one past ASCII (RFC 6265 allows neither).
const COOKIE_TEXT = /^[\x20-\x3a\x3c-\x7e]*$/;

export function policyConsistentHash(p: Resource, reporter: Reporter, cfg: Record<string, unknown>): ConsistentHashSpec | undefined {
  const at = ["spec", "consistentHash"];
  const lists = ["headers", "cookies", "queryParameters", "filterState", "sourceIp"].filter((f) => cfg[f] !== undefined);
  const disable = cfg["disable"] === true;
  if (disable && lists.length > 0) {
    reporter.error(p, [...at, "disable"], `consistentHash.disable cannot be combined with ${lists.join(", ")}`, "keep disable: true to turn hashing off for the rules, or remove it to hash on the fields");
    return undefined;
  }
  let usable = true;
  // Duplicates stay until the merge, which drops every later one across the policies alike.
  const headers = list(cfg, "headers").flatMap((entry, index): HeaderPolicy[] => {
    const policy = headerPolicy(p, reporter, entry, [...at, "headers", index]);
    if (policy === undefined) usable = false;
    return policy === undefined ? [] : [policy];
  });
  const cookies = list(cfg, "cookies").flatMap((entry, index): CookiePolicy[] => {
    const policy = cookiePolicy(p, reporter, entry, [...at, "cookies", index]);
    if (policy === undefined) usable = false;
    return policy === undefined ? [] : [policy];
  });
  const queryParameters = list(cfg, "queryParameters").map((entry): QueryPolicy => ({ kind: "queryParameter", name: String(entry["name"]), terminal: entry["terminal"] === true }));
  if (cfg["filterState"] !== undefined) {
    reporter.warn(p, [...at, "filterState"], "filterState entries never add to the hash key: the gateway keeps no Envoy filter state (as Envoy, an entry whose object is absent is skipped); a rule whose key has no other part goes round-robin", "hash on a header, cookie, query parameter or sourceIp instead");
  }
  const sourceIpCfg = cfg["sourceIp"] as Record<string, unknown> | undefined;
  const sourceIp: SourceIpPolicy | undefined = sourceIpCfg === undefined ? undefined : { kind: "sourceIp", terminal: sourceIpCfg["terminal"] === true };
  if (!usable) return undefined;
  return { policy: key(p), disable, headers, cookies, queryParameters, sourceIp, filterState: list(cfg, "filterState").length > 0 };
}

function list(cfg: Record<string, unknown>, field: string): readonly Record<string, unknown>[] {
  return (cfg[field] as Record<string, unknown>[] | undefined) ?? [];
}

function headerPolicy(p: Resource, reporter: Reporter, entry: Record<string, unknown>, at: Segments): HeaderPolicy | undefined {
  const name = String(entry["headerName"]).toLowerCase();
  if (name.startsWith(":") ? !PSEUDO_HEADERS.has(name) : !isHeaderName(name)) {
    reporter.error(p, [...at, "headerName"], `${JSON.stringify(entry["headerName"])} is not a header the hash can read`, "name a request header (letters, digits and !#$%&'*+-.^_`|~), or :authority, :path or :method");
    return undefined;
  }
  const rewrite = entry["regexRewrite"] as Record<string, unknown> | undefined;
  let regexRewrite: HeaderPolicy["regexRewrite"];
  if (rewrite !== undefined) {
    const pattern = String(rewrite["pattern"]);
    const substitution = String(rewrite["substitution"]);
    if (!checkRegexSubstitution(p, reporter, [...at, "regexRewrite"], pattern, substitution, "a hash key rewrite")) return undefined;
    regexRewrite = { pattern, substitution, source: reporter.source(p, [...at, "regexRewrite", "pattern"]) };
  }
  return { kind: "header", name, regexRewrite, terminal: entry["terminal"] === true };
}

function cookiePolicy(p: Resource, reporter: Reporter, entry: Record<string, unknown>, at: Segments): CookiePolicy | undefined {
  const name = String(entry["name"]);
  if (!isHeaderName(name)) {
    reporter.error(p, [...at, "name"], `${JSON.stringify(name)} is not a cookie name`, "name the cookie with letters, digits, - and _ (RFC 6265)");
    return undefined;
  }
  let ttlSeconds: number | undefined;
  if (entry["ttl"] !== undefined) {
    ttlSeconds = cookieTtlSeconds(entry["ttl"]);
    if (ttlSeconds === undefined) {
      reporter.error(p, [...at, "ttl"], `${JSON.stringify(entry["ttl"])} is not a cookie lifetime`, 'write a duration ("1h30m", "90s") or a whole number of seconds ("3600"), at least 0; 0 makes a session cookie');
      return undefined;
    }
    if (ttlSeconds === 0 && !isZeroText(entry["ttl"])) {
      reporter.warn(p, [...at, "ttl"], `${JSON.stringify(entry["ttl"])} is under a second, so the generated cookie is a session cookie (a lifetime counts whole seconds)`, 'write "0" for a session cookie, or at least "1s"');
    }
  }
  const path = entry["path"] as string | undefined;
  if (path !== undefined && !COOKIE_TEXT.test(path)) {
    reporter.error(p, [...at, "path"], "the cookie path holds a ';', a control character or a character outside ASCII, which a Set-Cookie attribute cannot carry", "write the path alone, e.g. /");
    return undefined;
  }
  const attributes: { name: string; value: string }[] = [];
  for (const [i, attribute] of list(entry, "attributes").entries()) {
    const attributeName = String(attribute["name"]);
    const value = String(attribute["value"]);
    if (!isHeaderName(attributeName)) {
      reporter.error(p, [...at, "attributes", i, "name"], `${JSON.stringify(attributeName)} is not a cookie attribute name`, "write a token such as SameSite or Secure");
      return undefined;
    }
    if (!COOKIE_TEXT.test(value)) {
      reporter.error(p, [...at, "attributes", i, "value"], "the attribute value holds a ';', a control character or a character outside ASCII, which a Set-Cookie attribute cannot carry", "write one value, e.g. Strict");
      return undefined;
    }
    attributes.push({ name: attributeName, value });
  }
  return { kind: "cookie", name, ttlSeconds, path, attributes, terminal: entry["terminal"] === true };
}

const GO_DURATION = /^\+?((\d+(\.\d*)?|\.\d+)(ns|us|µs|μs|ms|s|m|h))+$/;
const GO_DURATION_PART = /(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|μs|ms|s|m|h)/g;
const UNIT_SECONDS: Readonly<Record<string, number>> = { ns: 1e-9, us: 1e-6, µs: 1e-6, μs: 1e-6, ms: 1e-3, s: 1, m: 60, h: 3600 };

/**
 * Whole seconds (as Envoy keeps a cookie's lifetime) from a Go duration or a count of seconds;
 * undefined for anything else, a negative lifetime (a cookie the client drops at once, so no
 * affinity) or one past what kgateway can pass on.
 */
export function cookieTtlSeconds(ttl: unknown): number | undefined {
  let seconds: number;
  if (typeof ttl === "number") seconds = ttl;
  else if (typeof ttl !== "string") return undefined;
  else if (/^\+?\d+$/.test(ttl)) seconds = Number(ttl);
  else if (GO_DURATION.test(ttl)) {
    seconds = 0;
    for (const m of ttl.matchAll(GO_DURATION_PART)) seconds += Number(m[1]) * UNIT_SECONDS[m[2]!]!;
  } else return undefined;
  if (!Number.isFinite(seconds) || seconds < 0 || seconds > MAX_TTL_SECONDS) return undefined;
  return Math.floor(seconds);
}

function isZeroText(ttl: unknown): boolean {
  return ttl === 0 || (typeof ttl === "string" && /^\+?0+$/.test(ttl));
}

/**
 * The merged hash policies of each rule a TrafficPolicy's `consistentHash` covers, by route key
 * then rule index. The policies covering a rule are ordered as kgateway orders them: one
 * attached to the rule (by sectionName) ahead of one attached to the whole route, the older
 * first within each; the first is the preferred one.
 */
export function resolveRouteConsistentHashes(
  specs: ReadonlyMap<Resource, ConsistentHashSpec>,
  byRoute: ReadonlyMap<string, readonly Attached[]>,
  routes: readonly RouteDraft[],
  backends: ReadonlyMap<string, BackendModel>,
  reporter: Reporter,
): Map<string, Map<number, FilterModel>> {
  const out = new Map<string, Map<number, FilterModel>>();
  if (specs.size === 0) return out;
  const routeByKey = new Map(routes.map((r) => [key(r.resource), r]));
  for (const [rk, attached] of byRoute) {
    const withSpecs = attached.filter((a) => specs.has(a.policy));
    if (withSpecs.length === 0) continue;
    const ordered = [...withSpecs.filter((a) => a.sections !== undefined), ...withSpecs.filter((a) => a.sections === undefined)];
    const byRule = new Map<number, FilterModel>();
    const warned = new Set<string>();
    for (const rule of routeByKey.get(rk)!.rules) {
      const covering = ordered.filter((a) => covers(a, rule));
      const merged = covering.length === 0 ? undefined : mergeConsistentHash(covering.map((a) => specs.get(a.policy)!));
      if (merged === undefined) continue;
      byRule.set(rule.index, merged);
      if (merged.hashPolicies.length > 0) warnUnpinnedBackends(covering[0]!.policy, rk, rule, backends, warned, reporter);
    }
    if (byRule.size > 0) out.set(rk, byRule);
  }
  return out;
}

/**
 * A backend with one address has nothing to pick among: a Service is reached by its cluster
 * DNS name, where kube-proxy picks the pod, so the hash would pin nothing while made cookies
 * still go out. A backend whose BackendConfigPolicy balancer reads no key (round-robin, random,
 * least request) ignores the hash, as Envoy's does. Warned once per route, policy and backend; not for a rule that answers
 * itself (a redirect, a direct response) or a backendRef of weight 0, which take no request.
 */
function warnUnpinnedBackends(policy: Resource, routeKey: string, rule: RuleModel, backends: ReadonlyMap<string, BackendModel>, warned: Set<string>, reporter: Reporter): void {
  if (rule.filters.some((f) => f.type === "RequestRedirect" || f.type === "DirectResponse")) return;
  for (const ref of rule.backends) {
    const backend = backends.get(ref.backendKey);
    if (backend === undefined || ref.weight === 0 || warned.has(`${key(policy)} ${ref.backendKey}`)) continue;
    if (!hashesRequests(backend.loadBalancer)) {
      warned.add(`${key(policy)} ${ref.backendKey}`);
      reporter.warn(policy, ["spec", "consistentHash"], `HTTPRoute ${routeKey} rule ${rule.name ?? `#${rule.index}`} sends to ${ref.backendKey}, whose BackendConfigPolicy ${backend.loadBalancerPolicy} balances by ${backend.loadBalancer!.kind}, which reads no hash key: consistentHash pins nothing there and makes no cookie`, "set loadBalancer ringHash: {} or maglev: {} in the BackendConfigPolicy");
      continue;
    }
    if (distinctAddressCount(backend.endpoints) > 1) continue;
    warned.add(`${key(policy)} ${ref.backendKey}`);
    const what = backend.kind === "Service" ? `Service ${ref.backendKey}, reached by its cluster DNS name (kube-proxy picks the pod)` : `Backend ${ref.backendKey}, which has one endpoint address`;
    reporter.warn(policy, ["spec", "consistentHash"], `HTTPRoute ${routeKey} rule ${rule.name ?? `#${rule.index}`} sends to ${what}: consistentHash picks among a backend's endpoints, so it pins nothing there`, "send to a Backend that lists the endpoints (its static hosts) for affinity");
  }
}

function covers(a: Attached, rule: RuleModel): boolean {
  return a.sections === undefined || (rule.name !== undefined && a.sections.names.has(rule.name));
}

/** kgateway's merge, `specs` preferred first: undefined when the preferred one disables hashing. */
export function mergeConsistentHash(specs: readonly ConsistentHashSpec[]): ConsistentHashModel | undefined {
  const preferred = specs[0]!;
  if (preferred.disable) return undefined;
  const contributing = specs.filter((s) => !s.disable);
  const headers = mergedList(contributing, (s) => s.headers, (h) => h.name);
  const cookies = mergedList(contributing, (s) => s.cookies, (c) => c.name);
  const queryParameters = mergedList(contributing, (s) => s.queryParameters, (q) => q.name);
  const hashPolicies: HashPolicyModel[] = [...headers, ...cookies, ...queryParameters];
  // Only the preferred policy's own sourceIp counts; with nothing retained the key is the
  // client's address. A filterState entry is retained, as kgateway counts it, though it never
  // gives a value here: such a rule has no key and goes round-robin (Envoy: a random host).
  if (preferred.sourceIp !== undefined) hashPolicies.push(preferred.sourceIp);
  if (hashPolicies.length === 0 && !contributing.some((s) => s.filterState)) hashPolicies.push({ kind: "sourceIp", terminal: false });
  return { type: "ConsistentHash", policies: contributing.map((s) => s.policy), hashPolicies };
}

function mergedList<T>(specs: readonly ConsistentHashSpec[], field: (s: ConsistentHashSpec) => readonly T[], id: (entry: T) => string): T[] {
  const seen = new Set<string>();
  const out: T[] = [];
  for (const spec of specs) {
    for (const entry of field(spec)) {
      const k = id(entry);
      if (seen.has(k)) continue;
      seen.add(k);
      out.push(entry);
    }
  }
  return out;
}
