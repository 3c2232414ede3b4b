import { test } from "node:test";
import assert from "node:assert/strict";
import type { IncomingHttpHeaders } from "node:http";
import { exact, gateway, plan, prefix, regex, route, winner } from "../plan/config-builder.ts";
import type { MatchModel } from "../../src/config/model.ts";

/** A router with one route named `hit` holding the given match. */
function single(m: MatchModel) {
  const p = plan({ gateways: [gateway("gw", [{}])], routes: [route("hit", { rules: [{ matches: [m] }] })] });
  return (path: string, extra: { method?: string; query?: string; headers?: IncomingHttpHeaders } = {}) =>
    p.listeners[0]!.router.match("example.com", extra.method ?? "GET", path, extra.query ?? "", extra.headers ?? {}) !== undefined;
}

test("Exact path matches only the identical path", () => {
  const hits = single(exact("/foo"));
  assert.equal(hits("/foo"), true);
  assert.equal(hits("/foo/"), false);
  assert.equal(hits("/foo/bar"), false);
  assert.equal(hits("/fo"), false);
  assert.equal(hits("/FOO"), false, "paths are case-sensitive");
});

test("PathPrefix matches on path-element boundaries", () => {
  const hits = single(prefix("/foo"));
  assert.equal(hits("/foo"), true);
  assert.equal(hits("/foo/"), true);
  assert.equal(hits("/foo/bar"), true);
  assert.equal(hits("/foo/bar/baz"), true);
  assert.equal(hits("/foobar"), false);
  assert.equal(hits("/fo"), false);
  assert.equal(hits("/"), false);
  assert.equal(hits("/x/foo"), false);
});

test("a trailing slash in a PathPrefix is ignored", () => {
  const hits = single(prefix("/foo/"));
  assert.equal(hits("/foo"), true);
  assert.equal(hits("/foo/"), true);
  assert.equal(hits("/foo/bar"), true);
  assert.equal(hits("/foobar"), false);
});

test("PathPrefix / matches every path", () => {
  const hits = single(prefix("/"));
  for (const path of ["/", "/a", "/a/b/", "/anything?x"]) assert.equal(hits(path), true, path);
});

test("multi-segment prefixes match whole segments only", () => {
  const hits = single(prefix("/api/v1"));
  assert.equal(hits("/api/v1"), true);
  assert.equal(hits("/api/v1/users"), true);
  assert.equal(hits("/api/v10"), false);
  assert.equal(hits("/api"), false);
});

test("RegularExpression paths must match the whole path", () => {
  const hits = single(regex("/users/[0-9]+"));
  assert.equal(hits("/users/42"), true);
  assert.equal(hits("/users/42/edit"), false, "anchored at the end");
  assert.equal(hits("/v1/users/42"), false, "anchored at the start");
  assert.equal(hits("/users/"), false);
});

test("a regex alternation stays inside the anchors", () => {
  const hits = single(regex("/a|/b"));
  assert.equal(hits("/a"), true);
  assert.equal(hits("/b"), true);
  assert.equal(hits("/ab"), false);
  assert.equal(hits("/a/x"), false);
  assert.equal(hits("/x/b"), false);
});

test("method matches exactly", () => {
  const hits = single(prefix("/", { method: "POST" }));
  assert.equal(hits("/", { method: "POST" }), true);
  assert.equal(hits("/", { method: "GET" }), false);
});

test("header Exact: name case-insensitive, value case-sensitive", () => {
  const hits = single(prefix("/", { headers: [{ name: "X-Env", value: "Canary" }] }));
  assert.equal(hits("/", { headers: { "x-env": "Canary" } }), true);
  assert.equal(hits("/", { headers: { "x-env": "canary" } }), false);
  assert.equal(hits("/", { headers: { "x-env": "Canary2" } }), false);
  assert.equal(hits("/", { headers: {} }), false);
});

test("header RegularExpression is a full match", () => {
  const hits = single(prefix("/", { headers: [{ name: "x-version", value: "v[0-9]+", type: "RegularExpression" }] }));
  assert.equal(hits("/", { headers: { "x-version": "v12" } }), true);
  assert.equal(hits("/", { headers: { "x-version": "v12-beta" } }), false);
  assert.equal(hits("/", { headers: { "x-version": "xv1" } }), false);
});

test("a multi-valued header matches when any value does", () => {
  const hits = single(prefix("/", { headers: [{ name: "x-tag", value: "b" }] }));
  assert.equal(hits("/", { headers: { "x-tag": ["a", "b"] } }), true);
  assert.equal(hits("/", { headers: { "x-tag": ["a", "c"] } }), false);
});

test("all header matches must hold", () => {
  const hits = single(prefix("/", { headers: [{ name: "a", value: "1" }, { name: "b", value: "2" }] }));
  assert.equal(hits("/", { headers: { a: "1", b: "2" } }), true);
  assert.equal(hits("/", { headers: { a: "1" } }), false);
});

