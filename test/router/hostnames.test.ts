import { test } from "node:test";
import assert from "node:assert/strict";
import { effectiveHostnames, hostnameAdmits, normalizeHostname } from "../../src/router/hostnames.ts";
import { exact, gateway, parent, plan, prefix, route, winner } from "../plan/config-builder.ts";

test("wildcards admit one or more labels in front of the suffix, never the apex", () => {
  assert.equal(hostnameAdmits("*.example.com", "foo.example.com"), true);
  assert.equal(hostnameAdmits("*.example.com", "a.b.example.com"), true);
  assert.equal(hostnameAdmits("*.example.com", "example.com"), false);
  assert.equal(hostnameAdmits("*.example.com", "fooexample.com"), false);
  assert.equal(hostnameAdmits("foo.example.com", "foo.example.com"), true);
  assert.equal(hostnameAdmits("foo.example.com", "bar.example.com"), false);
});

test("hostnames normalize to lower case without a trailing dot", () => {
  assert.equal(normalizeHostname("Foo.Example.COM."), "foo.example.com");
});

test("listener × route hostname intersection follows Gateway API", () => {
  // No restriction on either side.
  assert.equal(effectiveHostnames(undefined, []), "any");
  assert.deepEqual(effectiveHostnames(undefined, ["a.example.com", "*.b.com"]), ["a.example.com", "*.b.com"]);
  assert.deepEqual(effectiveHostnames("foo.example.com", []), ["foo.example.com"]);
  // Route wildcard narrowed to the listener's exact host.
  assert.deepEqual(effectiveHostnames("foo.example.com", ["*.example.com"]), ["foo.example.com"]);
  // Route exact host inside the listener's wildcard.
  assert.deepEqual(effectiveHostnames("*.example.com", ["foo.example.com"]), ["foo.example.com"]);
  // Two wildcards: the narrower one.
  assert.deepEqual(effectiveHostnames("*.example.com", ["*.foo.example.com"]), ["*.foo.example.com"]);
  assert.deepEqual(effectiveHostnames("*.foo.example.com", ["*.example.com"]), ["*.foo.example.com"]);
  // Disjoint: not attached; non-intersecting route hostnames are ignored.
  assert.deepEqual(effectiveHostnames("foo.example.com", ["bar.example.com"]), []);
  assert.deepEqual(effectiveHostnames("*.example.com", ["example.com", "*.other.org", "a.example.com"]), ["a.example.com"]);
  // Case and duplicates.
  assert.deepEqual(effectiveHostnames("*.Example.com", ["A.example.com", "a.example.com"]), ["a.example.com"]);
});

test("an exact host beats a wildcard, which beats no hostname, even against a stronger path", () => {
  const p = plan({
    gateways: [gateway("gw", [{}])],
    routes: [
      route("any", { rules: [{ matches: [exact("/x")] }] }),
      route("wild", { hostnames: ["*.example.com"], rules: [{ matches: [prefix("/x")] }] }),
      route("host", { hostnames: ["foo.example.com"], rules: [{ matches: [prefix("/")] }] }),
    ],
  });
  assert.equal(winner(p, { host: "foo.example.com", path: "/x" }), "default/host");
  assert.equal(winner(p, { host: "bar.example.com", path: "/x" }), "default/wild");
  assert.equal(winner(p, { host: "other.org", path: "/x" }), "default/any");
});

test("a route listing an exact and a wildcard hostname serves a host through the exact one", () => {
  const p = plan({
    gateways: [gateway("gw", [{}])],
    routes: [
      route("wild", { createdMs: 1, hostnames: ["*.example.com"], rules: [{}] }),
      route("both", { createdMs: 2, hostnames: ["*.org", "foo.example.com"], rules: [{}] }),
    ],
  });
  assert.equal(winner(p, { host: "foo.example.com", path: "/" }), "default/both", "the exact hostname outranks the older wildcard route");
  assert.equal(winner(p, { host: "bar.example.com", path: "/" }), "default/wild");
  assert.equal(winner(p, { host: "foo.org", path: "/" }), "default/both");
});

