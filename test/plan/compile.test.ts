import { test } from "node:test";
import assert from "node:assert/strict";
import { compilePlan } from "../../src/plan/compile.ts";
import { PlanCompileError } from "../../src/plan/errors.ts";
import { attachedRuleCount } from "../../src/plan/rule-count.ts";
import { config, exact, gateway, parent, plan, prefix, regex, route, serviceBackend, testFilterCompiler } from "./config-builder.ts";

test("compilePlan builds one listener per port with its router", () => {
  const p = plan({
    gateways: [gateway("gw", [{ port: 8080 }, { name: "other", port: 9090 }])],
    routes: [route("r", { rules: [{ matches: [exact("/a")] }] })],
  });
  assert.equal(p.generation, 1);
  assert.deepEqual(p.listeners.map((l) => l.port), [8080, 9090]);
  assert.equal(p.listenerByPort.get(8080), p.listeners[0]);
  // The route has no sectionName, so it attaches to both listeners: one rule per attachment.
  assert.equal(p.rules.length, 2);
  assert.deepEqual(p.rules.map((r) => r.listener.port), [8080, 9090]);
  const m = p.listenerByPort.get(9090)!.router.match("x", "GET", "/a", "", {});
  assert.equal(m?.rule.listener.name, "other");
  assert.equal(m?.pathType, "Exact");
  assert.equal(m?.pathValue, "/a");
});

test("rule ids are dense and index plan.rules; names and keys follow the conventions", () => {
  const p = plan({
    gateways: [gateway("gw", [{}])],
    routes: [
      route("b", { namespace: "shop", rules: [{ name: "checkout", matches: [exact("/c")] }, { matches: [prefix("/d")] }] }),
      route("a", { namespace: "shop", rules: [{ matches: [regex("/r/[0-9]+")] }] }),
    ],
  });
  p.rules.forEach((r, i) => {
    assert.equal(r.id, i);
    assert.equal(p.rules[r.id], r);
  });
  const byName = new Map(p.rules.map((r) => [`${r.routeKey}#${r.ruleName}`, r]));
  assert.deepEqual([...byName.keys()].sort(), ["shop/a#rule-0", "shop/b#checkout", "shop/b#rule-1"]);
  assert.equal(byName.get("shop/b#checkout")!.httpRoute, "/c");
  assert.equal(byName.get("shop/b#rule-1")!.httpRoute, "/d/*");
  assert.equal(byName.get("shop/a#rule-0")!.httpRoute, "/r/[0-9]+");
});

test("http.route templates never contain the request path", () => {
  const p = plan({
    gateways: [gateway("gw", [{}])],
    routes: [
      route("root", { rules: [{ matches: [prefix("/")] }] }),
      route("slash", { rules: [{ matches: [prefix("/api/")] }] }),
      route("multi", { rules: [{ matches: [exact("/x", { method: "GET" }), exact("/x", { method: "POST" }), prefix("/y")] }] }),
    ],
  });
  const t = (name: string): string[] => p.rules.filter((r) => r.route.ref.name === name).map((r) => r.httpRoute);
  assert.deepEqual(t("root"), ["/*"]);
  assert.deepEqual(t("slash"), ["/api/*"]);
  // Two methods on one path share a template; the other match gets its own.
  assert.deepEqual(t("multi"), ["/x", "/y/*"]);
  const router = p.listeners[0]!.router;
  assert.equal(router.match("h", "GET", "/api/users/42", "", {})?.rule.httpRoute, "/api/*");
  const x = router.match("h", "POST", "/x", "", {})?.rule;
  const y = router.match("h", "GET", "/y/1", "", {})?.rule;
  assert.deepEqual([x?.httpRoute, y?.httpRoute], ["/x", "/y/*"]);
  // The copies are one rule: same model, name, filters and backends.
  assert.equal(x?.model, y?.model);
  assert.equal(x?.ruleName, y?.ruleName);
  assert.equal(x?.filters, y?.filters);
  assert.equal(x?.backends, y?.backends);
  assert.equal(attachedRuleCount(p), 3);
  assert.equal(p.rules.length, 4);
});

