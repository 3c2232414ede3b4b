// kgateway TrafficPolicy `basicAuth` in the config: htpasswd lines inline and from a Secret
// (across namespaces only with a ReferenceGrant), disable, the Gateway's policy, and the exact
// text of each error, none of which ever quotes a password digest.
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { test } from "node:test";
import { redactConfigForAdmin } from "../../src/config/redact.ts";
import { TO_GATEWAY, TO_RULE_A, TWO_RULE_ROUTE, errors, load, trafficPolicy, warnings } from "./helpers.ts";

const digest = (password: string): string => createHash("sha1").update(password).digest("base64");
const line = (user: string, password: string): string => `${user}:{SHA}${digest(password)}`;
const inline = (...users: string[]): string => `  basicAuth: {users: [${users.map((u) => JSON.stringify(u)).join(", ")}]}\n`;
const secret = (name: string, data: string, namespace = "default", field = ".htpasswd"): string =>
  `---\napiVersion: v1\nkind: Secret\nmetadata: {name: ${name}, namespace: ${namespace}}\ntype: Opaque\ndata:\n  ${field}: ${Buffer.from(data).toString("base64")}\n`;

test("inline users go on each rule the policy covers; a Gateway's policy goes on the Gateway; disable: {} is read", () => {
  const { config } = load(TWO_RULE_ROUTE + trafficPolicy("users", inline(line("alice", "a"), line("bob", "b"))));
  const filters = config!.routes[0]!.rules.map((r) => r.filters.filter((f) => f.type === "BasicAuth"));
  assert.equal(filters.length, 2);
  for (const [filter] of filters) {
    assert.equal(filter?.type === "BasicAuth" && filter.policy, "default/users");
    assert.deepEqual(JSON.parse(JSON.stringify(filter)), { type: "BasicAuth", policy: "default/users", users: { source: "inline", users: ["alice", "bob"] } });
  }
  const onGateway = load(TWO_RULE_ROUTE + trafficPolicy("edge", inline(line("carol", "c")), TO_GATEWAY)).config!.gateways[0]!.basicAuth;
  assert.equal(onGateway?.policy, "default/edge");
  assert.equal(onGateway?.users.size, 1);
  assert.deepEqual(load(TWO_RULE_ROUTE + trafficPolicy("open", "  basicAuth: {disable: {}}\n", TO_RULE_A)).config!.routes[0]!.rules.map((r) => r.filters), [[{ type: "NoBasicAuth" }], []]);
});

test("a digest checks the password it was made from, and no other; an unknown user fails too", () => {
  const users = load(TWO_RULE_ROUTE + trafficPolicy("users", inline(line("alice", "pässword")))).config!.routes[0]!.rules[0]!.filters.find((f) => f.type === "BasicAuth");
  assert.ok(users?.type === "BasicAuth");
  assert.equal(users.users.verify("alice", Buffer.from("pässword")), true);
  assert.equal(users.users.verify("alice", Buffer.from("password")), false);
  assert.equal(users.users.verify("bob", Buffer.from("pässword")), false);
});

test("users from a Secret: the default key .htpasswd or secretRef.key, base64 data or stringData, CRLF and blank lines", () => {
  const fromData = load(TWO_RULE_ROUTE + trafficPolicy("s", "  basicAuth: {secretRef: {name: pw}}\n") + secret("pw", `${line("alice", "a")}\r\n\r\n${line("bob", "b")}\n`));
  assert.deepEqual(JSON.parse(JSON.stringify(fromData.config!.routes[0]!.rules[0]!.filters)), [{ type: "BasicAuth", policy: "default/s", users: { source: "Secret default/pw .htpasswd", users: ["alice", "bob"] } }]);
  const stringData = `---\napiVersion: v1\nkind: Secret\nmetadata: {name: pw}\nstringData:\n  users: |\n    ${line("carol", "c")}\n`;
  const fromStringData = load(TWO_RULE_ROUTE + trafficPolicy("s", "  basicAuth: {secretRef: {name: pw, key: users}}\n") + stringData);
  assert.deepEqual(JSON.parse(JSON.stringify(fromStringData.config!.routes[0]!.rules[0]!.filters[0])).users, { source: "Secret default/pw users", users: ["carol"] });
});