test("when the most specific hostname has no matching rule, less specific ones are tried", () => {
  const p = plan({
    gateways: [gateway("gw", [{}])],
    routes: [
      route("any", { rules: [{ matches: [prefix("/")] }] }),
      route("wild", { hostnames: ["*.example.com"], rules: [{ matches: [prefix("/w")] }] }),
      route("host", { hostnames: ["foo.example.com"], rules: [{ matches: [prefix("/h")] }] }),
    ],
  });
  assert.equal(winner(p, { host: "foo.example.com", path: "/h" }), "default/host");
  assert.equal(winner(p, { host: "foo.example.com", path: "/w" }), "default/wild");
  assert.equal(winner(p, { host: "foo.example.com", path: "/z" }), "default/any");
  assert.equal(winner(p, { host: "bar.example.com", path: "/h" }), "default/any");
});

test("the longest wildcard suffix wins", () => {
  const p = plan({
    gateways: [gateway("gw", [{}])],
    routes: [
      route("short", { hostnames: ["*.example.com"], rules: [{}] }),
      route("long", { hostnames: ["*.api.example.com"], rules: [{}] }),
    ],
  });
  assert.equal(winner(p, { host: "v1.api.example.com", path: "/" }), "default/long");
  assert.equal(winner(p, { host: "a.b.api.example.com", path: "/" }), "default/long");
  assert.equal(winner(p, { host: "api.example.com", path: "/" }), "default/short");
  assert.equal(winner(p, { host: "web.example.com", path: "/" }), "default/short");
  assert.equal(winner(p, { host: "example.com", path: "/" }), "none");
  assert.equal(winner(p, { host: "example.org", path: "/" }), "none");
});

test("an exact host served only through a wildcard listener and a route hostname", () => {
  const p = plan({
    gateways: [gateway("gw", [{ hostname: "*.example.com" }])],
    routes: [route("r", { hostnames: ["foo.example.com"], rules: [{}] })],
  });
  assert.equal(winner(p, { host: "foo.example.com", path: "/" }), "default/r");
  assert.equal(winner(p, { host: "bar.example.com", path: "/" }), "none");
});

test("a route wildcard on an exact listener serves only the listener's host", () => {
  const p = plan({
    gateways: [gateway("gw", [{ hostname: "foo.example.com" }])],
    routes: [route("r", { hostnames: ["*.example.com"], rules: [{}] })],
  });
  assert.equal(winner(p, { host: "foo.example.com", path: "/" }), "default/r");
  assert.equal(winner(p, { host: "bar.example.com", path: "/" }), "none");
  assert.equal(p.rules.length, 1);
});

test("a route with no hostnames inherits the listener's hostname", () => {
  const p = plan({
    gateways: [gateway("gw", [{ hostname: "*.example.com" }])],
    routes: [route("r", { rules: [{}] })],
  });
  assert.equal(winner(p, { host: "a.example.com", path: "/" }), "default/r");
  assert.equal(winner(p, { host: "example.com", path: "/" }), "none");
  assert.equal(winner(p, { host: "a.example.org", path: "/" }), "none");
});

test("a route whose hostnames do not intersect the listener's does not attach", () => {
  const p = plan({
    gateways: [gateway("gw", [{ hostname: "foo.example.com" }])],
    routes: [route("r", { hostnames: ["bar.example.com"], rules: [{}] })],
  });
  assert.equal(p.rules.length, 0);
  assert.equal(winner(p, { host: "bar.example.com", path: "/" }), "none");
  assert.equal(winner(p, { host: "foo.example.com", path: "/" }), "none");
});

test("two listeners on one port: each route serves its listener's hostnames", () => {
  const p = plan({
    gateways: [gateway("gw", [{ name: "foo", hostname: "foo.example.com" }, { name: "wild", hostname: "*.example.com" }])],
    routes: [
      route("foo-only", { parents: [parent("default/gw", "foo")], rules: [{}] }),
      route("wild-only", { parents: [parent("default/gw", "wild")], rules: [{}] }),
    ],
  });
  assert.equal(winner(p, { host: "foo.example.com", path: "/" }), "default/foo-only");
  assert.equal(winner(p, { host: "bar.example.com", path: "/" }), "default/wild-only");
  const m = p.listeners[0]!.router.match("bar.example.com", "GET", "/", "", {});
  assert.equal(m?.rule.listener.name, "wild");
});

test("sectionName attaches to the named listener only", () => {
  const p = plan({
    gateways: [gateway("gw", [{ name: "public", port: 8080 }, { name: "internal", port: 9090 }])],
    routes: [route("r", { parents: [parent("default/gw", "internal")], rules: [{}] })],
  });
  assert.equal(winner(p, { path: "/", port: 9090 }), "default/r");
  assert.equal(winner(p, { path: "/", port: 8080 }), "none");
  assert.deepEqual(p.rules.map((r) => r.listener.name), ["internal"]);
});

