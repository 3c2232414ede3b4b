// Each Gateway API precedence step, proven by two routes that differ only in that step.
// Where the routes' names could decide instead, the test runs both name assignments.
import { test } from "node:test";
import assert from "node:assert/strict";
import type { MatchModel } from "../../src/config/model.ts";
import { exact, gateway, plan, prefix, regex, route, winner } from "../plan/config-builder.ts";

type Req = Parameters<typeof winner>[1];

/** Both name assignments: the route holding `strong` must win either way. */
function assertStronger(strong: MatchModel, weak: MatchModel, req: Req): void {
  for (const [strongName, weakName] of [["a", "b"], ["b", "a"]] as const) {
    const p = plan({
      gateways: [gateway("gw", [{}])],
      routes: [
        route(weakName, { rules: [{ matches: [weak] }] }),
        route(strongName, { rules: [{ matches: [strong] }] }),
      ],
    });
    assert.equal(winner(p, req), `default/${strongName}`, `strong named ${strongName}`);
  }
}

test("1. an Exact path beats a PathPrefix of the same path", () => {
  assertStronger(exact("/foo"), prefix("/foo"), { path: "/foo" });
});

test("1. an Exact path beats a more specific prefix/header/method combination", () => {
  assertStronger(exact("/foo/bar"), prefix("/foo/bar", { method: "GET", headers: [{ name: "x", value: "1" }] }), {
    path: "/foo/bar",
    headers: { x: "1" },
  });
});

test("2. the longest PathPrefix wins", () => {
  assertStronger(prefix("/foo/bar"), prefix("/foo"), { path: "/foo/bar/baz" });
});

test("2. prefix length outranks method, headers and query", () => {
  assertStronger(
    prefix("/foo/bar"),
    prefix("/foo", { method: "GET", headers: [{ name: "x", value: "1" }], query: [{ name: "q", value: "1" }] }),
    { path: "/foo/bar", headers: { x: "1" }, query: "q=1" },
  );
});

test("3. a method match beats none", () => {
  assertStronger(prefix("/foo", { method: "GET" }), prefix("/foo"), { path: "/foo" });
});

test("3. method outranks header count", () => {
  assertStronger(prefix("/", { method: "GET" }), prefix("/", { headers: [{ name: "x", value: "1" }, { name: "y", value: "2" }] }), {
    path: "/",
    headers: { x: "1", y: "2" },
  });
});

test("4. more header matches win", () => {
  assertStronger(
    prefix("/", { headers: [{ name: "x", value: "1" }, { name: "y", value: "2" }] }),
    prefix("/", { headers: [{ name: "x", value: "1" }] }),
    { path: "/", headers: { x: "1", y: "2" } },
  );
});

test("4. header count outranks query count", () => {
  assertStronger(
    prefix("/", { headers: [{ name: "x", value: "1" }] }),
    prefix("/", { query: [{ name: "a", value: "1" }, { name: "b", value: "2" }] }),
    { path: "/", headers: { x: "1" }, query: "a=1&b=2" },
  );
});

test("5. more query-param matches win", () => {
  assertStronger(
    prefix("/", { query: [{ name: "a", value: "1" }, { name: "b", value: "2" }] }),
    prefix("/", { query: [{ name: "a", value: "1" }] }),
    { path: "/", query: "a=1&b=2" },
  );
});

test("6. the oldest route wins a full tie, whatever its name", () => {
  for (const [oldName, newName] of [["a", "b"], ["b", "a"]] as const) {
    const p = plan({
      gateways: [gateway("gw", [{}])],
      routes: [
        route(newName, { createdMs: 2000, rules: [{ matches: [prefix("/")] }] }),
        route(oldName, { createdMs: 1000, rules: [{ matches: [prefix("/")] }] }),
      ],
    });
    assert.equal(winner(p, { path: "/x" }), `default/${oldName}`);
  }
});

test("7. then namespace/name alphabetically, whatever the input order", () => {
  const routes = [
    route("b", { namespace: "ns", rules: [{}] }),
    route("a", { namespace: "ns", rules: [{}] }),
    route("a", { namespace: "zz", rules: [{}] }),
  ];
  for (const order of [routes, [...routes].reverse()]) {
    assert.equal(winner(plan({ gateways: [gateway("gw", [{}])], routes: order }), { path: "/" }), "ns/a");
  }
  assert.equal(
    winner(plan({ gateways: [gateway("gw", [{}])], routes: [routes[0]!, routes[2]!] }), { path: "/" }),
    "ns/b",
    "namespace compares before name",
  );
});

test("then rule order inside a route, then match order inside a rule", () => {
  const p = plan({
    gateways: [gateway("gw", [{}])],
    routes: [
      route("r", {
        rules: [
          { name: "first", matches: [prefix("/x", { method: "GET" })] },
          { name: "second", matches: [prefix("/x", { method: "GET" })] },
        ],
      }),
    ],
  });
  assert.equal(p.listeners[0]!.router.match("h", "GET", "/x", "", {})?.rule.ruleName, "first");

  const q = plan({
    gateways: [gateway("gw", [{}])],
    routes: [route("r", { rules: [{ matches: [prefix("/x/"), prefix("/x")] }] })],
  });
  assert.equal(q.listeners[0]!.router.match("h", "GET", "/x/y", "", {})?.pathValue, "/x/");
});

test("a later rule can beat an earlier one by a stronger match", () => {
  const p = plan({
    gateways: [gateway("gw", [{}])],
    routes: [route("r", { rules: [{ name: "broad", matches: [prefix("/")] }, { name: "narrow", matches: [prefix("/api")] }] })],
  });
  const router = p.listeners[0]!.router;
  assert.equal(router.match("h", "GET", "/api/x", "", {})?.rule.ruleName, "narrow");
  assert.equal(router.match("h", "GET", "/web", "", {})?.rule.ruleName, "broad");
});

test("RegularExpression ranks after Exact and before every PathPrefix", () => {
  assertStronger(exact("/api/users"), regex("/api/.*"), { path: "/api/users" });
  assertStronger(regex("/api/.*"), prefix("/api/users"), { path: "/api/users" });
});

test("between regexes the longer pattern wins", () => {
  assertStronger(regex("/api/users/[0-9]+"), regex("/api/.*"), { path: "/api/users/7" });
});

test("between equally long regexes, method then headers decide", () => {
  assertStronger(regex("/a/.*", { method: "GET" }), regex("/.*/b"), { path: "/a/b" });
  assertStronger(regex("/a/.*", { headers: [{ name: "x", value: "1" }] }), regex("/.*/b"), { path: "/a/b", headers: { x: "1" } });
});

test("a failed stronger candidate falls through to the next one", () => {
  const p = plan({
    gateways: [gateway("gw", [{}])],
    routes: [
      route("exact-post", { rules: [{ matches: [exact("/a/b", { method: "POST" })] }] }),
      route("regex-hdr", { rules: [{ matches: [regex("/a/.+", { headers: [{ name: "x", value: "1" }] })] }] }),
      route("long", { rules: [{ matches: [prefix("/a/b", { query: [{ name: "v", value: "2" }] })] }] }),
      route("short", { rules: [{ matches: [prefix("/a")] }] }),
    ],
  });
  assert.equal(winner(p, { path: "/a/b", method: "POST" }), "default/exact-post");
  assert.equal(winner(p, { path: "/a/b", headers: { x: "1" } }), "default/regex-hdr");
  assert.equal(winner(p, { path: "/a/b", query: "v=2" }), "default/long");
  assert.equal(winner(p, { path: "/a/b" }), "default/short");
  assert.equal(winner(p, { path: "/b" }), "none");
});