test("a Secret in another namespace needs a ReferenceGrant from the TrafficPolicy", () => {
  const text = TWO_RULE_ROUTE + trafficPolicy("s", "  basicAuth: {secretRef: {name: pw, namespace: vault}}\n") + secret("pw", line("alice", "a"), "vault");
  assert.deepEqual(errors(text), [
    't.yaml:34:26: spec.basicAuth.secretRef: reference to Secret vault/pw crosses namespaces and no ReferenceGrant in "vault" allows it (hint: add a ReferenceGrant in namespace "vault" with from: [{group: gateway.kgateway.dev, kind: TrafficPolicy, namespace: default}] and to: [{group: "", kind: Secret, name: pw}])',
  ]);
  const grant = "---\napiVersion: gateway.networking.k8s.io/v1beta1\nkind: ReferenceGrant\nmetadata: {name: htpasswd, namespace: vault}\nspec:\n  from: [{group: gateway.kgateway.dev, kind: TrafficPolicy, namespace: default}]\n  to: [{group: \"\", kind: Secret, name: pw}]\n";
  assert.deepEqual(errors(text + grant), []);
});

test("a line that is not USER:{SHA}DIGEST, a scheme other than SHA-1, and a repeated user are errors that never quote a digest", () => {
  const bad = [
    "alice",
    `:{SHA}${digest("x")}`,
    "bob:$apr1$abc$def",
    "carol:$2y$05$abcdefghijklmnopqrstuv",
    "dave:$6$salt$hash",
    "erin:hunter2",
    "frank:{SHA}c2hvcnQ=",
    line("alice", "a"),
    line("alice", "b"),
    `eve\u0001:{SHA}${digest("x")}`,
  ];
  const found = errors(TWO_RULE_ROUTE + trafficPolicy("bad", inline(...bad)));
  const hint = "(hint: make the line with `htpasswd -nbs USER PASSWORD`, or `printf '%s:{SHA}%s\\n' USER \"$(printf %s PASSWORD | openssl sha1 -binary | base64)\"`)";
  assert.deepEqual(found, [
    `t.yaml:34:23: spec.basicAuth.users[0]: an htpasswd line is USER:{SHA}DIGEST, and this one has no ':' ${hint}`,
    `t.yaml:34:32: spec.basicAuth.users[1]: the user name before ':' is empty ${hint}`,
    `t.yaml:34:70: spec.basicAuth.users[2]: user "bob" has a Apache MD5 ($apr1$) hash; only SHA-1 ({SHA}) entries are supported, as in Envoy's basic_auth ${hint}`,
    `t.yaml:34:91: spec.basicAuth.users[3]: user "carol" has a bcrypt hash; only SHA-1 ({SHA}) entries are supported, as in Envoy's basic_auth ${hint}`,
    `t.yaml:34:130: spec.basicAuth.users[4]: user "dave" has a SHA-crypt hash; only SHA-1 ({SHA}) entries are supported, as in Envoy's basic_auth ${hint}`,
    `t.yaml:34:151: spec.basicAuth.users[5]: user "erin" has a crypt(3) hash or a plain-text password; only SHA-1 ({SHA}) entries are supported, as in Envoy's basic_auth ${hint}`,
    `t.yaml:34:167: spec.basicAuth.users[6]: user "frank": {SHA} must be followed by the base64 of a 20-byte SHA-1 digest (28 characters) ${hint}`,
    `t.yaml:34:233: spec.basicAuth.users[8]: user "alice" is listed twice (items 7 and 8) (hint: keep one line per user)`,
    `t.yaml:34:276: spec.basicAuth.users[9]: the user name holds a control character ${hint}`,
  ]);
  for (const message of found) assert.doesNotMatch(message, new RegExp(`${digest("a")}|${digest("b")}|${digest("x")}|c2hvcnQ|abcdefghij|\\$def|hunter2`.replaceAll("+", "\\+")), "no digest or password text in any message");
});

