// kgateway TrafficPolicy `consistentHash` in the config: the hash policies each rule gets, in
// kgateway's canonical order with duplicates dropped; the merge of several policies (rule
// before route, older first; sourceIp and disable from the preferred one alone; the default
// sourceIp); the cookie lifetimes; and the exact text of each error and warning.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { test } from "node:test";
import type { FilterModel, HashPolicyModel } from "../../src/config/model.ts";
import { cookieTtlSeconds } from "../../src/config/traffic-consistent-hash.ts";
import { addressKey, canonicalIpv6 } from "../../src/config/address-key.ts";
import { TO_GATEWAY, TO_RULE_A, TWO_RULE_ROUTE, errors, load, trafficPolicy as policy, warnings } from "./helpers.ts";

/** TWO_RULE_ROUTE sending to a Backend with two endpoints (line for line, so positions hold): a Service has one. */
const ROUTE = TWO_RULE_ROUTE.replace("apiVersion: v1\nkind: Service\nmetadata: {name: app}\nspec: {ports: [{port: 80}]}\n", "apiVersion: gateway.tollgate.dev/v1alpha1\nkind: Backend\nmetadata: {name: app}\nspec: {endpoints: [{ip: {address: 10.0.0.1, port: 80}}, {ip: {address: 10.0.0.2, port: 80}}]}\n").replaceAll(
  "backendRefs: [{name: app, port: 80}]",
  "backendRefs: [{group: gateway.tollgate.dev, kind: Backend, name: app}]",
);
const hashesOf = (text: string): (FilterModel | undefined)[] => load(text).config!.routes[0]!.rules.map((r) => r.filters.find((f) => f.type === "ConsistentHash"));
const sourceIp = (terminal = false): HashPolicyModel => ({ kind: "sourceIp", terminal });
const header = (name: string, terminal = false): HashPolicyModel => ({ kind: "header", name, regexRewrite: undefined, terminal });
const query = (name: string, terminal = false): HashPolicyModel => ({ kind: "queryParameter", name, terminal });

test("one policy: canonical order (headers, cookies, queryParameters, sourceIp), duplicates dropped, names as kgateway keeps them", () => {
  const body = `  consistentHash:
    sourceIp: {terminal: true}
    queryParameters: [{name: Tenant}, {name: tenant}, {name: Tenant, terminal: true}, {name: page, terminal: true}]
    cookies:
    - {name: session, ttl: 1h30m, path: /, attributes: [{name: SameSite, value: Strict}, {name: Secure, value: ''}], terminal: true}
    - {name: session}
    headers:
    - {headerName: X-User}
    - {headerName: x-user, terminal: true}
    - {headerName: ':authority'}
    - headerName: x-session
      regexRewrite: {pattern: '^([a-z]+)-.*$', substitution: '\\1'}
`;
  const text = ROUTE + policy("p", body);
  assert.deepEqual(warnings(text), []);
  const expected: FilterModel = {
    type: "ConsistentHash",
    policies: ["default/p"],
    hashPolicies: [
      header("x-user"),
      header(":authority"),
      { kind: "header", name: "x-session", regexRewrite: { pattern: "^([a-z]+)-.*$", substitution: "\\1", source: { file: "t.yaml", line: 45, col: 31, path: "spec.consistentHash.headers[3].regexRewrite.pattern" } }, terminal: false },
      { kind: "cookie", name: "session", ttlSeconds: 5400, path: "/", attributes: [{ name: "SameSite", value: "Strict" }, { name: "Secure", value: "" }], terminal: true },
      query("Tenant"),
      query("tenant"),
      query("page", true),
      sourceIp(true),
    ],
  };
  assert.deepEqual(hashesOf(text), [expected, expected]);
});

