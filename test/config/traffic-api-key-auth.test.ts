// kgateway TrafficPolicy `apiKeyAuth` in the config: keys from a Secret or labelled Secrets
// (across namespaces only with a ReferenceGrant), key sources and their default, the names
// it makes credentials everywhere, disable, and the exact text of each error, none of which
// ever quotes a key.
import assert from "node:assert/strict";
import { test } from "node:test";
import { redactConfigForAdmin } from "../../src/config/redact.ts";
import type { Resource } from "../../src/config/resources.ts";
import { credentialNames } from "../../src/config/traffic-api-key-auth.ts";
import { isSensitiveHeader, isSensitiveQueryParam, redactQueryValues } from "../../src/config/sensitive.ts";
import { filtersThrough } from "../../src/plan/gateway-filters.ts";
import { ROUTE_ON_SHARED_LISTENER, TO_GATEWAY, TO_RULE_A, TWO_RULE_ROUTE, errors, lines, load, trafficPolicy, warnings } from "./helpers.ts";

const secret = (name: string, entries: Record<string, string>, extra = ""): string =>
  `---\napiVersion: v1\nkind: Secret\nmetadata: {name: ${name}${extra}}\ntype: Opaque\ndata:\n${Object.entries(entries)
    .map(([client, key]) => `  ${client}: "${Buffer.from(key).toString("base64")}"\n`)
    .join("")}`;
const policy = (body: string, targets?: string): string => trafficPolicy("keys", `  apiKeyAuth: ${body}\n`, targets);
const modelOf = (text: string): Record<string, unknown> => JSON.parse(JSON.stringify(load(text).config!.routes[0]!.rules[0]!.filters[0])) as Record<string, unknown>;

test("keys from a Secret go on each rule the policy covers, with the default source and no key forwarded; disable and a Gateway's are read", () => {
  const text = TWO_RULE_ROUTE + policy("{secretRef: {name: api}}") + secret("api", { client1: "k-1", client2: "k-2" });
  assert.deepEqual(modelOf(text), {
    type: "ApiKeyAuth",
    policy: "default/keys",
    sources: [{ header: "api-key" }],
    forwardCredential: false,
    keys: { sources: ["Secret default/api"], clients: ["client1", "client2"] },
  });
  const shown = JSON.stringify(redactConfigForAdmin(load(text).config!));
  assert.equal(shown.includes("k-1") || shown.includes(Buffer.from("k-1").toString("base64")), false, "the admin API shows clients, never a key");
  const full = modelOf(TWO_RULE_ROUTE + policy("{secretRef: {name: api}, forwardCredential: true, clientIdHeader: X-Client-ID, keySources: [{header: X-API-Key, query: key, cookie: k}]}") + secret("api", { c: "k" }));
  assert.deepEqual([full["sources"], full["forwardCredential"], full["clientIdHeader"]], [[{ header: "x-api-key", query: "key", cookie: "k" }], true, "x-client-id"]);
  assert.equal(load(TWO_RULE_ROUTE + policy("{secretRef: {name: api}}", TO_GATEWAY) + secret("api", { c: "k" })).config!.gateways[0]!.apiKeyAuth?.policy, "default/keys");
  assert.deepEqual(load(TWO_RULE_ROUTE + policy("{disable: {}}", TO_RULE_A)).config!.routes[0]!.rules.map((r) => r.filters), [[{ type: "NoApiKeyAuth" }], []]);
});

test("the header and query names a policy reads keys from become credentials in every view", () => {
  assert.equal(isSensitiveHeader("x-partner-key"), false);
  assert.equal(isSensitiveQueryParam("partner_key"), false);
  load(TWO_RULE_ROUTE + policy("{secretRef: {name: api}, keySources: [{header: X-Partner-Key, query: partner_key}]}") + secret("api", { c: "k" }));
  assert.equal(isSensitiveHeader("x-partner-key"), true);
  assert.equal(redactQueryValues("a=1&partner_key=k-1", "REDACTED"), "a=1&partner_key=REDACTED");
  load(TWO_RULE_ROUTE + policy("{secretRef: {name: api}}") + secret("api", { c: "k" }));
  assert.equal(isSensitiveHeader("api-key"), true, "the default source too");
});