test("a Secret that is missing, lacks the key, or holds bad or no lines fails the load at the Secret, by line number", () => {
  const ref = trafficPolicy("s", "  basicAuth: {secretRef: {name: pw}}\n");
  assert.deepEqual(errors(TWO_RULE_ROUTE + ref), [
    "t.yaml:34:33: spec.basicAuth.secretRef.name: Secret default/pw is not in the config file (hint: add a Secret with the htpasswd text under .htpasswd; kubectl create secret generic NAME --from-file=.htpasswd --dry-run=client -o yaml)",
  ]);
  assert.deepEqual(errors(TWO_RULE_ROUTE + ref + secret("pw", line("a", "a"), "default", "other")), [
    "t.yaml:41:3: data: the Secret has no .htpasswd (hint: put the htpasswd text under .htpasswd (data, base64), or set secretRef.key to the key that holds it; kubectl create secret generic NAME --from-file=.htpasswd --dry-run=client -o yaml)",
  ]);
  assert.deepEqual(errors(TWO_RULE_ROUTE + ref + secret("pw", `${line("a", "a")}\nb:$apr1$x$y\n${line("a", "c")}\n`)), [
    't.yaml:41:14: data[".htpasswd"]: line 2 of the htpasswd text under .htpasswd: user "b" has a Apache MD5 ($apr1$) hash; only SHA-1 ({SHA}) entries are supported, as in Envoy\'s basic_auth (hint: make the line with `htpasswd -nbs USER PASSWORD`, or `printf \'%s:{SHA}%s\\n\' USER "$(printf %s PASSWORD | openssl sha1 -binary | base64)"`)',
    't.yaml:41:14: data[".htpasswd"]: line 3 of the htpasswd text under .htpasswd: user "a" is listed twice (lines 1 and 3) (hint: keep one line per user)',
  ]);
  assert.deepEqual(errors(TWO_RULE_ROUTE + ref + secret("pw", "\n\n")), [
    "t.yaml:41:14: data[\".htpasswd\"]: the htpasswd text under .htpasswd holds no user (hint: make the line with `htpasswd -nbs USER PASSWORD`, or `printf '%s:{SHA}%s\\n' USER \"$(printf %s PASSWORD | openssl sha1 -binary | base64)\"`; kubectl create secret generic NAME --from-file=.htpasswd --dry-run=client -o yaml)",
  ]);
});

test("none, or more than one, of users, secretRef and disable is an error", () => {
  const hint = "(hint: write users: [\"alice:{SHA}...\"], secretRef: {name: htpasswd}, or disable: {} to exempt the rules from their Gateway's basicAuth)";
  assert.deepEqual(errors(TWO_RULE_ROUTE + trafficPolicy("p", "  basicAuth: {}\n")), [`t.yaml:34:14: spec.basicAuth: basicAuth needs users, secretRef or disable ${hint}`]);
  assert.deepEqual(errors(TWO_RULE_ROUTE + trafficPolicy("p", `  basicAuth: {users: ["${line("a", "a")}"], disable: {}}\n`)), [`t.yaml:34:14: spec.basicAuth: users and disable are set; basicAuth holds exactly one of users, secretRef and disable ${hint}`]);
});

test("disable: {} on a Gateway turns nothing off; sectionName on a Gateway, or naming no rule, fails the load rather than leave rules open", () => {
  const text = TWO_RULE_ROUTE + trafficPolicy("off", "  basicAuth: {disable: {}}\n", TO_GATEWAY);
  assert.deepEqual(warnings(text), [
    "t.yaml:34:24: spec.basicAuth.disable: warning: basicAuth.disable turns off nothing on Gateway default/gw: a Gateway's basicAuth is the one a route's disable turns off (hint: target the HTTPRoutes whose rules should not be asked for credentials)",
  ]);
  assert.equal(load(text).config!.gateways[0]!.basicAuth, undefined);
  assert.deepEqual(errors(TWO_RULE_ROUTE + trafficPolicy("l", inline(line("a", "a")), "[{group: gateway.networking.k8s.io, kind: Gateway, name: gw, sectionName: http}]")), [
    "t.yaml:33:89: spec.targetRefs[0].sectionName: sectionName on a Gateway is not supported; this targetRef is ignored rather than applied to the whole Gateway, which would leave that listener without the policy's basicAuth (hint: remove sectionName to apply the policy to the whole Gateway, or give the listener a Gateway of its own)",
  ]);
  assert.deepEqual(errors(TWO_RULE_ROUTE + trafficPolicy("l", inline(line("a", "a")), "[{group: gateway.networking.k8s.io, kind: HTTPRoute, name: web, sectionName: typo}]")), [
    't.yaml:33:92: spec.targetRefs[0].sectionName: HTTPRoute default/web has no rule named "typo"; basicAuth applies to no rule through it (hint: name a rule of the route: a)',
  ]);
});

test("the admin API shows each policy's users and where they come from, never a digest", () => {
  const { config } = load(TWO_RULE_ROUTE + trafficPolicy("users", inline(line("alice", "a"))));
  const shown = JSON.stringify(redactConfigForAdmin(config!));
  assert.match(shown, /"users":\{"source":"inline","users":\["alice"\]\}/);
  assert.equal(shown.includes(digest("a")), false);
});