test("an empty consistentHash hashes on the client's address; one with filterState alone has no part (round-robin)", () => {
  const expected: FilterModel = { type: "ConsistentHash", policies: ["default/p"], hashPolicies: [sourceIp()] };
  assert.deepEqual(hashesOf(ROUTE + policy("p", "  consistentHash: {}\n")), [expected, expected]);
  const filterState = ROUTE + policy("p", "  consistentHash:\n    filterState: [{key: envoy.tcp_proxy.cluster, terminal: true}]\n");
  // kgateway counts filterState as retained, so no default sourceIp; the gateway has no filter state to read.
  const none: FilterModel = { type: "ConsistentHash", policies: ["default/p"], hashPolicies: [] };
  assert.deepEqual(hashesOf(filterState), [none, none]);
  assert.deepEqual(warnings(filterState), [
    "t.yaml:35:18: spec.consistentHash.filterState: warning: filterState entries never add to the hash key: the gateway keeps no Envoy filter state (as Envoy, an entry whose object is absent is skipped); a rule whose key has no other part goes round-robin (hint: hash on a header, cookie, query parameter or sourceIp instead)",
  ]);
});

test("several policies merge: rule before route, older first; lists unioned, sourceIp and disable from the preferred one", () => {
  const routeOld = policy("route-old", "  consistentHash:\n    headers: [{headerName: x-a}, {headerName: x-b}]\n    sourceIp: {}\n", undefined, "2026-01-01T00:00:00Z");
  const routeNew = policy("route-new", "  consistentHash:\n    headers: [{headerName: X-B, terminal: true}, {headerName: x-c}]\n    queryParameters: [{name: q}]\n", undefined, "2026-02-01T00:00:00Z");
  const ruleA = policy("rule-a", "  consistentHash:\n    queryParameters: [{name: r}]\n", TO_RULE_A, "2026-03-01T00:00:00Z");
  const [a, b] = hashesOf(ROUTE + routeNew + ruleA + routeOld);
  // Rule a: the rule's policy is preferred and sets no sourceIp, so the route's is not inherited.
  assert.deepEqual(a, { type: "ConsistentHash", policies: ["default/rule-a", "default/route-old", "default/route-new"], hashPolicies: [header("x-a"), header("x-b"), header("x-c"), query("r"), query("q")] });
  // Rule b: the older route policy is preferred, so its sourceIp stays, and its x-b beats the newer terminal one.
  assert.deepEqual(b, { type: "ConsistentHash", policies: ["default/route-old", "default/route-new"], hashPolicies: [header("x-a"), header("x-b"), header("x-c"), query("q"), sourceIp()] });
  // A preferred policy whose only part is sourceIp of another: nothing retained, so the default.
  const onlyOtherSourceIp = hashesOf(ROUTE + policy("rule-a", "  consistentHash: {}\n", TO_RULE_A) + policy("route", "  consistentHash: {sourceIp: {terminal: true}}\n"));
  assert.deepEqual(onlyOtherSourceIp[0], { type: "ConsistentHash", policies: ["default/rule-a", "default/route"], hashPolicies: [sourceIp()] });
});

test("disable on the preferred policy turns hashing off for the rule; on another it only contributes nothing", () => {
  const route = policy("route", "  consistentHash:\n    headers: [{headerName: x-user}]\n", undefined, "2026-02-01T00:00:00Z");
  const off = policy("off", "  consistentHash: {disable: true}\n", TO_RULE_A, "2026-03-01T00:00:00Z");
  assert.deepEqual(hashesOf(ROUTE + route + off), [undefined, { type: "ConsistentHash", policies: ["default/route"], hashPolicies: [header("x-user")] }]);
  const olderOff = policy("off", "  consistentHash: {disable: true}\n", undefined, "2026-01-01T00:00:00Z");
  const rule = policy("rule", "  consistentHash:\n    headers: [{headerName: x-user}]\n", TO_RULE_A, "2026-02-01T00:00:00Z");
  assert.deepEqual(hashesOf(ROUTE + rule + olderOff), [{ type: "ConsistentHash", policies: ["default/rule"], hashPolicies: [header("x-user")] }, undefined]);
  assert.deepEqual(errors(ROUTE + policy("p", "  consistentHash:\n    disable: true\n    sourceIp: {}\n    headers: [{headerName: x-user}]\n")), [
    "t.yaml:35:14: spec.consistentHash.disable: consistentHash.disable cannot be combined with headers, sourceIp (hint: keep disable: true to turn hashing off for the rules, or remove it to hash on the fields)",
  ]);
});

