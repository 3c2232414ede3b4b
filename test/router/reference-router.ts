// A deliberately naive router: the request's listener is the most specific one admitting its
// host (listener isolation), every candidate attached there is checked, then all survivors
// are sorted by the full Gateway API precedence key. It shares no code with src/router, so agreement
// between the two is evidence that the indexed structure picks the same winner.
import type { GatewayModel, ListenerModel, MatchModel, ResolvedConfig, RouteModel } from "../../src/config/model.ts";

export interface ReferenceWinner {
  readonly routeKey: string;
  readonly ruleIndex: number;
  readonly matchIndex: number;
  readonly listener: string;
}

export interface ReferenceRequest {
  readonly host: string;
  readonly method: string;
  readonly path: string;
  readonly query: string;
  readonly headers: Readonly<Record<string, string>>;
}

interface Binding {
  readonly route: RouteModel;
  readonly gateway: GatewayModel;
  readonly listener: ListenerModel;
  readonly order: number;
}

const key = (ref: { namespace: string; name: string }) => `${ref.namespace}/${ref.name}`;

function admits(pattern: string, host: string): boolean {
  if (pattern.startsWith("*.")) return host.endsWith(pattern.slice(1)) && host.length > pattern.length - 1;
  return pattern === host;
}

/** Specificity of a hostname pattern: [exact?, characters]. No pattern ranks lowest. */
function specificity(pattern: string | undefined): [number, number] {
  if (pattern === undefined) return [0, -1];
  return [pattern.startsWith("*.") ? 0 : 1, pattern.length];
}

function narrower(a: string | undefined, b: string | undefined): string | undefined {
  if (a === undefined) return b;
  if (b === undefined) return a;
  const [ea, la] = specificity(a);
  const [eb, lb] = specificity(b);
  return ea !== eb ? (ea > eb ? a : b) : la >= lb ? a : b;
}

/** The best hostname through which this binding serves `host`, or null when it does not. */
function hostScore(b: Binding, host: string): [number, number] | null {
  const lh = b.listener.hostname?.toLowerCase();
  if (lh !== undefined && !admits(lh, host)) return null;
  const routeNames = b.route.hostnames.map((h) => h.toLowerCase());
  if (routeNames.length === 0) return specificity(lh);
  let best: [number, number] | null = null;
  for (const rh of routeNames) {
    if (!admits(rh, host)) continue;
    const s = specificity(narrower(lh, rh));
    if (best === null || s[0] > best[0] || (s[0] === best[0] && s[1] > best[1])) best = s;
  }
  return best;
}

function trimPrefix(p: string): string {
  let out = p;
  while (out.length > 1 && out.endsWith("/")) out = out.slice(0, -1);
  return out;
}

function pathMatches(m: MatchModel, path: string): boolean {
  const v = m.path.value;
  if (m.path.type === "Exact") return path === v;
  if (m.path.type === "RegularExpression") return new RegExp(`^(?:${v})$`).test(path);
  const prefix = trimPrefix(v);
  if (prefix === "/") return path.startsWith("/");
  const want = prefix.split("/");
  const have = path.split("/");
  return want.every((seg, i) => have[i] === seg);
}

function parseQuery(raw: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const part of raw.split("&")) {
    if (part === "") continue;
    const eq = part.indexOf("=");
    const name = decodeURIComponent((eq === -1 ? part : part.slice(0, eq)).replaceAll("+", " "));
    const value = decodeURIComponent((eq === -1 ? "" : part.slice(eq + 1)).replaceAll("+", " "));
    if (!out.has(name)) out.set(name, value);
  }
  return out;
}

function valueMatches(type: string, want: string, got: string | undefined): boolean {
  if (got === undefined) return false;
  return type === "Exact" ? got === want : new RegExp(`^(?:${want})$`).test(got);
}

