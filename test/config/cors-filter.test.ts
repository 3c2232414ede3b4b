// The HTTPRoute CORS filter in the config: what it loads to (origins as browsers send them),
// and the exact text of each error, at the field that holds the problem.
import assert from "node:assert/strict";
import { test } from "node:test";
import type { FilterModel } from "../../src/config/model.ts";
import { GATEWAY, WEB_ROUTE, errors, load, trafficPolicy, warnings } from "./helpers.ts";

/** An HTTPRoute `web` on the test Gateway, up to its first rule's `- `. */
const ROUTE_HEAD = `${WEB_ROUTE}  rules:
  - `;

const route = (cors: string, extraFilter = ""): string => `${ROUTE_HEAD}filters:
    - type: CORS
      cors:
${cors}${extraFilter}    backendRefs:
    - {name: app, port: 80}
`;

function ruleFilters(text: string): readonly FilterModel[] {
  const { config, diagnostics } = load(text);
  assert.ok(config, diagnostics.map((d) => d.message).join("\n"));
  return config.routes[0]!.rules[0]!.filters;
}

test("the conformance filter loads as written; origins lose the scheme's own port and upper case in the host, header names are lower-cased", () => {
  assert.deepEqual(
    ruleFilters(
      route(`        allowOrigins: ["https://www.foo.com", "https://*.bar.com", "http://API.Example.com:80", "https://a.example:443", "http://b.example:8080"]
        allowMethods: [GET, OPTIONS]
        allowHeaders: [x-header-1, X-Header-2]
        exposeHeaders: [x-header-3, "*"]
        allowCredentials: true
        maxAge: 3600
`),
    ),
    [
      {
        type: "CORS",
        allowOrigins: ["https://www.foo.com", "https://*.bar.com", "http://api.example.com", "https://a.example", "http://b.example:8080"],
        allowCredentials: true,
        allowMethods: ["GET", "OPTIONS"],
        allowHeaders: ["x-header-1", "x-header-2"],
        exposeHeaders: ["x-header-3", "*"],
        maxAgeSeconds: 3600,
      },
    ],
  );
});

test("an empty filter allows nothing extra and answers preflights with Max-Age 5, as the Gateway API default says", () => {
  assert.deepEqual(ruleFilters(route("        {}\n")), [
    { type: "CORS", allowOrigins: [], allowCredentials: false, allowMethods: [], allowHeaders: [], exposeHeaders: [], maxAgeSeconds: 5 },
  ]);
});

test("an origin with a path, a trailing slash, another scheme or a wildcard inside the host is refused with a hint for that slip", () => {
  assert.deepEqual(
    errors(route(`        allowOrigins: ["https://app.example.com/", "app.example.com", "ftp://files.example", "https://api.*.example", "https://a.example:70000", "https://b.example:0"]\n`)),
    [
      't.yaml:23:24: spec.rules[0].filters[0].cors.allowOrigins[0]: "https://app.example.com/" is not a CORS origin (hint: an origin has no path, not even a trailing "/": write https://app.example.com)',
      't.yaml:23:52: spec.rules[0].filters[0].cors.allowOrigins[1]: "app.example.com" is not a CORS origin (hint: an origin starts with http:// or https://; write scheme://host[:port], e.g. https://app.example.com, https://*.example.com or "*")',
      't.yaml:23:71: spec.rules[0].filters[0].cors.allowOrigins[2]: "ftp://files.example" is not a CORS origin (hint: only http and https origins are allowed, in lower case; write scheme://host[:port], e.g. https://app.example.com, https://*.example.com or "*")',
      't.yaml:23:94: spec.rules[0].filters[0].cors.allowOrigins[3]: "https://api.*.example" is not a CORS origin (hint: "*" may only stand first in the host, as a whole label ("*.example.com"), or be the whole host)',
      't.yaml:23:119: spec.rules[0].filters[0].cors.allowOrigins[4]: port 70000 of "https://a.example:70000" is not a TCP port (hint: use a port from 1 to 65535)',
      't.yaml:23:146: spec.rules[0].filters[0].cors.allowOrigins[5]: port 0 of "https://b.example:0" is not a TCP port (hint: use a port from 1 to 65535)',
    ],
  );
});