test("secretSelector reads the labelled Secrets of the policy's namespace; none, or an empty selector, is an error", () => {
  const labelled = (name: string, entries: Record<string, string>, labels = "{team: partners, tier: gold}") => secret(name, entries, `, labels: ${labels}`);
  const text =
    TWO_RULE_ROUTE +
    policy("{secretSelector: {matchLabels: {team: partners, tier: gold}}}") +
    labelled("a", { acme: "1" }) +
    labelled("b", { globex: "2", acme: "1" }) +
    labelled("c", { other: "3" }, "{team: partners}") +
    labelled("d", { elsewhere: "4" }).replace("metadata: {name: d", "metadata: {name: d, namespace: other");
  const keys = modelOf(text)["keys"] as Record<string, unknown>;
  assert.deepEqual(keys, { sources: ["Secret default/a", "Secret default/b"], clients: ["acme", "globex"] }, "every label must match, in the policy's namespace only; a copied client and key is one client");
  const rotated = TWO_RULE_ROUTE + policy("{secretSelector: {matchLabels: {team: partners}}}") + labelled("a", { acme: "old" }, "{team: partners}") + labelled("b", { acme: "new" }, "{team: partners}");
  const filter = load(rotated).config!.routes[0]!.rules[0]!.filters[0]!;
  assert.ok(filter.type === "ApiKeyAuth" && filter.keys.clientOf(Buffer.from("old")) === "acme" && filter.keys.clientOf(Buffer.from("new")) === "acme", "a client may have two keys, as while one is rotated");
  assert.deepEqual(JSON.parse(JSON.stringify(filter)).keys.clients, ["acme"], "the admin API names the client once");
  assert.deepEqual(errors(TWO_RULE_ROUTE + policy("{secretSelector: {matchLabels: {team: nobody}}}") + secret("c", { other: "3" })).map((e) => e.replace(/ \(hint: .*$/, "")), [
    't.yaml:34:46: spec.apiKeyAuth.secretSelector.matchLabels: no Secret in namespace default carries the labels {"team":"nobody"}',
  ]);
  assert.deepEqual(errors(TWO_RULE_ROUTE + policy("{secretSelector: {matchLabels: {}}}")).map((e) => e.replace(/ \(hint: .*$/, "")), [
    "t.yaml:34:46: spec.apiKeyAuth.secretSelector.matchLabels: an empty matchLabels would select every Secret of the namespace",
  ]);
});

test("two clients with one key, a key with a control character, a client id Kubernetes would refuse, and a Secret with no entry are errors that never quote a key; an empty key is skipped", () => {
  const text = TWO_RULE_ROUTE + policy("{secretRef: {name: api}}") + secret("api", { one: "shared-key", two: "shared-key", three: "bad\nkey" });
  const found = errors(text);
  assert.deepEqual(found.map((e) => e.replace(/ \(hint: .*$/, "")), [
    't.yaml:42:8: data.two: client "two" has the same key as client "one" of Secret default/api',
    't.yaml:43:10: data.three: the key of client "three" holds a control character',
  ]);
  for (const message of found) assert.doesNotMatch(message, /shared-key|c2hhcmVkLWtleQ|bad/);
  const withEmpty = TWO_RULE_ROUTE + policy("{secretRef: {name: api}}") + secret("api", { one: "k-1", none: "" });
  assert.deepEqual((modelOf(withEmpty)["keys"] as Record<string, unknown>)["clients"], ["one"]);
  assert.deepEqual(warnings(withEmpty).map((w) => w.replace(/ \(hint: .*$/, "")), ['t.yaml:42:9: data.none: warning: the key of client "none" is empty and is skipped, as kgateway skips it']);
  assert.deepEqual(errors(TWO_RULE_ROUTE + policy("{secretRef: {name: api}}") + secret("api", { "a b": "k" }).replace("  a b:", '  "a b":')).map((e) => e.replace(/ \(hint: .*$/, "")), [
    't.yaml:41:3: data["a b"]: "a b" is not a Secret key Kubernetes accepts, so it cannot be a client id',
  ]);
  assert.deepEqual(errors(TWO_RULE_ROUTE + policy("{secretRef: {name: api}}") + "---\napiVersion: v1\nkind: Secret\nmetadata: {name: api}\ndata: {}\n").map((e) => e.replace(/ \(hint: .*$/, "")), [
    "t.yaml:34:15: spec.apiKeyAuth: the Secrets default/api hold no key",
  ]);
});

test("headers the gateway frames cannot hold a key or a client id; query and cookie names must be findable; disable ignores the rest, with a warning", () => {
  assert.deepEqual(errors(TWO_RULE_ROUTE + policy("{secretRef: {name: api}, keySources: [{header: Host}, {query: 'a&b'}, {cookie: 'a b'}, {header: __proto__}, {query: 'k=v'}, {header: X-Envoy-Basic-Auth-User}], clientIdHeader: Content-Length}") + secret("api", { c: "k" })).map((e) => e.replace(/^t\.yaml:\d+:\d+: /, "").replace(/ \(hint: .*$/, "")), [
    "spec.apiKeyAuth.keySources[0].header: Host is a header the gateway frames or sets itself, not one a client sends a key in",
    'spec.apiKeyAuth.keySources[1].query: "a&b" holds a character a query splits on, so no request could carry it',
    'spec.apiKeyAuth.keySources[2].cookie: "a b" is not a cookie name',
    'spec.apiKeyAuth.keySources[3].header: "__proto__" is not a header name',
    'spec.apiKeyAuth.keySources[4].query: "k=v" holds a character a query splits on, so no request could carry it',
    "spec.apiKeyAuth.keySources[5].header: X-Envoy-Basic-Auth-User is a header the gateway frames or sets itself, not one a client sends a key in",
    "spec.apiKeyAuth.clientIdHeader: Content-Length is a header the gateway frames or sets itself; a client id there would break or forge the request",
  ]);
  assert.deepEqual(errors(TWO_RULE_ROUTE + policy("{secretRef: {name: api}, clientIdHeader: x-envoy-basic-auth-user}") + secret("api", { c: "k" })).map((e) => e.replace(/^t\.yaml:\d+:\d+: /, "").replace(/ \(hint: .*$/, "")), [
    "spec.apiKeyAuth.clientIdHeader: x-envoy-basic-auth-user is a header the gateway frames or sets itself; a client id there would break or forge the request",
  ]);
  assert.deepEqual(warnings(TWO_RULE_ROUTE + policy("{disable: {}, clientIdHeader: x-client-id}")).map((w) => w.replace(/^t\.yaml:\d+:\d+: /, "").replace(/ \(hint: .*$/, "")), ["spec.apiKeyAuth.clientIdHeader: warning: clientIdHeader has no effect with disable"]);
  assert.deepEqual(warnings(TWO_RULE_ROUTE + policy("{disable: {}, keySources: [{header: x}], forwardCredential: true}")).map((w) => w.replace(/^t\.yaml:\d+:\d+: /, "").replace(/ \(hint: .*$/, "")), ["spec.apiKeyAuth.keySources: warning: keySources and forwardCredential have no effect with disable"]);
});

test("an empty keySources list is the default source, for the check and for redaction", () => {
  assert.deepEqual(modelOf(TWO_RULE_ROUTE + policy("{secretRef: {name: api}, keySources: []}") + secret("api", { c: "k" }))["sources"], [{ header: "api-key" }]);
  const asPolicy = (apiKeyAuth: Record<string, unknown>) => ({ spec: { apiKeyAuth } }) as unknown as Resource;
  assert.deepEqual(credentialNames([asPolicy({ secretRef: { name: "a" }, keySources: [] }), asPolicy({ disable: {}, keySources: [{ header: "x-ignored" }] }), asPolicy({ secretRef: { name: "a" }, keySources: [{ header: "X-K", query: "k", cookie: "c" }] })]), {
    headers: ["api-key", "X-K"],
    queryParams: ["k"],
  });
});

test("exactly one of secretRef, secretSelector and disable; a key source needs a field; header names are tokens", () => {
  assert.deepEqual(errors(TWO_RULE_ROUTE + policy("{}")).map((e) => e.replace(/ \(hint: .*$/, "")), ["t.yaml:34:15: spec.apiKeyAuth: apiKeyAuth needs secretRef, secretSelector or disable"]);
  assert.deepEqual(errors(TWO_RULE_ROUTE + policy("{secretRef: {name: api}, disable: {}}") + secret("api", { c: "k" })).map((e) => e.replace(/ \(hint: .*$/, "")), [
    "t.yaml:34:15: spec.apiKeyAuth: secretRef and disable are set; apiKeyAuth holds exactly one of secretRef, secretSelector and disable",
  ]);
  assert.deepEqual(errors(TWO_RULE_ROUTE + policy("{secretRef: {name: api}, keySources: [{}, {header: 'x key'}], clientIdHeader: 'bad:name'}") + secret("api", { c: "k" })).map((e) => e.replace(/ \(hint: .*$/, "")), [
    "t.yaml:34:53: spec.apiKeyAuth.keySources[0]: a key source needs a header, a query parameter or a cookie",
    't.yaml:34:66: spec.apiKeyAuth.keySources[1].header: "x key" is not a header name',
    't.yaml:34:93: spec.apiKeyAuth.clientIdHeader: "bad:name" is not a header name',
  ]);
});

test("a Secret elsewhere needs a ReferenceGrant; a missing Secret, or a ref to another kind, is an error", () => {
  const text = TWO_RULE_ROUTE + policy("{secretRef: {name: api, namespace: vault}}") + secret("api", { c: "k" }).replace("metadata: {name: api}", "metadata: {name: api, namespace: vault}");
  assert.deepEqual(errors(text).map((e) => e.replace(/ \(hint: .*$/, "")), [
    't.yaml:34:27: spec.apiKeyAuth.secretRef: reference to Secret vault/api crosses namespaces and no ReferenceGrant in "vault" allows it',
  ]);
  const grant = '---\napiVersion: gateway.networking.k8s.io/v1beta1\nkind: ReferenceGrant\nmetadata: {name: keys, namespace: vault}\nspec:\n  from: [{group: gateway.kgateway.dev, kind: TrafficPolicy, namespace: default}]\n  to: [{group: "", kind: Secret}]\n';
  assert.deepEqual(lines(load(text + grant), "error"), []);
  assert.deepEqual(errors(TWO_RULE_ROUTE + policy("{secretRef: {name: api}}")).map((e) => e.replace(/ \(hint: .*$/, "")), ["t.yaml:34:34: spec.apiKeyAuth.secretRef.name: Secret default/api is not in the config file"]);
  assert.deepEqual(errors(TWO_RULE_ROUTE + policy("{secretRef: {name: api, kind: ConfigMap}}")).map((e) => e.replace(/ \(hint: .*$/, "")), ["t.yaml:34:27: spec.apiKeyAuth.secretRef: API keys come from a Secret, not ConfigMap"]);
  assert.deepEqual(errors(TWO_RULE_ROUTE + policy("{secretRef: {name: api, group: example.com}}")).map((e) => e.replace(/ \(hint: .*$/, "")), ["t.yaml:34:27: spec.apiKeyAuth.secretRef: API keys come from a Secret, not example.com/Secret"]);
});

test("apiKeyAuth on a Gateway targetRef with sectionName applies through that listener; a Gateway's disable is warned about", () => {
  const text = TWO_RULE_ROUTE + policy("{secretRef: {name: api}}", "[{group: gateway.networking.k8s.io, kind: Gateway, name: gw, sectionName: http}]") + secret("api", { c: "k" });
  assert.deepEqual([errors(text), warnings(text)], [[], []]);
  const gateway = load(text).config!.gateways[0]!;
  assert.equal(gateway.apiKeyAuth, undefined);
  assert.equal(gateway.listenerPolicies?.get("http")?.apiKeyAuth?.policy, "default/keys");
  assert.deepEqual(warnings(TWO_RULE_ROUTE + policy("{disable: {}}", TO_GATEWAY)).map((w) => w.replace(/ \(hint: .*$/, "")), [
    "t.yaml:34:25: spec.apiKeyAuth.disable: warning: apiKeyAuth.disable turns off nothing on Gateway default/gw: a Gateway's apiKeyAuth is the one a route's, or a listener's, disable turns off",
  ]);
});

test("a route on two Gateways with different apiKeyAuth compiles apart for each; Gateways sharing a listener must agree", () => {
  const twoGateways =
    TWO_RULE_ROUTE.replace("  parentRefs: [{name: gw}]", "  parentRefs: [{name: gw}, {name: gw2}]") +
    `---\napiVersion: gateway.networking.k8s.io/v1\nkind: Gateway\nmetadata: {name: gw2}\nspec:\n  gatewayClassName: tollgate\n  listeners: [{name: http, port: 9090, protocol: HTTP}]\n` +
    trafficPolicy("pa", "  apiKeyAuth: {secretRef: {name: a}}\n", TO_GATEWAY) +
    trafficPolicy("pb", "  apiKeyAuth: {secretRef: {name: b}}\n", TO_GATEWAY.replace("name: gw}", "name: gw2}")) +
    secret("a", { ca: "k-a" }) +
    secret("b", { cb: "k-b" });
  const config = load(twoGateways).config!;
  const rule = config.routes[0]!.rules[0]!;
  const [a, b] = config.gateways.map((g) => filtersThrough(rule, g, g.listeners[0]!.port, "default/web"));
  assert.deepEqual([a!, b!].map((t) => t.models.flatMap((f) => (f.type === "ApiKeyAuth" ? [f.policy] : []))), [["default/pa"], ["default/pb"]]);
  assert.notEqual(a!.variant, b!.variant, "one compiled rule for both would let one Gateway's clients in through the other");
  assert.deepEqual(errors(ROUTE_ON_SHARED_LISTENER + policy("{secretRef: {name: a}}", TO_GATEWAY) + secret("a", { ca: "k-a" })).map((e) => e.replace(/ \(hint: .*$/, "")), [
    "t.yaml:34:15: spec.listeners[0]: port 8080 hostname (any) is also served by Gateway default/gw, whose apiKeyAuth comes from TrafficPolicy default/keys; HTTPRoute default/web is on both and would get the apiKeyAuth of whichever Gateway the route table picked",
  ]);
});

test("a config's checks see its own key sources only; a config that fails marks nothing", () => {
  const logField = (header: string) =>
    `---\napiVersion: gateway.networking.x-k8s.io/v1alpha1\nkind: TelemetryPolicy\nmetadata: {name: tp}\nspec:\n  targetRefs: [{group: gateway.networking.k8s.io, kind: Gateway, name: gw}]\n  accessLogs:\n    fields: [{name: k, type: Header, headerName: ${header}}]\n`;
  assert.deepEqual(errors(TWO_RULE_ROUTE + policy("{secretRef: {name: api}, keySources: [{header: x-own-key}]}") + secret("api", { c: "k" }) + logField("x-own-key")).map((e) => e.replace(/ \(hint: .*$/, "")), [
    't.yaml:49:50: spec.accessLogs.fields[0].headerName: header "x-own-key" carries credentials and is not captured by default',
  ]);
  assert.deepEqual(lines(load(TWO_RULE_ROUTE + policy("{secretRef: {name: api}, keySources: [{header: x-earlier-key}]}") + secret("api", { c: "k" })), "error"), []);
  assert.deepEqual(errors(TWO_RULE_ROUTE + logField("x-earlier-key")), [], "a key source of a config loaded before does not decide whether this one loads (a respawned worker must agree)");
  assert.equal(isSensitiveHeader("x-earlier-key"), true, "but it stays redacted");
  assert.ok(errors(TWO_RULE_ROUTE + policy("{secretRef: {name: missing}, keySources: [{header: x-never-loaded}, {query: never_loaded}]}")).length > 0);
  assert.equal(isSensitiveHeader("x-never-loaded"), false, "a config that failed to load marks nothing");
  assert.equal(isSensitiveQueryParam("never_loaded"), false);
});
