// Matches and filters end to end: YAML → plan → proxy → real upstreams.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { type TestUpstream, startUpstream } from "../support/upstreams.ts";
import { GATEWAY_YAML, type GatewayUnderTest, ask, backendYaml, ref, startGateway } from "./harness.ts";

let a: TestUpstream;
let b: TestUpstream;
let gw: GatewayUnderTest;

function routes(): string {
  return `${GATEWAY_YAML}${backendYaml("a", a.port)}${backendYaml("b", b.port)}---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: matches, namespace: default}
spec:
  parentRefs: [{name: edge}]
  hostnames: [shop.example.com]
  rules:
    - matches: [{path: {type: Exact, value: /exact}}]
      backendRefs: [${ref("a")}]
    - matches: [{path: {type: PathPrefix, value: /prefix}}]
      backendRefs: [${ref("b")}]
    - matches: [{path: {type: RegularExpression, value: "/items/[0-9]+"}}]
      backendRefs: [${ref("b")}]
    - matches: [{path: {type: PathPrefix, value: /m}, method: DELETE}]
      backendRefs: [${ref("b")}]
    - matches: [{path: {type: PathPrefix, value: /m}, headers: [{name: X-Canary, value: "yes"}]}]
      backendRefs: [${ref("b")}]
    - matches: [{path: {type: PathPrefix, value: /m}, queryParams: [{name: v, value: "2"}]}]
      backendRefs: [${ref("b")}]
    - matches: [{path: {type: PathPrefix, value: /m}}]
      backendRefs: [${ref("a")}]
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: filters, namespace: default}
spec:
  parentRefs: [{name: edge}]
  hostnames: [filters.example.com]
  rules:
    - matches: [{path: {type: PathPrefix, value: /headers}}]
      filters:
        - type: RequestHeaderModifier
          requestHeaderModifier:
            set: [{name: X-Set, value: set-value}]
            add: [{name: X-Add, value: added}]
            remove: [X-Remove]
        - type: ResponseHeaderModifier
          responseHeaderModifier:
            set: [{name: X-Upstream, value: rewritten}]
            add: [{name: X-Resp-Add, value: r1}]
            remove: [Content-Type]
      backendRefs: [${ref("a")}]
    - matches: [{path: {type: PathPrefix, value: /rewrite-prefix}}]
      filters:
        - type: URLRewrite
          urlRewrite:
            hostname: internal.svc
            path: {type: ReplacePrefixMatch, replacePrefixMatch: /v2}
      backendRefs: [${ref("a")}]
    - matches: [{path: {type: PathPrefix, value: /strip}}]
      filters:
        - type: URLRewrite
          urlRewrite:
            path: {type: ReplacePrefixMatch, replacePrefixMatch: /}
      backendRefs: [${ref("a")}]
    - matches: [{path: {type: PathPrefix, value: /rewrite-full}}]
      filters:
        - type: URLRewrite
          urlRewrite:
            path: {type: ReplaceFullPath, replaceFullPath: /replaced}
      backendRefs: [${ref("a")}]
    - matches: [{path: {type: PathPrefix, value: /redirect-https}}]
      filters:
        - type: RequestRedirect
          requestRedirect: {scheme: https, statusCode: 301}
    - matches: [{path: {type: PathPrefix, value: /redirect-host}}]
      filters:
        - type: RequestRedirect
          requestRedirect: {hostname: other.example.com, port: 8443, path: {type: ReplacePrefixMatch, replacePrefixMatch: /new}}
    - matches: [{path: {type: PathPrefix, value: /redirect-full}}]
      filters:
        - type: RequestRedirect
          requestRedirect: {path: {type: ReplaceFullPath, replaceFullPath: /landing}, statusCode: 308}
    - matches: [{path: {type: Exact, value: /direct}}]
      filters:
        - type: ExtensionRef
          extensionRef: {group: gateway.kgateway.dev, kind: DirectResponse, name: teapot}
    - matches: [{path: {type: Exact, value: /direct-empty}}]
      filters:
        - type: ExtensionRef
          extensionRef: {group: gateway.kgateway.dev, kind: DirectResponse, name: nothing}
    - matches: [{path: {type: PathPrefix, value: /per-backend}}]
      backendRefs:
        - group: gateway.tollgate.dev
          kind: Backend
          name: b
          filters:
            - type: RequestHeaderModifier
              requestHeaderModifier: {set: [{name: X-Backend-Filter, value: b}]}
            - type: ResponseHeaderModifier
              responseHeaderModifier: {add: [{name: X-From-Backend-Filter, value: "1"}]}
    - matches: [{path: {type: PathPrefix, value: /no-backends}}]
    - matches: [{path: {type: PathPrefix, value: /zero-weight}}]
      backendRefs: [${ref("a", 0)}]
---
apiVersion: gateway.kgateway.dev/v1alpha1
kind: DirectResponse
metadata: {name: teapot, namespace: default}
spec:
  status: 418
  body: "short and stout"
---
apiVersion: gateway.kgateway.dev/v1alpha1
kind: DirectResponse
metadata: {name: nothing, namespace: default}
spec:
  status: 204
`;
}

