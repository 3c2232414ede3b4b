// Gateway API route precedence through a real gateway process: one config whose routes differ
// in exactly one precedence step per path family, each route with its own real upstream, so
// the upstream that answers shows which route won. Each family also sends a request only the
// weaker route matches, proving both routes are live and the stronger one won on merit.
import { test } from "node:test";
import assert from "node:assert/strict";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { httpRequest, startGateway } from "../support/gateway-process.ts";

interface RouteDef {
  readonly name: string;
  readonly namespace?: string;
  readonly created?: string;
  readonly hostnames?: readonly string[];
  /** YAML flow mappings of the rule's matches (one rule per entry). */
  readonly rules: readonly string[];
}

const T0 = "2024-01-01T00:00:00Z";

const ROUTES: readonly RouteDef[] = [
  // Hostnames: a matching exact hostname beats a matching wildcard.
  { name: "host-wild", created: T0, hostnames: ["*.example.com"], rules: ["{path: {type: PathPrefix, value: /h}}"] },
  { name: "host-exact", created: T0, hostnames: ["api.example.com"], rules: ["{path: {type: PathPrefix, value: /h}}"] },
  // 1. Exact path beats a prefix with method, headers and query.
  { name: "s1-prefix", created: T0, rules: ["{path: {type: PathPrefix, value: /s1}, method: GET, headers: [{name: x-a, value: '1'}], queryParams: [{name: q, value: '1'}]}"] },
  { name: "s1-exact", created: T0, rules: ["{path: {type: Exact, value: /s1}}"] },
  // 2. The longest prefix beats a shorter one with method and headers.
  { name: "s2-short", created: T0, rules: ["{path: {type: PathPrefix, value: /s2}, method: GET, headers: [{name: x-a, value: '1'}]}"] },
  { name: "s2-long", created: T0, rules: ["{path: {type: PathPrefix, value: /s2/long}}"] },
  // 3. A method match beats more header matches.
  { name: "s3-headers", created: T0, rules: ["{path: {type: PathPrefix, value: /s3}, headers: [{name: x-a, value: '1'}, {name: x-b, value: '1'}]}"] },
  { name: "s3-method", created: T0, rules: ["{path: {type: PathPrefix, value: /s3}, method: GET}"] },
  // 4. More header matches beat more query matches.
  { name: "s4-query", created: T0, rules: ["{path: {type: PathPrefix, value: /s4}, headers: [{name: x-a, value: '1'}], queryParams: [{name: q, value: '1'}, {name: r, value: '1'}]}"] },
  { name: "s4-headers", created: T0, rules: ["{path: {type: PathPrefix, value: /s4}, headers: [{name: x-a, value: '1'}, {name: x-b, value: '1'}]}"] },
  // 5. More query matches win.
  { name: "s5-none", created: T0, rules: ["{path: {type: PathPrefix, value: /s5}}"] },
  { name: "s5-query", created: T0, rules: ["{path: {type: PathPrefix, value: /s5}, queryParams: [{name: q, value: '1'}]}"] },
  // 6. A full tie: the oldest route wins, though its name sorts last.
  { name: "a-s6-newer", created: "2024-06-01T00:00:00Z", rules: ["{path: {type: PathPrefix, value: /s6}}"] },
  { name: "z-s6-older", created: "2023-06-01T00:00:00Z", rules: ["{path: {type: PathPrefix, value: /s6}}"] },
  // 7. Same age: namespace/name alphabetically.
  { name: "s7", namespace: "zeta", created: T0, rules: ["{path: {type: PathPrefix, value: /s7}}"] },
  { name: "s7", namespace: "alpha", created: T0, rules: ["{path: {type: PathPrefix, value: /s7}}"] },
  // 8. Inside one route: rule order.
  { name: "s8", created: T0, rules: ["{path: {type: PathPrefix, value: /s8}}", "{path: {type: PathPrefix, value: /s8}}"] },
];

/** One upstream per (route, rule); it answers its own id. */
function upstreamId(r: RouteDef, rule: number): string {
  return `${r.namespace ?? "default"}/${r.name}#${rule}`;
}