function bindings(config: ResolvedConfig, port: number): Binding[] {
  const routes = [...config.routes].sort(
    (a, b) => a.ref.creationTimestampMs - b.ref.creationTimestampMs || (key(a.ref) < key(b.ref) ? -1 : key(a.ref) > key(b.ref) ? 1 : 0),
  );
  const out: Binding[] = [];
  let order = 0;
  for (const route of routes) {
    const seen = new Set<ListenerModel>();
    for (const parent of route.parents) {
      const gateway = config.gateways.find((g) => key(g.ref) === parent.gatewayKey);
      if (gateway === undefined) continue;
      for (const listener of gateway.listeners) {
        if (seen.has(listener)) continue;
        if (parent.sectionName !== undefined && parent.sectionName !== listener.name) continue;
        if (parent.port !== undefined && parent.port !== listener.port) continue;
        const lh = listener.hostname?.toLowerCase();
        // Attached when some route hostname shares a host with the listener's.
        const attaches =
          lh === undefined ||
          route.hostnames.length === 0 ||
          route.hostnames.some((rh) => {
            const r = rh.toLowerCase();
            return admits(lh, r) || admits(r, lh) || (lh.startsWith("*.") && r.startsWith("*.") && (r.endsWith(lh.slice(1)) || lh.endsWith(r.slice(1))));
          });
        if (!attaches) continue;
        seen.add(listener);
        const index = order++;
        if (listener.port === port) out.push({ route, gateway, listener, order: index });
      }
    }
  }
  return out;
}

type Key = (number | string)[];

function compareKeys(a: Key, b: Key): number {
  for (let i = 0; i < a.length; i++) {
    const x = a[i]!;
    const y = b[i]!;
    if (x < y) return -1;
    if (x > y) return 1;
  }
  return 0;
}

/**
 * Listener isolation: the hostname of the most specific listener on the port admitting the
 * host (undefined: the listener without one), or null when no listener admits it.
 */
function isolatingListenerHostname(config: ResolvedConfig, port: number, host: string): string | undefined | null {
  let best: string | undefined | null = null;
  for (const g of config.gateways) {
    for (const l of g.listeners) {
      if (l.port !== port) continue;
      const lh = l.hostname?.toLowerCase();
      if (lh !== undefined && !admits(lh, host)) continue;
      if (best === null) best = lh;
      else best = narrower(best, lh);
    }
  }
  return best;
}

export function referenceMatch(config: ResolvedConfig, port: number, req: ReferenceRequest): ReferenceWinner | undefined {
  const query = parseQuery(req.query);
  const survivors: { key: Key; winner: ReferenceWinner }[] = [];
  const listenerHostname = isolatingListenerHostname(config, port, req.host);
  if (listenerHostname === null) return undefined;
  for (const b of bindings(config, port)) {
    if (b.listener.hostname?.toLowerCase() !== listenerHostname) continue;
    const score = hostScore(b, req.host);
    if (score === null) continue;
    for (const rule of b.route.rules) {
      rule.matches.forEach((m, matchIndex) => {
        if (!pathMatches(m, req.path)) return;
        if (m.method !== undefined && m.method !== req.method) return;
        if (!m.headers.every((h) => valueMatches(h.type, h.value, req.headers[h.name]))) return;
        if (!m.queryParams.every((q) => valueMatches(q.type, q.value, query.get(q.name)))) return;
        const typeRank = m.path.type === "Exact" ? 0 : m.path.type === "RegularExpression" ? 1 : 2;
        const length = m.path.type === "Exact" ? 0 : m.path.type === "PathPrefix" ? trimPrefix(m.path.value).length : m.path.value.length;
        survivors.push({
          // Smaller sorts first: negate everything where "more" wins.
          key: [
            -score[0],
            -score[1],
            typeRank,
            -length,
            m.method === undefined ? 1 : 0,
            -m.headers.length,
            -m.queryParams.length,
            b.route.ref.creationTimestampMs,
            key(b.route.ref),
            rule.index,
            matchIndex,
            b.order,
          ],
          winner: { routeKey: key(b.route.ref), ruleIndex: rule.index, matchIndex, listener: b.listener.name },
        });
      });
    }
  }
  survivors.sort((a, b) => compareKeys(a.key, b.key));
  return survivors[0]?.winner;
}