before(async () => {
  a = await startUpstream("a");
  b = await startUpstream("b");
  gw = await startGateway(routes());
});

after(async () => {
  await gw?.close();
  await a?.close();
  await b?.close();
});

async function upstreamOf(path: string, init: { method?: string; headers?: Record<string, string> } = {}, host = "shop.example.com"): Promise<string> {
  const r = await ask(gw.port, { path, method: init.method ?? "GET", headers: { host, ...init.headers } });
  assert.equal(r.status, 200, `${path}: ${r.body.toString()}`);
  return (r.json() as { upstream: string }).upstream;
}

describe("matches", () => {
  test("exact path matches only the exact path", async () => {
    assert.equal(await upstreamOf("/exact"), "a");
    const r = await ask(gw.port, { path: "/exact/more", headers: { host: "shop.example.com" } });
    assert.equal(r.status, 404);
  });

  test("path prefix matches whole segments", async () => {
    assert.equal(await upstreamOf("/prefix"), "b");
    assert.equal(await upstreamOf("/prefix/deeper?q=1"), "b");
    assert.equal((await ask(gw.port, { path: "/prefixed", headers: { host: "shop.example.com" } })).status, 404);
  });

  test("regular expression paths match the whole path", async () => {
    assert.equal(await upstreamOf("/items/42"), "b");
    assert.equal((await ask(gw.port, { path: "/items/abc", headers: { host: "shop.example.com" } })).status, 404);
  });

  test("method, header and query matches beat a plain prefix", async () => {
    assert.equal(await upstreamOf("/m/x"), "a");
    assert.equal(await upstreamOf("/m/x", { method: "DELETE" }), "b");
    assert.equal(await upstreamOf("/m/x", { headers: { "x-canary": "yes" } }), "b");
    assert.equal(await upstreamOf("/m/x?v=2"), "b");
    assert.equal(await upstreamOf("/m/x?v=3"), "a");
  });

  test("hostnames select the route; unknown hosts get a JSON 404 naming host and path", async () => {
    const r = await ask(gw.port, { path: "/exact", headers: { host: "nope.example.com" } });
    assert.equal(r.status, 404);
    assert.equal(r.headers["content-type"], "application/json");
    assert.deepEqual(r.json(), { error: "no_route", message: "no route matches host nope.example.com path /exact" });
  });
});