test("terminal filters come from the injected filter compiler", () => {
  const p = plan({
    gateways: [gateway("gw", [{}])],
    routes: [
      route("redirect", {
        rules: [
          {
            matches: [exact("/old")],
            filters: [{ type: "RequestRedirect", scheme: "https", hostname: undefined, port: undefined, path: undefined, statusCode: 301 }],
            backends: [],
          },
        ],
      }),
      route("plain", { rules: [{ matches: [exact("/new")] }] }),
    ],
  });
  const router = p.listeners[0]!.router;
  assert.equal(router.match("h", "GET", "/old", "", {})?.rule.filters.terminal, true);
  assert.equal(router.match("h", "GET", "/new", "", {})?.rule.filters.terminal, false);
  assert.equal(router.match("h", "GET", "/old", "", {})?.rule.backends.pick(), undefined);
});

test("a plan is frozen", () => {
  const p = plan({ gateways: [gateway("gw", [{}])], routes: [route("r", { rules: [{}] })] });
  assert.ok(Object.isFrozen(p));
  assert.ok(Object.isFrozen(p.rules));
  assert.ok(Object.isFrozen(p.rules[0]));
  assert.ok(Object.isFrozen(p.listeners[0]));
  assert.ok(Object.isFrozen(p.listeners[0]!.router));
  assert.ok(Object.isFrozen(p.rules[0]!.backends));
});

test("a rule attached to two listeners shares its compiled filters and backends", () => {
  const p = plan({
    gateways: [gateway("gw", [{ name: "a", hostname: "a.example.com" }, { name: "b", hostname: "b.example.com" }])],
    routes: [route("r", { rules: [{}] })],
  });
  assert.equal(p.rules.length, 2);
  assert.equal(p.rules[0]!.backends, p.rules[1]!.backends);
  assert.equal(p.rules[0]!.filters, p.rules[1]!.filters);
  assert.notEqual(p.rules[0]!.listener, p.rules[1]!.listener);
});

test("gateways sharing a port share one listener; settings come from the oldest gateway", () => {
  const older = gateway("older", [{ port: 8080 }], { createdMs: 1 });
  const newer = { ...gateway("newer", [{ port: 8080 }], { createdMs: 2 }) };
  const p = plan({
    gateways: [newer, older],
    routes: [route("r", { parents: [parent("default/newer")], rules: [{ matches: [exact("/n")] }] })],
  });
  assert.equal(p.listeners.length, 1);
  assert.deepEqual(p.listeners[0]!.gateways.map((g) => g.ref.name), ["older", "newer"]);
  assert.equal(p.listeners[0]!.settings, older.settings);
  assert.equal(p.listeners[0]!.router.match("h", "GET", "/n", "", {})?.rule.gateway, newer);
});

test("an invalid regular expression is a compile error pointing at the match", () => {
  const cfg = config({ gateways: [gateway("gw", [{}])], routes: [route("r", { rules: [{ matches: [regex("/a(")] }] })] });
  assert.throws(
    () => compilePlan(cfg, 1, testFilterCompiler),
    (err: unknown) =>
      err instanceof PlanCompileError &&
      /^test\.yaml:1:1: spec\.rules\[0\]\.matches\[0\]: invalid regular expression "\/a\(":/.test(err.message),
  );
});

test("a backendRef to an unknown backend is a compile error", () => {
  const cfg = config({
    gateways: [gateway("gw", [{}])],
    routes: [route("r", { rules: [{ backends: [{ weight: 1, backendKey: "default/missing:80", filters: [] }] }] })],
    backends: [serviceBackend("echo", 80)],
  });
  assert.throws(() => compilePlan(cfg, 1, testFilterCompiler), /backendRef default\/missing:80 does not resolve/);
});