test("parentRef port attaches to the listeners on that port only", () => {
  const p = plan({
    gateways: [gateway("gw", [{ name: "a", port: 8080 }, { name: "b", port: 9090 }])],
    routes: [route("r", { parents: [parent("default/gw", undefined, 8080)], rules: [{}] })],
  });
  assert.equal(winner(p, { path: "/", port: 8080 }), "default/r");
  assert.equal(winner(p, { path: "/", port: 9090 }), "none");
});

test("a parentRef naming an unknown listener or gateway attaches nowhere", () => {
  const p = plan({
    gateways: [gateway("gw", [{ name: "a" }])],
    routes: [
      route("r1", { parents: [parent("default/gw", "nope")], rules: [{}] }),
      route("r2", { parents: [parent("default/other")], rules: [{}] }),
    ],
  });
  assert.equal(p.rules.length, 0);
});

test("allowedRoutes: Same admits the gateway's namespace, Selector the listed ones (or every one but the excluded)", () => {
  const p = plan({
    gateways: [
      gateway(
        "gw",
        [
          { name: "same", port: 8080, allowedRoutesFrom: "Same" },
          { name: "sel", port: 9090, allowedRoutesFrom: "Selector", allowedNamespaces: ["team-a"] },
          { name: "not-a", port: 9091, allowedRoutesFrom: "Selector", exceptNamespaces: ["team-a"] },
        ],
        { namespace: "infra" },
      ),
    ],
    routes: [
      route("local", { namespace: "infra", parents: [parent("infra/gw")], rules: [{}] }),
      route("team", { namespace: "team-a", parents: [parent("infra/gw")], rules: [{}] }),
      route("stranger", { namespace: "team-b", parents: [parent("infra/gw")], rules: [{}] }),
    ],
  });
  const attached = p.rules.map((r) => `${r.routeKey}@${r.listener.name}`).sort();
  assert.deepEqual(attached, ["infra/local@not-a", "infra/local@same", "team-a/team@sel", "team-b/stranger@not-a"]);
});

test("listener isolation: a request belongs to the most specific listener admitting its host, and only routes attached there answer it", () => {
  const p = plan({
    gateways: [
      gateway("gw", [
        { name: "admin", hostname: "admin.example.com", allowedRoutesFrom: "Same" },
        { name: "wild", hostname: "*.example.com" },
        { name: "deep", hostname: "*.a.example.com" },
        { name: "empty", hostname: "empty.example.com" },
        { name: "shared" },
      ]),
    ],
    routes: [
      route("admin", { parents: [parent("default/gw", "admin")], rules: [{ matches: [prefix("/")] }] }),
      // A tenant on the catch-all listener names the admin host: it attaches, but the admin listener owns that host.
      route("tenant", { namespace: "team", parents: [parent("default/gw", "shared")], hostnames: ["admin.example.com", "www.example.com"], rules: [{ matches: [prefix("/login")] }] }),
      route("catch-all", { parents: [parent("default/gw", "shared")], rules: [{ matches: [prefix("/")] }] }),
      route("wild", { parents: [parent("default/gw", "wild")], rules: [{ matches: [prefix("/w")] }] }),
      route("deep", { parents: [parent("default/gw", "deep")], rules: [{ matches: [prefix("/d")] }] }),
    ],
  });
  assert.equal(winner(p, { host: "admin.example.com", path: "/login" }), "default/admin");
  // www.example.com belongs to the wildcard listener: the tenant's hostname there and the catch-all do not answer.
  assert.equal(winner(p, { host: "www.example.com", path: "/login" }), "none");
  assert.equal(winner(p, { host: "www.example.com", path: "/w" }), "default/wild");
  assert.equal(winner(p, { host: "x.a.example.com", path: "/d" }), "default/deep");
  assert.equal(winner(p, { host: "x.a.example.com", path: "/w" }), "none", "the longest wildcard listener owns the host");
  assert.equal(winner(p, { host: "empty.example.com", path: "/" }), "none", "a listener without routes still owns its host");
  assert.equal(winner(p, { host: "other.org", path: "/login" }), "default/catch-all");
  assert.equal(winner(p, { host: "example.com", path: "/x" }), "default/catch-all", "no wildcard admits the apex");
});