describe("filters", () => {
  test("RequestHeaderModifier sets, appends and removes request headers", async () => {
    const r = await ask(gw.port, {
      path: "/headers",
      headers: { host: "filters.example.com", "x-set": "client", "x-add": "client", "x-remove": "gone" },
    });
    assert.equal(r.status, 200);
    const seen = (r.json() as { headers: Record<string, string> }).headers;
    assert.equal(seen["x-set"], "set-value");
    assert.equal(seen["x-add"], "client,added");
    assert.equal(seen["x-remove"], undefined);
  });

  test("ResponseHeaderModifier sets, adds and removes response headers", async () => {
    const r = await ask(gw.port, { path: "/headers", headers: { host: "filters.example.com" } });
    assert.equal(r.headers["x-upstream"], "rewritten");
    assert.equal(r.headers["x-resp-add"], "r1");
    assert.equal(r.headers["content-type"], undefined);
  });

  test("URLRewrite replaces the matched prefix and the Host", async () => {
    const r = await ask(gw.port, { path: "/rewrite-prefix/x/y?k=v", headers: { host: "filters.example.com" } });
    const seen = r.json() as { url: string; headers: Record<string, string> };
    assert.equal(seen.url, "/v2/x/y?k=v");
    assert.equal(seen.headers.host, "internal.svc");
    assert.equal(seen.headers["x-forwarded-host"], "filters.example.com");
  });

  test("URLRewrite with prefix replacement / strips the prefix", async () => {
    assert.equal((await ask(gw.port, { path: "/strip/a/b", headers: { host: "filters.example.com" } })).json().url, "/a/b");
    assert.equal((await ask(gw.port, { path: "/strip", headers: { host: "filters.example.com" } })).json().url, "/");
  });

  test("URLRewrite ReplaceFullPath keeps the query and the Host", async () => {
    const seen = (await ask(gw.port, { path: "/rewrite-full/anything?z=1", headers: { host: "filters.example.com" } })).json() as {
      url: string;
      headers: Record<string, string>;
    };
    assert.equal(seen.url, "/replaced?z=1");
    assert.equal(seen.headers.host, "filters.example.com");
  });

  test("RequestRedirect to https drops the port and keeps path and query", async () => {
    const r = await ask(gw.port, { path: "/redirect-https/p?q=1", headers: { host: "filters.example.com:8080" } });
    assert.equal(r.status, 301);
    assert.equal(r.headers.location, "https://filters.example.com/redirect-https/p?q=1");
  });

  test("RequestRedirect hostname, port and prefix replacement; default status 302", async () => {
    const r = await ask(gw.port, { path: "/redirect-host/rest", headers: { host: "filters.example.com" } });
    assert.equal(r.status, 302);
    assert.equal(r.headers.location, "http://other.example.com:8443/new/rest");
  });

  test("RequestRedirect without scheme or port uses the listener port", async () => {
    const r = await ask(gw.port, { path: "/redirect-full/x?y=2", headers: { host: "filters.example.com" } });
    assert.equal(r.status, 308);
    assert.equal(r.headers.location, "http://filters.example.com:8080/landing?y=2");
  });

  test("DirectResponse answers without an upstream", async () => {
    const before = a.requests.length + b.requests.length;
    const r = await ask(gw.port, { path: "/direct", headers: { host: "filters.example.com" } });
    assert.equal(r.status, 418);
    assert.equal(r.body.toString(), "short and stout");
    assert.equal(a.requests.length + b.requests.length, before);
  });

  test("a 204 DirectResponse carries no Content-Length (RFC 9110 §8.6)", async () => {
    const r = await ask(gw.port, { path: "/direct-empty", headers: { host: "filters.example.com" } });
    assert.equal(r.status, 204);
    assert.equal(r.headers["content-length"], undefined);
    assert.equal(r.headers["transfer-encoding"], undefined);
    assert.equal(r.body.length, 0);
  });

  test("backendRef filters apply to requests and responses through that backend", async () => {
    const r = await ask(gw.port, { path: "/per-backend", headers: { host: "filters.example.com" } });
    const seen = r.json() as { upstream: string; headers: Record<string, string> };
    assert.equal(seen.upstream, "b");
    assert.equal(seen.headers["x-backend-filter"], "b");
    assert.equal(r.headers["x-from-backend-filter"], "1");
  });
});

describe("rules that cannot reach an upstream", () => {
  test("a rule without backendRefs answers 500 (Gateway API)", async () => {
    const r = await ask(gw.port, { path: "/no-backends", headers: { host: "filters.example.com" } });
    assert.equal(r.status, 500);
    assert.equal(r.json().error, "no_backend");
  });

  test("backends of weight 0 answer 503", async () => {
    const r = await ask(gw.port, { path: "/zero-weight", headers: { host: "filters.example.com" } });
    assert.equal(r.status, 503);
    assert.equal(r.json().error, "no_healthy_upstream");
  });
});