test('"*" beside other values, and a value listed twice, are errors; exposeHeaders may hold "*" beside names', () => {
  assert.deepEqual(
    errors(
      route(`        allowOrigins: ["https://a.example", "*", "https://A.example:443"]
        allowMethods: [GET, "*"]
        allowHeaders: ["*", x-one]
        exposeHeaders: [x-two, "*", X-Two]
`),
    ),
    [
      't.yaml:23:45: spec.rules[0].filters[0].cors.allowOrigins[1]: "*" allows everything, so it cannot stand beside other values (hint: keep "*" alone, or list the values without it)',
      't.yaml:23:50: spec.rules[0].filters[0].cors.allowOrigins[2]: "https://A.example:443" appears twice (also [0]) (hint: list each value once)',
      't.yaml:24:29: spec.rules[0].filters[0].cors.allowMethods[1]: "*" allows everything, so it cannot stand beside other values (hint: keep "*" alone, or list the values without it)',
      't.yaml:25:24: spec.rules[0].filters[0].cors.allowHeaders[0]: "*" allows everything, so it cannot stand beside other values (hint: keep "*" alone, or list the values without it)',
      't.yaml:26:37: spec.rules[0].filters[0].cors.exposeHeaders[2]: "X-Two" appears twice (also [0]) (hint: list each value once)',
    ],
  );
});

test("a header name that is not a token is refused; so are a method outside the Gateway API set and a maxAge below 1", () => {
  assert.deepEqual(errors(route(`        allowHeaders: ["x one"]\n`)), [
    't.yaml:23:24: spec.rules[0].filters[0].cors.allowHeaders[0]: "x one" is not a valid header name (hint: use letters, digits and !#$%&\'*+-.^_`|~ only (an RFC 9110 token))',
  ]);
  assert.deepEqual(errors(route(`        allowMethods: [get]\n        maxAge: 0\n`)), [
    't.yaml:23:24: spec.rules[0].filters[0].cors.allowMethods[0]: the string "get" is not allowed (hint: did you mean "GET"? (one of GET, HEAD, POST, PUT, DELETE, CONNECT, OPTIONS, TRACE, PATCH, *))',
    "t.yaml:24:17: spec.rules[0].filters[0].cors.maxAge: 0 is out of range: must be >= 1 (hint: use 1 or more)",
  ]);
});

test("CORS twice in a rule, or on a backendRef, is an error", () => {
  assert.deepEqual(errors(route("        allowOrigins: ['*']\n", "    - type: CORS\n      cors: {allowOrigins: ['https://a.example']}\n")), [
    "t.yaml:24:13: spec.rules[0].filters[1].type: CORS appears twice (also filters[0]) (hint: merge them into one filter)",
  ]);
  const onBackend = `${ROUTE_HEAD}backendRefs:
    - name: app
      port: 80
      filters:
      - type: CORS
        cors: {allowOrigins: ['*']}
`;
  assert.deepEqual(errors(onBackend), [
    "t.yaml:24:15: spec.rules[0].backendRefs[0].filters[0].type: CORS is not supported on a backendRef (hint: move it to the rule's filters)",
  ]);
});

/** Two routes, the second with a CORS filter of its own on its first rule. */
const ROUTES = `${GATEWAY}---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: web}
spec:
  parentRefs: [{name: gw}]
  rules:
  - name: a
    matches: [{path: {type: PathPrefix, value: /a}}]
    backendRefs: [{name: app, port: 80}]
  - name: b
    matches: [{path: {type: PathPrefix, value: /b}}]
    filters: [{type: RequestRedirect, requestRedirect: {hostname: b.example}}]
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: api}
spec:
  parentRefs: [{name: gw}]
  rules:
  - matches: [{path: {type: PathPrefix, value: /api}}]
    filters: [{type: CORS, cors: {allowOrigins: ["https://own.example"]}}]
    backendRefs: [{name: app, port: 80}]
  - matches: [{path: {type: PathPrefix, value: /api/v2}}]
    backendRefs: [{name: app, port: 80}]
`;

const BOTH_ROUTES = "[{group: gateway.networking.k8s.io, kind: HTTPRoute, name: web}, {group: gateway.networking.k8s.io, kind: HTTPRoute, name: api}]";
const corsPolicy = (name: string, cors: string, targets = BOTH_ROUTES, created?: string): string => trafficPolicy(name, `  cors: ${cors}\n`, targets, created);

/** Each rule's allowed origins, by `route[rule]`; '-' for a rule without CORS. */
function corsOfRules(text: string): Record<string, string> {
  const { config, diagnostics } = load(text);
  assert.ok(config, diagnostics.map((d) => d.message).join("\n"));
  const out: Record<string, string> = {};
  for (const route of config.routes) {
    route.rules.forEach((rule, i) => {
      // The compiler keeps the last CORS filter of a rule: a rule must never get a second one.
      const cors = rule.filters.filter((f) => f.type === "CORS");
      out[`${route.ref.name}[${i}]`] = cors.length === 0 ? "-" : cors.length > 1 ? `${cors.length} CORS filters` : cors[0]!.allowOrigins.join(" ");
    });
  }
  return out;
}