test("header names, rewrites, cookie names, paths and attributes that would break the key or the Set-Cookie are errors", () => {
  const body = `  consistentHash:
    headers:
    - {headerName: ':status'}
    - {headerName: 'x user'}
    - headerName: x-a
      regexRewrite: {pattern: '(a', substitution: x}
    - headerName: x-b
      regexRewrite: {pattern: '^(a)$', substitution: '\\2'}
    cookies:
    - {name: 'a=b'}
    - {name: ok, path: '/; Domain=evil.example'}
    - {name: ok2, attributes: [{name: SameSite, value: "Lax; Secure"}]}
    - {name: ok3, attributes: [{name: 'Same Site', value: Lax}]}
    - {name: ok4, ttl: -1h}
    - {name: ok5, ttl: soon}
    - {name: ok6, ttl: '315576000001'}
    - {name: ok7, path: "/a\tb"}
    - {name: ok8, attributes: [{name: Domain, value: "caf\u00e9.example"}]}
`;
  assert.deepEqual(errors(ROUTE + policy("p", body)), [
    't.yaml:36:20: spec.consistentHash.headers[0].headerName: ":status" is not a header the hash can read (hint: name a request header (letters, digits and !#$%&\'*+-.^_`|~), or :authority, :path or :method)',
    't.yaml:37:20: spec.consistentHash.headers[1].headerName: "x user" is not a header the hash can read (hint: name a request header (letters, digits and !#$%&\'*+-.^_`|~), or :authority, :path or :method)',
    "t.yaml:39:31: spec.consistentHash.headers[2].regexRewrite.pattern: invalid regular expression: Unterminated group (hint: use ECMAScript regular expression syntax)",
    "t.yaml:41:54: spec.consistentHash.headers[3].regexRewrite.substitution: \\2 names group 2, and the pattern has 1 group (hint: write \\1 to \\9 for a group of the pattern, \\0 for the whole match, \\\\ for a backslash)",
    't.yaml:43:14: spec.consistentHash.cookies[0].name: "a=b" is not a cookie name (hint: name the cookie with letters, digits, - and _ (RFC 6265))',
    "t.yaml:44:24: spec.consistentHash.cookies[1].path: the cookie path holds a ';', a control character or a character outside ASCII, which a Set-Cookie attribute cannot carry (hint: write the path alone, e.g. /)",
    "t.yaml:45:56: spec.consistentHash.cookies[2].attributes[0].value: the attribute value holds a ';', a control character or a character outside ASCII, which a Set-Cookie attribute cannot carry (hint: write one value, e.g. Strict)",
    't.yaml:46:39: spec.consistentHash.cookies[3].attributes[0].name: "Same Site" is not a cookie attribute name (hint: write a token such as SameSite or Secure)',
    't.yaml:47:24: spec.consistentHash.cookies[4].ttl: "-1h" is not a cookie lifetime (hint: write a duration ("1h30m", "90s") or a whole number of seconds ("3600"), at least 0; 0 makes a session cookie)',
    't.yaml:48:24: spec.consistentHash.cookies[5].ttl: "soon" is not a cookie lifetime (hint: write a duration ("1h30m", "90s") or a whole number of seconds ("3600"), at least 0; 0 makes a session cookie)',
    't.yaml:49:24: spec.consistentHash.cookies[6].ttl: "315576000001" is not a cookie lifetime (hint: write a duration ("1h30m", "90s") or a whole number of seconds ("3600"), at least 0; 0 makes a session cookie)',
    "t.yaml:50:25: spec.consistentHash.cookies[7].path: the cookie path holds a ';', a control character or a character outside ASCII, which a Set-Cookie attribute cannot carry (hint: write the path alone, e.g. /)",
    "t.yaml:51:54: spec.consistentHash.cookies[8].attributes[0].value: the attribute value holds a ';', a control character or a character outside ASCII, which a Set-Cookie attribute cannot carry (hint: write one value, e.g. Strict)",
  ]);
});

