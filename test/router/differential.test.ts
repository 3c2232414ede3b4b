// The indexed router against a brute-force reference, over randomised route sets and
// requests from a fixed seed: the winners must be identical.
import { test } from "node:test";
import assert from "node:assert/strict";
import type { GatewayModel, MatchModel, RouteModel, RouteParent } from "../../src/config/model.ts";
import { compilePlan } from "../../src/plan/compile.ts";
import { config, gateway, match, route, testFilterCompiler } from "../plan/config-builder.ts";
import { referenceMatch, type ReferenceRequest } from "./reference-router.ts";

/** mulberry32: small, fast, and the same sequence on every run. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const EXACT_PATHS = ["/", "/a", "/a/", "/a/b", "/ab", "/a/b/c", "/b/c"];
const PREFIXES = ["/", "/a", "/a/", "/a/b", "/ab", "/a/b/c", "/b", "/b/c/"];
const REGEXES = ["/a/.*", "/a/[a-z]+", "/(a|b)/c", ".*", "/a.*", "/[ab]+", "/a/b/.+"];
const LISTENER_HOSTS = [undefined, undefined, "*.example.com", "a.example.com", "*.b.example.com"];
const ROUTE_HOSTS = ["a.example.com", "b.example.com", "*.example.com", "*.b.example.com", "x.b.example.com", "other.org", "A.Example.com"];
const REQUEST_HOSTS = ["a.example.com", "b.example.com", "x.b.example.com", "y.b.example.com", "example.com", "other.org", "z.example.com"];
const REQUEST_PATHS = ["/", "/a", "/a/", "/a/b", "/ab", "/a/b/c", "/b/c", "/a/x", "/b", "/zzz", "/a/b/c/d", "/b/c/"];

function generate(rand: () => number): { gateways: GatewayModel[]; routes: RouteModel[] } {
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)]!;
  const some = <T>(xs: readonly T[], max: number): T[] => {
    const n = Math.floor(rand() * (max + 1));
    return [...xs].sort(() => rand() - 0.5).slice(0, n);
  };
  const listenerCount = 1 + Math.floor(rand() * 3);
  const gw = gateway(
    "gw",
    Array.from({ length: listenerCount }, (_, i) => ({ name: `l${i}`, port: 8080, hostname: pick(LISTENER_HOSTS) })),
  );
  const values = (names: string[]) =>
    names.map((name) => (rand() < 0.3 ? { name, value: "[12]", type: "RegularExpression" as const } : { name, value: pick(["1", "2"]) }));
  const randomMatch = (): MatchModel => {
    const kind = rand();
    const path =
      kind < 0.35
        ? { type: "Exact" as const, value: pick(EXACT_PATHS) }
        : kind < 0.55
          ? { type: "RegularExpression" as const, value: pick(REGEXES) }
          : { type: "PathPrefix" as const, value: pick(PREFIXES) };
    return match({
      path,
      method: pick([undefined, undefined, undefined, "GET", "POST"]),
      headers: values(some(["x-a", "x-b", "x-c"], 2)),
      query: values(some(["p", "q"], 2)),
    });
  };
  const routeCount = 10 + Math.floor(rand() * 40);
  const routes = Array.from({ length: routeCount }, (_, i) => {
    const parents: RouteParent[] = [];
    const attach = rand();
    if (attach < 0.6) parents.push({ gatewayKey: "default/gw", sectionName: undefined, port: undefined });
    else {
      parents.push({ gatewayKey: "default/gw", sectionName: `l${Math.floor(rand() * listenerCount)}`, port: undefined });
      if (rand() < 0.3) parents.push({ gatewayKey: "default/gw", sectionName: `l${Math.floor(rand() * listenerCount)}`, port: undefined });
    }
    return route(`r${Math.floor(rand() * routeCount * 2)}x${i}`, {
      namespace: pick(["ns1", "ns2"]),
      createdMs: pick([0, 0, 1, 2]),
      parents,
      hostnames: some(ROUTE_HOSTS, 2),
      rules: Array.from({ length: 1 + Math.floor(rand() * 3) }, () => ({
        matches: Array.from({ length: 1 + Math.floor(rand() * 2) }, randomMatch),
      })),
    });
  });
  return { gateways: [gw], routes };
}

function randomRequest(rand: () => number): ReferenceRequest {
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)]!;
  const headers: Record<string, string> = {};
  for (const name of ["x-a", "x-b", "x-c"]) if (rand() < 0.5) headers[name] = pick(["1", "2", "3"]);
  const query = ["p", "q"]
    .filter(() => rand() < 0.5)
    .map((name) => `${name}=${pick(["1", "2", "3"])}`)
    .join("&");
  return { host: pick(REQUEST_HOSTS), method: pick(["GET", "POST", "PUT"]), path: pick(REQUEST_PATHS), query, headers };
}

test("the indexed router picks the same winner as a full precedence sort", () => {
  const rand = prng(0x7011_6a7e);
  let compared = 0;
  let hits = 0;
  const winningPathTypes = new Set<string>();
  for (let set = 0; set < 60; set++) {
    const parts = generate(rand);
    const cfg = config(parts);
    const router = compilePlan(cfg, 1, testFilterCompiler).listenerByPort.get(8080)!.router;
    for (let i = 0; i < 300; i++) {
      const req = randomRequest(rand);
      const got = router.match(req.host, req.method, req.path, req.query, req.headers);
      const want = referenceMatch(cfg, 8080, req);
      compared++;
      const context = `set ${set}, request ${JSON.stringify(req)}`;
      if (want === undefined) {
        assert.equal(got, undefined, `${context}: expected no match, got ${got?.rule.routeKey}`);
        continue;
      }
      hits++;
      assert.ok(got !== undefined, `${context}: expected ${JSON.stringify(want)}, got no match`);
      const wantRoute = parts.routes.find((r) => `${r.ref.namespace}/${r.ref.name}` === want.routeKey)!;
      const wantMatch = wantRoute.rules[want.ruleIndex]!.matches[want.matchIndex]!;
      assert.deepEqual(
        { route: got.rule.routeKey, rule: got.rule.model.index, listener: got.rule.listener.name, type: got.pathType, path: got.pathValue },
        { route: want.routeKey, rule: want.ruleIndex, listener: want.listener, type: wantMatch.path.type, path: wantMatch.path.value },
        context,
      );
      winningPathTypes.add(got.pathType);
    }
  }
  // The sample must exercise the router, not just agree on misses.
  assert.equal(compared, 18_000);
  assert.ok(hits > compared * 0.25 && hits < compared * 0.95, `hits: ${hits} of ${compared}`);
  assert.deepEqual([...winningPathTypes].sort(), ["Exact", "PathPrefix", "RegularExpression"]);
});
