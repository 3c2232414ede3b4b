// Router micro-benchmark: 1,000 routes across several hostnames, a mix of exact, prefix and
// regex paths with method/header/query matches; reports ns per match for hits and misses.
// Run: node bench/router.bench.ts [iterations]   (Node >= 22.19: type stripping)
import type { IncomingHttpHeaders } from "node:http";
import type { MatchModel } from "../src/config/model.ts";
import type { Router } from "../src/plan/types.ts";
import { exact, gateway, plan, prefix, regex, route } from "../test/plan/config-builder.ts";

const ROUTES = 1000;
const HOSTS = ["api.example.com", "shop.example.com", "*.apps.example.com", "admin.example.com", "*.example.org", undefined];

function routeMatch(i: number): MatchModel {
  const svc = `svc${i}`;
  switch (i % 10) {
    case 0:
    case 1:
    case 2:
      return exact(`/${svc}/status`);
    case 3:
    case 4:
    case 5:
      return prefix(`/${svc}/v${i % 3}`);
    case 6:
      return regex(`/${svc}/items/[0-9]+`);
    case 7:
      return prefix(`/${svc}`, { method: "POST" });
    case 8:
      return prefix(`/${svc}`, { headers: [{ name: "x-tenant", value: `t${i % 7}` }] });
    default:
      return prefix(`/${svc}`, { query: [{ name: "version", value: "2" }] });
  }
}

function build(): Router {
  const routes = Array.from({ length: ROUTES }, (_, i) => {
    const host = HOSTS[i % HOSTS.length];
    return route(`route-${i}`, {
      namespace: `team-${i % 5}`,
      createdMs: i,
      hostnames: host === undefined ? [] : [host],
      rules: [{ matches: [routeMatch(i)] }],
    });
  });
  const p = plan({ gateways: [gateway("gw", [{ port: 8080 }])], routes });
  return p.listenerByPort.get(8080)!.router;
}

interface Req {
  host: string;
  method: string;
  path: string;
  query: string;
  headers: IncomingHttpHeaders;
}

function concreteHost(i: number): string {
  const h = HOSTS[i % HOSTS.length];
  if (h === undefined) return "anything.example.net";
  return h.startsWith("*.") ? `tenant${i}${h.slice(1)}` : h;
}

function requests(): { hits: Req[]; misses: Req[] } {
  const hits: Req[] = [];
  const misses: Req[] = [];
  for (let i = 0; i < ROUTES; i++) {
    const host = concreteHost(i);
    const svc = `svc${i}`;
    const base: Req = { host, method: "GET", path: `/${svc}/status`, query: "", headers: { "user-agent": "bench" } };
    switch (i % 10) {
      case 3:
      case 4:
      case 5:
        base.path = `/${svc}/v${i % 3}/orders/17`;
        break;
      case 6:
        base.path = `/${svc}/items/12345`;
        break;
      case 7:
        base.method = "POST";
        base.path = `/${svc}/submit`;
        break;
      case 8:
        base.path = `/${svc}/data`;
        base.headers = { "user-agent": "bench", "x-tenant": `t${i % 7}` };
        break;
      case 9:
        base.path = `/${svc}/data`;
        base.query = "version=2&x=1";
        break;
    }
    hits.push(base);
    // Misses: same host, a path no route has; and a host no route serves.
    misses.push({ ...base, path: `/${svc}x/nothing/here` });
    misses.push({ ...base, host: "unknown.invalid", path: "/svc1/status" });
  }
  return { hits, misses };
}

function measure(router: Router, reqs: Req[], iterations: number): { nsPerMatch: number; matched: number } {
  let matched = 0;
  const n = reqs.length;
  const start = process.hrtime.bigint();
  for (let i = 0; i < iterations; i++) {
    const r = reqs[i % n]!;
    if (router.match(r.host, r.method, r.path, r.query, r.headers) !== undefined) matched++;
  }
  const elapsed = process.hrtime.bigint() - start;
  return { nsPerMatch: Number(elapsed) / iterations, matched };
}

const iterations = Number(process.argv[2] ?? 1_000_000);
const buildStart = process.hrtime.bigint();
const router = build();
const buildMs = Number(process.hrtime.bigint() - buildStart) / 1e6;
const { hits, misses } = requests();
const mixed = hits.flatMap((h, i) => [h, misses[2 * i]!, hits[(i * 7) % hits.length]!, misses[2 * i + 1]!]);

// Warm up so the JIT has optimised match() before anything is timed.
measure(router, mixed, Math.min(iterations, 200_000));
const hit = measure(router, hits, iterations);
const miss = measure(router, misses, iterations);
const mix = measure(router, mixed, iterations);

const result = {
  benchmark: "router.match",
  routes: ROUTES,
  tableEntries: router.size,
  iterations,
  buildMs: Number(buildMs.toFixed(2)),
  hitNsPerMatch: Number(hit.nsPerMatch.toFixed(1)),
  missNsPerMatch: Number(miss.nsPerMatch.toFixed(1)),
  mixedNsPerMatch: Number(mix.nsPerMatch.toFixed(1)),
  // Sanity, not speed: every hit request matches, no miss does.
  hitRatio: hit.matched / iterations,
  missRatio: miss.matched / iterations,
  node: process.version,
};
console.log(JSON.stringify(result));
console.log(
  `router: ${ROUTES} routes (${router.size} entries), hit ${result.hitNsPerMatch} ns, miss ${result.missNsPerMatch} ns, ` +
    `mixed ${result.mixedNsPerMatch} ns per match; built in ${result.buildMs} ms`,
);
