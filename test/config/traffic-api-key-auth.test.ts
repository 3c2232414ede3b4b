// kgateway TrafficPolicy `apiKeyAuth` in the config: keys from a Secret or labelled Secrets
// (across namespaces only with a ReferenceGrant), key sources and their default, the names
// it makes credentials everywhere, disable, and the exact text of each error, none of which
// ever quotes a key.
import assert from "node:assert/strict";
import { test } from "node:test";
import { redactConfigForAdmin } from "../../src/config/redact.ts";
import { isSensitiveHeader, isSensitiveQueryParam, redactQueryValues } from "../../src/config/sensitive.ts";
import { TO_GATEWAY, TO_RULE_A, TWO_RULE_ROUTE, errors, lines, load, trafficPolicy, warnings } from "./helpers.ts";

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
  const labelled = (name: string, entries: Record<string, string>) => secret(name, entries, ", labels: {team: partners}");
  const text = TWO_RULE_ROUTE + policy("{secretSelector: {matchLabels: {team: partners}}}") + labelled("a", { acme: "1" }) + labelled("b", { globex: "2" }) + secret("c", { other: "3" });
  assert.deepEqual((modelOf(text)["keys"] as Record<string, unknown>)["sources"], ["Secret default/a", "Secret default/b"]);
  assert.deepEqual(errors(TWO_RULE_ROUTE + policy("{secretSelector: {matchLabels: {team: nobody}}}") + secret("c", { other: "3" })).map((e) => e.replace(/ \(hint: .*$/, "")), [
    't.yaml:34:46: spec.apiKeyAuth.secretSelector.matchLabels: no Secret in namespace default carries the labels {"team":"nobody"}',
  ]);
  assert.deepEqual(errors(TWO_RULE_ROUTE + policy("{secretSelector: {matchLabels: {}}}")).map((e) => e.replace(/ \(hint: .*$/, "")), [
    "t.yaml:34:46: spec.apiKeyAuth.secretSelector.matchLabels: an empty matchLabels would select every Secret of the namespace",
  ]);
});

test("two clients with one key, an empty key, a client id Kubernetes would refuse, and a Secret with no entry are errors that never quote a key", () => {
  const found = errors(TWO_RULE_ROUTE + policy("{secretRef: {name: api}}") + secret("api", { one: "shared-key", two: "shared-key", three: "" }));
  assert.deepEqual(found.map((e) => e.replace(/ \(hint: .*$/, "")), [
    't.yaml:42:8: data.two: client "two" has the same key as client "one" of Secret default/api',
    't.yaml:43:10: data.three: the key of client "three" is empty',
  ]);
  for (const message of found) assert.doesNotMatch(message, /shared-key|c2hhcmVkLWtleQ/);
  assert.deepEqual(errors(TWO_RULE_ROUTE + policy("{secretRef: {name: api}}") + secret("api", { "a b": "k" }).replace("  a b:", '  "a b":')).map((e) => e.replace(/ \(hint: .*$/, "")), [
    't.yaml:41:3: data["a b"]: "a b" is not a Secret key Kubernetes accepts, so it cannot be a client id',
  ]);
  assert.deepEqual(errors(TWO_RULE_ROUTE + policy("{secretRef: {name: api}}") + "---\napiVersion: v1\nkind: Secret\nmetadata: {name: api}\ndata: {}\n").map((e) => e.replace(/ \(hint: .*$/, "")), [
    "t.yaml:34:15: spec.apiKeyAuth: the Secrets default/api hold no key",
  ]);
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
});

test("apiKeyAuth is access control: a Gateway sectionName fails the load, a Gateway's disable is warned about", () => {
  assert.deepEqual(errors(TWO_RULE_ROUTE + policy("{secretRef: {name: api}}", "[{group: gateway.networking.k8s.io, kind: Gateway, name: gw, sectionName: http}]") + secret("api", { c: "k" })).map((e) => e.replace(/ \(hint: .*$/, "")), [
    "t.yaml:33:89: spec.targetRefs[0].sectionName: sectionName on a Gateway is not supported; this targetRef is ignored rather than applied to the whole Gateway, which would leave that listener without the policy's apiKeyAuth",
  ]);
  assert.deepEqual(warnings(TWO_RULE_ROUTE + policy("{disable: {}}", TO_GATEWAY)).map((w) => w.replace(/ \(hint: .*$/, "")), [
    "t.yaml:34:25: spec.apiKeyAuth.disable: warning: apiKeyAuth.disable turns off nothing on Gateway default/gw: a Gateway's apiKeyAuth is the one a route's disable turns off",
  ]);
});