test("cookie lifetimes: Go durations and counts of seconds, in whole seconds; under a second is warned about", () => {
  assert.equal(cookieTtlSeconds("1h30m"), 5400);
  assert.equal(cookieTtlSeconds("1.5h"), 5400);
  assert.equal(cookieTtlSeconds("90s"), 90);
  assert.equal(cookieTtlSeconds("2500ms"), 2);
  assert.equal(cookieTtlSeconds("3600"), 3600);
  assert.equal(cookieTtlSeconds(3600), 3600);
  assert.equal(cookieTtlSeconds("0"), 0);
  assert.equal(cookieTtlSeconds("315576000000"), 315576000000);
  assert.equal(cookieTtlSeconds("1d"), undefined);
  assert.equal(cookieTtlSeconds("-5"), undefined);
  assert.equal(cookieTtlSeconds(-5), undefined);
  assert.equal(cookieTtlSeconds("+60"), 60);
  assert.equal(cookieTtlSeconds("1e3"), undefined);
  assert.equal(cookieTtlSeconds(""), undefined);
  assert.deepEqual(warnings(ROUTE + policy("p", "  consistentHash:\n    cookies: [{name: s, ttl: 500ms}, {name: t, ttl: '0'}, {name: u, ttl: 0}]\n")), [
    't.yaml:35:30: spec.consistentHash.cookies[0].ttl: warning: "500ms" is under a second, so the generated cookie is a session cookie (a lifetime counts whole seconds) (hint: write "0" for a session cookie, or at least "1s")',
  ]);
});

test("on a Gateway consistentHash is warned about and ignored; a misspelt rule name is warned about", () => {
  const text = ROUTE + policy("p", "  consistentHash: {}\n", TO_GATEWAY);
  assert.deepEqual(hashesOf(text), [undefined, undefined]);
  assert.deepEqual(warnings(text), [
    "t.yaml:33:16: spec.targetRefs[0]: warning: consistentHash does not apply to a Gateway (only acl, apiKeyAuth, basicAuth, buffer, compression, cors, csrf, extAuth, faultInjection, headerModifiers, jwtAuth, rateLimit, rbac, retry and timeouts do); it is ignored for Gateway default/gw (hint: target the HTTPRoutes for consistentHash)",
  ]);
  const misspelt = ROUTE + policy("p", "  consistentHash: {}\n", "[{group: gateway.networking.k8s.io, kind: HTTPRoute, name: web, sectionName: nope}]");
  assert.deepEqual(hashesOf(misspelt), [undefined, undefined]);
  assert.deepEqual(warnings(misspelt), [
    't.yaml:33:92: spec.targetRefs[0].sectionName: warning: HTTPRoute default/web has no rule named "nope"; consistentHash applies to no rule through it (hint: name a rule of the route: a)',
  ]);
});

test("the example in docs/configuration.md loads as documented", () => {
  const docs = readFileSync(new URL("../../docs/configuration.md", import.meta.url), "utf8");
  const section = docs.slice(docs.indexOf("### Consistent hashing (`spec.consistentHash`)"));
  const example = /```yaml\n([\s\S]*?)```/.exec(section)![1]!;
  const cart = ROUTE.replace("metadata: {name: web}", "metadata: {name: cart, namespace: shop}").replace("metadata: {name: app}", "metadata: {name: app, namespace: shop}").replace("parentRefs: [{name: gw}]", "parentRefs: [{name: gw, namespace: default}]").replace("    protocol: HTTP\n", "    protocol: HTTP\n    allowedRoutes: {namespaces: {from: All}}\n");
  const text = `${cart}---\n${example}`;
  assert.deepEqual(errors(text), []);
  assert.deepEqual(warnings(text), []);
  const rules = load(text).config!.routes[0]!.rules;
  const hash = rules[0]!.filters.find((f) => f.type === "ConsistentHash");
  assert.deepEqual(hash, {
    type: "ConsistentHash",
    policies: ["shop/sticky-sessions"],
    hashPolicies: [
      { kind: "header", name: "x-session", regexRewrite: { pattern: "^([^.]+)\\..*$", substitution: "\\1", source: { file: "t.yaml", line: 38, col: 31, path: "spec.consistentHash.headers[0].regexRewrite.pattern" } }, terminal: true },
      { kind: "cookie", name: "cart-affinity", ttlSeconds: 43200, path: "/", attributes: [{ name: "SameSite", value: "Lax" }, { name: "Secure", value: "" }], terminal: false },
    ],
  });
});

