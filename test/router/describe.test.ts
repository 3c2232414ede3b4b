import { test } from "node:test";
import assert from "node:assert/strict";
import { exact, gateway, plan, prefix, regex, route } from "../plan/config-builder.ts";

test("describe() lists the table in match order and survives JSON", () => {
  const p = plan({
    gateways: [gateway("gw", [{ name: "web" }])],
    routes: [
      route("any", { rules: [{ name: "fallback", matches: [prefix("/")] }] }),
      route("wild", { hostnames: ["*.example.com"], rules: [{ matches: [prefix("/api/"), exact("/health", { method: "GET" })] }] }),
      route("shop", {
        hostnames: ["shop.example.com"],
        rules: [{ matches: [prefix("/", { headers: [{ name: "x-beta", value: "1" }], query: [{ name: "v", value: "[0-9]", type: "RegularExpression" }] }), regex("/p/[0-9]+")] }],
      }),
    ],
  });
  const router = p.listeners[0]!.router;
  const rows = JSON.parse(JSON.stringify(router.describe())) as Record<string, unknown>[];
  assert.equal(rows.length, router.size);
  assert.deepEqual(
    rows.map((r) => `${r.hostname} ${(r.path as { type: string }).type} ${(r.path as { value: string }).value} ${r.route}`),
    [
      "shop.example.com RegularExpression /p/[0-9]+ default/shop",
      "shop.example.com PathPrefix / default/shop",
      "*.example.com Exact /health default/wild",
      "*.example.com PathPrefix /api/ default/wild",
      "* PathPrefix / default/any",
    ],
  );
  assert.deepEqual(rows[1], {
    hostname: "shop.example.com",
    path: { type: "PathPrefix", value: "/" },
    method: null,
    headers: [{ name: "x-beta", type: "Exact", value: "1" }],
    queryParams: [{ name: "v", type: "RegularExpression", value: "[0-9]" }],
    route: "default/shop",
    rule: "rule-0",
    ruleId: p.rules.find((r) => r.routeKey === "default/shop" && r.httpRoute === "/*")!.id,
    matchIndex: 0,
    httpRoute: "/*",
    gateway: "default/gw",
    listener: "web",
    terminal: false,
    backends: [{ name: "default/echo:80", weight: 1 }],
  });
  assert.equal(rows[2]!.method, "GET");
  // The rule's other match reports its own template, under the same route and rule name.
  assert.deepEqual([rows[0]!.httpRoute, rows[0]!.rule, rows[0]!.matchIndex], ["/p/[0-9]+", "rule-0", 1]);
  assert.notEqual(rows[0]!.ruleId, rows[1]!.ruleId);
});

test("describe() redacts matched values of credential headers and the semconv's sensitive query parameters", () => {
  const p = plan({
    gateways: [gateway("gw", [{ name: "web" }])],
    routes: [
      route("keyed", {
        rules: [
          {
            matches: [
              prefix("/", {
                headers: [
                  { name: "Authorization", value: "Bearer qqroute" },
                  { name: "cookie", value: "sid=qqcookie", type: "RegularExpression" },
                  { name: "x-tenant", value: "blue" },
                ],
                query: [
                  { name: "sig", value: "qqsig" },
                  { name: "v", value: "2" },
                ],
              }),
            ],
          },
        ],
      }),
    ],
  });
  const [row] = JSON.parse(JSON.stringify(p.listeners[0]!.router.describe())) as { headers: unknown; queryParams: unknown }[];
  assert.deepEqual(row!.headers, [
    { name: "authorization", type: "Exact", value: "[REDACTED]" },
    { name: "cookie", type: "RegularExpression", value: "[REDACTED]" },
    { name: "x-tenant", type: "Exact", value: "blue" },
  ]);
  assert.deepEqual(row!.queryParams, [
    { name: "sig", type: "Exact", value: "[REDACTED]" },
    { name: "v", type: "Exact", value: "2" },
  ]);
});