function configYaml(ports: ReadonlyMap<string, number>): string {
  const docs: string[] = [
    `apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: {name: edge, namespace: default}
spec:
  gatewayClassName: tollgate
  listeners: [{name: http, protocol: HTTP, port: 8080, allowedRoutes: {namespaces: {from: All}}}]`,
  ];
  for (const r of ROUTES) {
    const ns = r.namespace ?? "default";
    const rules = r.rules.map((m, i) => {
      const backend = `${r.name}-${i}`;
      return `  - matches: [${m}]\n    backendRefs: [{group: gateway.tollgate.dev, kind: Backend, name: ${backend}}]`;
    });
    docs.push(`apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: ${r.name}, namespace: ${ns}${r.created === undefined ? "" : `, creationTimestamp: "${r.created}"`}}
spec:
  parentRefs: [{name: edge, namespace: default}]
${r.hostnames === undefined ? "" : `  hostnames: [${r.hostnames.map((h) => `"${h}"`).join(", ")}]\n`}  rules:
${rules.join("\n")}`);
    r.rules.forEach((_m, i) => {
      docs.push(`apiVersion: gateway.tollgate.dev/v1alpha1
kind: Backend
metadata: {name: ${r.name}-${i}, namespace: ${ns}}
spec:
  endpoints: [{ip: {address: 127.0.0.1, port: ${ports.get(upstreamId(r, i))}}}]`);
    });
  }
  return docs.join("\n---\n") + "\n";
}

test("Gateway API precedence through the real proxy: the upstream of the winning route answers, step by step", async (t) => {
  const servers: Server[] = [];
  const ports = new Map<string, number>();
  for (const r of ROUTES) {
    for (let i = 0; i < r.rules.length; i++) {
      const id = upstreamId(r, i);
      const server = createServer((req, res) => {
        req.resume();
        res.writeHead(200, { "content-type": "text/plain" }).end(id);
      });
      await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
      servers.push(server);
      ports.set(id, (server.address() as AddressInfo).port);
    }
  }
  t.after(() => {
    for (const s of servers) {
      s.closeAllConnections();
      s.close();
    }
  });
  const gw = await startGateway({ config: configYaml(ports), env: { OTEL_TRACES_EXPORTER: "none", OTEL_LOGS_EXPORTER: "none", OTEL_METRICS_EXPORTER: "none" } });
  t.after(() => gw.stop());

  const both = { "x-a": "1", "x-b": "1" };
  const cases: Array<[string, string, Record<string, string>, string]> = [
    ["hostname: exact beats wildcard", "/h", { host: "api.example.com" }, "default/host-exact#0"],
    ["hostname: only the wildcard matches", "/h", { host: "www.example.com" }, "default/host-wild#0"],
    ["1. Exact beats a richer prefix", "/s1?q=1", { "x-a": "1" }, "default/s1-exact#0"],
    ["1. control: the prefix alone", "/s1/other?q=1", { "x-a": "1" }, "default/s1-prefix#0"],
    ["2. longest prefix beats method + header", "/s2/long/x", { "x-a": "1" }, "default/s2-long#0"],
    ["2. control: the short prefix alone", "/s2/short", { "x-a": "1" }, "default/s2-short#0"],
    ["3. method beats two headers", "/s3/x", both, "default/s3-method#0"],
    ["3. control: POST leaves the headers route", "/s3/x", { ...both, "x-method": "POST" }, "default/s3-headers#0"],
    ["4. two headers beat one header + two queries", "/s4/x?q=1&r=1", both, "default/s4-headers#0"],
    ["4. control: without x-b only the query route", "/s4/x?q=1&r=1", { "x-a": "1" }, "default/s4-query#0"],
    ["5. a query match beats none", "/s5/x?q=1", {}, "default/s5-query#0"],
    ["5. control: no query", "/s5/x", {}, "default/s5-none#0"],
    ["6. the oldest route wins a tie", "/s6", {}, "default/z-s6-older#0"],
    ["7. then namespace/name order", "/s7", {}, "alpha/s7#0"],
    ["8. then rule order", "/s8", {}, "default/s8#0"],
  ];
  const got: string[] = [];
  for (const [, path, headers] of cases) {
    const { "x-method": method, ...rest } = headers;
    const res = await httpRequest(gw.url(8080, path), { method: method ?? "GET", headers: rest });
    assert.equal(res.status, 200, `${path}: ${res.body}`);
    got.push(res.body);
  }
  assert.deepEqual(
    cases.map(([what], i) => `${what}: ${got[i]}`),
    cases.map(([what, , , expected]) => `${what}: ${expected}`),
  );
});