test("a backend with one endpoint (a Service, by its cluster DNS name) is warned about: the hash pins nothing there", () => {
  const text = TWO_RULE_ROUTE + policy("p", "  consistentHash: {}\n");
  assert.deepEqual(hashesOf(text).length, 2);
  assert.deepEqual(warnings(text), [
    "t.yaml:34:19: spec.consistentHash: warning: HTTPRoute default/web rule a sends to Service default/app:80, reached by its cluster DNS name (kube-proxy picks the pod): consistentHash picks among a backend's endpoints, so it pins nothing there (hint: send to a Backend that lists the endpoints (its static hosts) for affinity)",
  ]);
  const single = ROUTE.replace(", {ip: {address: 10.0.0.2, port: 80}}", "") + policy("p", "  consistentHash: {}\n", TO_RULE_A);
  assert.deepEqual(warnings(single), [
    "t.yaml:34:19: spec.consistentHash: warning: HTTPRoute default/web rule a sends to Backend default/app, which has one endpoint address: consistentHash picks among a backend's endpoints, so it pins nothing there (hint: send to a Backend that lists the endpoints (its static hosts) for affinity)",
  ]);
});

test("no single-endpoint warning where nothing would be pinned: weight 0, no key, a rule that answers itself; an address listed twice is one", () => {
  const single = TWO_RULE_ROUTE.replace("apiVersion: v1\nkind: Service\nmetadata: {name: app}\nspec: {ports: [{port: 80}]}\n", "apiVersion: gateway.tollgate.dev/v1alpha1\nkind: Backend\nmetadata: {name: app}\nspec: {endpoints: [{ip: {address: 10.0.0.1, port: 80}}, {ip: {address: 10.0.0.2, port: 80}}]}\n---\napiVersion: gateway.tollgate.dev/v1alpha1\nkind: Backend\nmetadata: {name: one}\nspec: {endpoints: [{ip: {address: 10.0.0.9, port: 80}}]}\n");
  const rules = (a: string, b: string): string => single.replace("    backendRefs: [{name: app, port: 80}]\n  - matches", `${a}\n  - matches`).replace(/    backendRefs: \[\{name: app, port: 80\}\]\n$/, `${b}\n`);
  const both = "    backendRefs: [{group: gateway.tollgate.dev, kind: Backend, name: app}, {group: gateway.tollgate.dev, kind: Backend, name: one, weight: 0}]";
  const redirect = "    filters: [{type: RequestRedirect, requestRedirect: {statusCode: 302, hostname: other.example}}]\n    backendRefs: [{group: gateway.tollgate.dev, kind: Backend, name: one}]";
  assert.deepEqual(warnings(rules(both, redirect) + policy("p", "  consistentHash: {}\n")).filter((w) => w.includes("pins nothing")), []);
  const plain = "    backendRefs: [{group: gateway.tollgate.dev, kind: Backend, name: one}]";
  assert.deepEqual(warnings(rules(plain, plain) + policy("p", "  consistentHash:\n    filterState: [{key: k}]\n")).filter((w) => w.includes("pins nothing")), []);
  assert.equal(warnings(rules(plain, plain) + policy("p", "  consistentHash: {}\n")).filter((w) => w.includes("pins nothing")).length, 1);
  const doubled = single.replace("{ip: {address: 10.0.0.9, port: 80}}", "{ip: {address: '2001:db8::9', port: 80}}, {ip: {address: '2001:DB8:0::9', port: 80}}");
  assert.deepEqual(warnings(doubled.replace("    backendRefs: [{name: app, port: 80}]\n  - matches", `${plain}\n  - matches`) + policy("p", "  consistentHash: {}\n", TO_RULE_A)), [
    "t.yaml:39:19: spec.consistentHash: warning: HTTPRoute default/web rule a sends to Backend default/one, which has one endpoint address: consistentHash picks among a backend's endpoints, so it pins nothing there (hint: send to a Backend that lists the endpoints (its static hosts) for affinity)",
  ]);
});

test("addressKey: one text per address, whatever the spelling", () => {
  assert.equal(addressKey("2001:DB8:0:0::1", 80), "2001:db8::1:80");
  assert.equal(addressKey("[2001:db8::1]", 80), "2001:db8::1:80");
  assert.equal(addressKey("API.Example", 443), "api.example:443");
  assert.equal(canonicalIpv6("FE80:0::1%eth0"), "fe80::1%eth0");
  assert.equal(canonicalIpv6("not-an-address"), "not-an-address");
});