test("kgateway TrafficPolicy cors gives every rule of its routes the filter, unless the rule has a CORS filter of its own", () => {
  assert.deepEqual(corsOfRules(ROUTES + corsPolicy("tp", '{allowOrigins: ["https://APP.example:443"], allowCredentials: true}')), {
    "web[0]": "https://app.example",
    "web[1]": "https://app.example",
    "api[0]": "https://own.example",
    "api[1]": "https://app.example",
  });
  assert.deepEqual(corsOfRules(ROUTES), { "web[0]": "-", "web[1]": "-", "api[0]": "https://own.example", "api[1]": "-" });
  const { config } = load(ROUTES + corsPolicy("tp", '{allowOrigins: ["https://APP.example:443"], allowCredentials: true, allowMethods: [PUT], allowHeaders: [X-A], exposeHeaders: [x-b], maxAge: 60}'));
  assert.deepEqual(config!.routes.find((r) => r.ref.name === "web")!.rules[0]!.filters, [
    { type: "CORS", allowOrigins: ["https://app.example"], allowCredentials: true, allowMethods: ["PUT"], allowHeaders: ["x-a"], exposeHeaders: ["x-b"], maxAgeSeconds: 60 },
  ]);
});

test("of two TrafficPolicies with cors on one route the older wins, with a warning on the other; a bad field is reported once, at the policy", () => {
  // By creationTimestamp first: the policy named second is the older one here.
  const text =
    ROUTES +
    corsPolicy("a-newer", '{allowOrigins: ["https://a.example"]}') +
    corsPolicy("b-older", '{allowOrigins: ["https://b.example"]}', "[{group: gateway.networking.k8s.io, kind: HTTPRoute, name: web}]", "2025-01-01T00:00:00Z");
  assert.deepEqual(corsOfRules(text), { "web[0]": "https://b.example", "web[1]": "https://b.example", "api[0]": "https://own.example", "api[1]": "https://a.example" });
  assert.deepEqual(warnings(text), [
    "t.yaml:42:9: spec.cors: warning: HTTPRoute default/web already gets cors from TrafficPolicy default/b-older, which is older; this one is ignored for it",
  ]);
  assert.deepEqual(errors(ROUTES + corsPolicy("tp", '{allowOrigins: ["https://a.example/"]}')), [
    't.yaml:42:25: spec.cors.allowOrigins[0]: "https://a.example/" is not a CORS origin (hint: an origin has no path, not even a trailing "/": write https://a.example)',
  ]);
});

test("a targetRef's sectionName narrows cors to the rule of that name; a name the route lacks is warned; tracing there still covers the whole route", () => {
  const toRule = (section: string): string => `[{group: gateway.networking.k8s.io, kind: HTTPRoute, name: web, sectionName: ${section}}]`;
  const narrowed = ROUTES + corsPolicy("tp", '{allowOrigins: ["https://a.example"], allowCredentials: true}', toRule("b"));
  assert.deepEqual(corsOfRules(narrowed), { "web[0]": "-", "web[1]": "https://a.example", "api[0]": "https://own.example", "api[1]": "-" });
  assert.deepEqual(warnings(narrowed), []);
  // A policy for the whole route still fills the rules a narrower, older one left.
  const layered = narrowed + corsPolicy("wide", '{allowOrigins: ["https://w.example"]}', "[{group: gateway.networking.k8s.io, kind: HTTPRoute, name: web}]", "2026-06-01T00:00:00Z");
  assert.deepEqual(corsOfRules(layered), { "web[0]": "https://w.example", "web[1]": "https://a.example", "api[0]": "https://own.example", "api[1]": "-" });
  assert.deepEqual(warnings(layered), []);
  const missing = ROUTES + corsPolicy("tp", '{allowOrigins: ["https://a.example"]}', toRule("c"));
  assert.deepEqual(corsOfRules(missing), { "web[0]": "-", "web[1]": "-", "api[0]": "https://own.example", "api[1]": "-" });
  assert.deepEqual(warnings(missing), [
    't.yaml:41:92: spec.targetRefs[0].sectionName: warning: HTTPRoute default/web has no rule named "c"; cors applies to no rule through it (hint: name a rule of the route: a, b)',
  ]);
  const tracing = `${ROUTES}---
apiVersion: gateway.kgateway.dev/v1alpha1
kind: TrafficPolicy
metadata: {name: traced}
spec:
  targetRefs: ${toRule("a")}
  tracing: {randomSampling: 50}
`;
  assert.deepEqual(warnings(tracing), [
    "t.yaml:41:92: spec.targetRefs[0].sectionName: warning: sectionName is not supported for tracing; the policy's tracing applies to the whole HTTPRoute (hint: remove sectionName, or move tracing to a policy without it)",
  ]);
});