test("query param Exact and RegularExpression", () => {
  const hits = single(
    prefix("/", {
      query: [
        { name: "debug", value: "true" },
        { name: "id", value: "[0-9]+", type: "RegularExpression" },
      ],
    }),
  );
  assert.equal(hits("/", { query: "debug=true&id=7" }), true);
  assert.equal(hits("/", { query: "id=7&debug=true" }), true);
  assert.equal(hits("/", { query: "debug=true&id=7x" }), false);
  assert.equal(hits("/", { query: "debug=TRUE&id=7" }), false);
  assert.equal(hits("/", { query: "debug=true" }), false);
  assert.equal(hits("/", { query: "" }), false);
});

test("query values are percent-decoded and the first occurrence counts", () => {
  const hits = single(prefix("/", { query: [{ name: "q", value: "a b" }] }));
  assert.equal(hits("/", { query: "q=a%20b" }), true);
  assert.equal(hits("/", { query: "q=a+b" }), true);
  assert.equal(hits("/", { query: "q=a%20b&q=zzz" }), true);
  assert.equal(hits("/", { query: "q=zzz&q=a%20b" }), false);
});

test("the query string is parsed lazily, at most once per request", () => {
  const p = plan({
    gateways: [gateway("gw", [{}])],
    routes: [
      route("q1", { rules: [{ matches: [prefix("/q", { query: [{ name: "a", value: "1" }] })] }] }),
      route("q2", { rules: [{ matches: [prefix("/q", { query: [{ name: "b", value: "2" }] })] }] }),
      route("q3", { rules: [{ matches: [prefix("/q", { query: [{ name: "c", value: "3" }] })] }] }),
      route("plain", { rules: [{ matches: [prefix("/plain")] }] }),
    ],
  });
  const Original = globalThis.URLSearchParams;
  let constructed = 0;
  globalThis.URLSearchParams = class extends Original {
    constructor(init?: string) {
      super(init);
      constructed++;
    }
  };
  try {
    const router = p.listeners[0]!.router;
    assert.equal(router.match("h", "GET", "/plain", "a=1&b=2", {})?.rule.routeKey, "default/plain");
    assert.equal(constructed, 0, "no candidate needed the query");
    assert.equal(router.match("h", "GET", "/q", "c=3", {})?.rule.routeKey, "default/q3");
    assert.equal(constructed, 1, "three candidates tested, one parse");
    assert.equal(router.match("h", "GET", "/q", "c=4", {}), undefined);
    assert.equal(constructed, 2, "a new request parses its own query");
  } finally {
    globalThis.URLSearchParams = Original;
  }
});

test("matching never constructs a RegExp", () => {
  const p = plan({
    gateways: [gateway("gw", [{}])],
    routes: [
      route("r", { rules: [{ matches: [regex("/r/[a-z]+", { headers: [{ name: "x", value: "y.*", type: "RegularExpression" }] })] }] }),
      route("q", { rules: [{ matches: [prefix("/", { query: [{ name: "n", value: "[0-9]+", type: "RegularExpression" }] })] }] }),
    ],
  });
  const Original = globalThis.RegExp;
  let constructed = 0;
  globalThis.RegExp = new Proxy(Original, {
    construct(target, args) {
      constructed++;
      return Reflect.construct(target, args) as object;
    },
    apply(target, self, args) {
      constructed++;
      return Reflect.apply(target, self, args) as unknown;
    },
  });
  try {
    const router = p.listeners[0]!.router;
    assert.equal(router.match("h", "GET", "/r/abc", "", { x: "yes" })?.rule.routeKey, "default/r");
    assert.equal(router.match("h", "GET", "/other", "n=5", {})?.rule.routeKey, "default/q");
    assert.equal(router.match("h", "GET", "/other", "n=x", {}), undefined);
  } finally {
    globalThis.RegExp = Original;
  }
  assert.equal(constructed, 0);
});

test("several matches in one rule are ORed", () => {
  const p = plan({
    gateways: [gateway("gw", [{}])],
    routes: [route("r", { rules: [{ matches: [exact("/a"), prefix("/b", { method: "PUT" })] }] })],
  });
  assert.equal(winner(p, { path: "/a" }), "default/r");
  assert.equal(winner(p, { path: "/b/c", method: "PUT" }), "default/r");
  assert.equal(winner(p, { path: "/b/c", method: "GET" }), "none");
  assert.equal(winner(p, { path: "/c" }), "none");
});

test("the match result names the path match that won", () => {
  const p = plan({
    gateways: [gateway("gw", [{}])],
    routes: [route("r", { rules: [{ matches: [exact("/a"), prefix("/b/")] }] })],
  });
  const m = p.listeners[0]!.router.match("h", "GET", "/b/x", "", {});
  assert.equal(m?.pathType, "PathPrefix");
  assert.equal(m?.pathValue, "/b/");
  assert.equal(p.listeners[0]!.router.match("h", "GET", "/b/x", "", {}), m, "results are preallocated");
});
