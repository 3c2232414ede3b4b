// kgateway TrafficPolicy `basicAuth` in the config: htpasswd lines inline and from a Secret
// (across namespaces only with a ReferenceGrant), disable, the Gateway's policy, and the exact
// text of each error, none of which ever quotes a password digest.
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { test } from "node:test";
import { redactConfigForAdmin } from "../../src/config/redact.ts";
import { filtersThrough } from "../../src/plan/gateway-filters.ts";
import { ROUTE_ON_SHARED_LISTENER, TO_GATEWAY, TO_RULE_A, TWO_RULE_ROUTE, errors, lines, load, trafficPolicy, warnings } from "./helpers.ts";

const digest = (password: string): string => createHash("sha1").update(password).digest("base64");
const line = (user: string, password: string): string => `${user}:{SHA}${digest(password)}`;
const inline = (...users: string[]): string => `  basicAuth: {users: [${users.map((u) => JSON.stringify(u)).join(", ")}]}\n`;
const secret = (name: string, data: string, namespace = "default", field = ".htpasswd"): string =>
  `---\napiVersion: v1\nkind: Secret\nmetadata: {name: ${name}, namespace: ${namespace}}\ntype: Opaque\ndata:\n  ${field}: ${Buffer.from(data).toString("base64")}\n`;

test("inline users go on each rule the policy covers; a Gateway's policy goes on the Gateway; disable: {} is read", () => {
  const { config } = load(TWO_RULE_ROUTE + trafficPolicy("users", inline(line("alice", "a"), line("bob", "b"))));
  assert.deepEqual(
    JSON.parse(JSON.stringify(config!.routes[0]!.rules.map((r) => r.filters))),
    [0, 1].map(() => [{ type: "BasicAuth", policy: "default/users", users: { source: "inline", users: ["alice", "bob"] } }]),
  );
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
  const granted = load(text + grant);
  assert.deepEqual(lines(granted, "error"), []);
  assert.deepEqual(JSON.parse(JSON.stringify(granted.config!.routes[0]!.rules[0]!.filters[0])).users, { source: "Secret vault/pw .htpasswd", users: ["alice"] });
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
    `t.yaml:34:70: spec.basicAuth.users[2]: user "bob" has an Apache MD5 ($apr1$) hash; only SHA-1 ({SHA}) entries are supported, as in Envoy's basic_auth ${hint}`,
    `t.yaml:34:91: spec.basicAuth.users[3]: user "carol" has a bcrypt hash; only SHA-1 ({SHA}) entries are supported, as in Envoy's basic_auth ${hint}`,
    `t.yaml:34:130: spec.basicAuth.users[4]: user "dave" has a SHA-crypt hash; only SHA-1 ({SHA}) entries are supported, as in Envoy's basic_auth ${hint}`,
    `t.yaml:34:151: spec.basicAuth.users[5]: user "erin" has a crypt(3) hash or a plain-text password; only SHA-1 ({SHA}) entries are supported, as in Envoy's basic_auth ${hint}`,
    `t.yaml:34:167: spec.basicAuth.users[6]: user "frank": {SHA} must be followed by the base64 of a 20-byte SHA-1 digest (28 characters, ending in =) ${hint}`,
    `t.yaml:34:233: spec.basicAuth.users[8]: user "alice" is listed twice with different passwords (items 7 and 8) (hint: keep one line per user)`,
    `t.yaml:34:276: spec.basicAuth.users[9]: the user name holds a control character ${hint}`,
  ]);
  for (const message of found) assert.doesNotMatch(message, new RegExp(`${digest("a")}|${digest("b")}|${digest("x")}|c2hvcnQ|abcdefghij|\\$def|hunter2`.replaceAll("+", "\\+")), "no digest or password text in any message");
});

test("a Secret that is missing, lacks the key, or holds bad or no lines fails the load at the Secret, by line number", () => {
  const ref = trafficPolicy("s", "  basicAuth: {secretRef: {name: pw}}\n");
  assert.deepEqual(errors(TWO_RULE_ROUTE + ref), [
    "t.yaml:34:33: spec.basicAuth.secretRef.name: Secret default/pw is not in the config file (hint: add a Secret with the htpasswd text under .htpasswd; kubectl create secret generic NAME --from-file=.htpasswd=PATH --dry-run=client -o yaml)",
  ]);
  assert.deepEqual(errors(TWO_RULE_ROUTE + ref + secret("pw", line("a", "a"), "default", "other")), [
    "t.yaml:41:3: data: the Secret has no .htpasswd (hint: put the htpasswd text under .htpasswd (data, base64), or set secretRef.key to the key that holds it; kubectl create secret generic NAME --from-file=.htpasswd=PATH --dry-run=client -o yaml)",
  ]);
  assert.deepEqual(errors(TWO_RULE_ROUTE + ref + secret("pw", `${line("a", "a")}\nb:$apr1$x$y\n${line("a", "c")}\n`)), [
    't.yaml:41:14: data[".htpasswd"]: line 2 of the htpasswd text under .htpasswd: user "b" has an Apache MD5 ($apr1$) hash; only SHA-1 ({SHA}) entries are supported, as in Envoy\'s basic_auth (hint: make the line with `htpasswd -nbs USER PASSWORD`, or `printf \'%s:{SHA}%s\\n\' USER "$(printf %s PASSWORD | openssl sha1 -binary | base64)"`)',
    't.yaml:41:14: data[".htpasswd"]: line 3 of the htpasswd text under .htpasswd: user "a" is listed twice with different passwords (lines 1 and 3) (hint: keep one line per user)',
  ]);
  assert.deepEqual(errors(TWO_RULE_ROUTE + ref + secret("pw", "\n\n")), [
    "t.yaml:41:14: data[\".htpasswd\"]: the htpasswd text under .htpasswd holds no user (hint: make the line with `htpasswd -nbs USER PASSWORD`, or `printf '%s:{SHA}%s\\n' USER \"$(printf %s PASSWORD | openssl sha1 -binary | base64)\"`; kubectl create secret generic NAME --from-file=.htpasswd=PATH --dry-run=client -o yaml)",
  ]);
});

test("none, or more than one, of users, secretRef and disable is an error", () => {
  const hint = "(hint: write users: [\"alice:{SHA}...\"], secretRef: {name: htpasswd}, or disable: {} to exempt the rules from their Gateway's basicAuth)";
  assert.deepEqual(errors(TWO_RULE_ROUTE + trafficPolicy("p", "  basicAuth: {}\n")), [`t.yaml:34:14: spec.basicAuth: basicAuth needs users, secretRef or disable ${hint}`]);
  assert.deepEqual(errors(TWO_RULE_ROUTE + trafficPolicy("p", `  basicAuth: {users: ["${line("a", "a")}"], disable: {}}\n`)), [`t.yaml:34:14: spec.basicAuth: users and disable are set; basicAuth holds exactly one of users, secretRef and disable ${hint}`]);
});

test("disable: {} on a Gateway turns nothing off; sectionName on a Gateway gives that listener the basicAuth; one naming no rule fails the load rather than leave rules open", () => {
  const text = TWO_RULE_ROUTE + trafficPolicy("off", "  basicAuth: {disable: {}}\n", TO_GATEWAY);
  assert.deepEqual(warnings(text), [
    "t.yaml:34:24: spec.basicAuth.disable: warning: basicAuth.disable turns off nothing on Gateway default/gw: a Gateway's basicAuth is the one a route's, or a listener's, disable turns off (hint: target the HTTPRoutes whose rules should not be asked for credentials, or the listener by sectionName)",
  ]);
  assert.equal(load(text).config!.gateways[0]!.basicAuth, undefined);
  const toListener = TWO_RULE_ROUTE + trafficPolicy("l", inline(line("a", "a")), "[{group: gateway.networking.k8s.io, kind: Gateway, name: gw, sectionName: http}]");
  assert.deepEqual([errors(toListener), warnings(toListener)], [[], []]);
  const gateway = load(toListener).config!.gateways[0]!;
  assert.equal(gateway.basicAuth, undefined);
  assert.equal(gateway.listenerPolicies?.get("http")?.basicAuth?.policy, "default/l");
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

test("lines are trimmed, and blank lines and # comments hold no user: a commented-out user is revoked, not renamed", () => {
  const text = TWO_RULE_ROUTE + trafficPolicy("s", "  basicAuth: {secretRef: {name: pw}}\n") + secret("pw", `# staff\n  ${line("alice", "a")}  \n#${line("bob", "b")}\n\n`);
  const { config } = load(text);
  const filter = config!.routes[0]!.rules[0]!.filters[0]!;
  assert.deepEqual(JSON.parse(JSON.stringify(filter)).users.users, ["alice"]);
  assert.ok(filter.type === "BasicAuth" && filter.users.verify("alice", Buffer.from("a")));
  assert.equal(filter.type === "BasicAuth" && filter.users.verify("#bob", Buffer.from("b")), false);
  const commented = TWO_RULE_ROUTE + trafficPolicy("p", inline(line("alice", "a"), `#${line("bob", "b")}`));
  assert.deepEqual(JSON.parse(JSON.stringify(load(commented).config!.routes[0]!.rules[0]!.filters[0])).users.users, ["alice"]);
  assert.deepEqual(warnings(commented), ["t.yaml:34:66: spec.basicAuth.users[1]: warning: a blank or # comment item holds no user and is skipped (hint: remove the item)"]);
  assert.deepEqual(errors(TWO_RULE_ROUTE + trafficPolicy("p", inline("# nobody"))), [
    "t.yaml:34:22: spec.basicAuth.users: users holds no user: every item is blank or a # comment (hint: make the line with `htpasswd -nbs USER PASSWORD`, or `printf '%s:{SHA}%s\\n' USER \"$(printf %s PASSWORD | openssl sha1 -binary | base64)\"`)",
  ]);
});

test("the same line twice (a file appended to itself) is one user, as kgateway keeps it", () => {
  const text = TWO_RULE_ROUTE + trafficPolicy("s", "  basicAuth: {secretRef: {name: pw}}\n") + secret("pw", `${line("bob", "b")}\n${line("bob", "b")}\n`);
  assert.deepEqual(lines(load(text), "error"), []);
  assert.deepEqual(JSON.parse(JSON.stringify(load(text).config!.routes[0]!.rules[0]!.filters[0])).users.users, ["bob"]);
});

test("a user name ending in whitespace is an error: the upstream's parser would trim it to another name", () => {
  assert.deepEqual(errors(TWO_RULE_ROUTE + trafficPolicy("p", inline(`alice :{SHA}${digest("a")}`))).map((e) => e.replace(/ \(hint: .*$/, "")), [
    "t.yaml:34:23: spec.basicAuth.users[0]: the user name ends with whitespace before ':'",
  ]);
});

test("a digest must be the canonical base64 of 20 bytes: no missing padding, no other spelling of the same bytes", () => {
  const canonical = digest("a");
  assert.match(canonical, /[AQgw]=$/, "a 20-byte digest's last character carries 4 unused bits");
  const respelt = canonical.slice(0, 26) + String.fromCharCode(canonical.charCodeAt(26) + 1) + "=";
  for (const bad of [canonical.slice(0, 27) + "A", respelt]) {
    assert.deepEqual(
      errors(TWO_RULE_ROUTE + trafficPolicy("p", inline(`alice:{SHA}${bad}`))).map((e) => e.replace(/^t\.yaml:\d+:\d+: /, "").replace(/ \(hint: .*$/, "")),
      ['spec.basicAuth.users[0]: user "alice": {SHA} must be followed by the base64 of a 20-byte SHA-1 digest (28 characters, ending in =)'],
    );
  }
});

test("a schema error on users never quotes the line; more than 256 users is an error", () => {
  const asString = errors(TWO_RULE_ROUTE + `---\napiVersion: gateway.kgateway.dev/v1alpha1\nkind: TrafficPolicy\nmetadata: {name: p}\nspec:\n  targetRefs: [{group: gateway.networking.k8s.io, kind: HTTPRoute, name: web}]\n  basicAuth: {users: "${line("alice", "a")}"}\n`);
  assert.deepEqual(asString, ["t.yaml:34:22: spec.basicAuth.users: expected a list, got a string (hint: write a list: one `- item` per line, or [a, b])"]);
  const many = Array.from({ length: 257 }, (_, i) => line(`u${i}`, "p"));
  assert.deepEqual(errors(TWO_RULE_ROUTE + trafficPolicy("p", inline(...many))).map((e) => e.replace(/^t\.yaml:\d+:\d+: /, "")), ["spec.basicAuth.users: at most 256 items allowed (hint: keep 256 and remove the rest)"]);
});

test("Secret values that are not base64 or not a string are errors worded for htpasswd text", () => {
  const ref = trafficPolicy("s", "  basicAuth: {secretRef: {name: pw}}\n");
  assert.deepEqual(errors(TWO_RULE_ROUTE + ref + "---\napiVersion: v1\nkind: Secret\nmetadata: {name: pw}\ndata:\n  .htpasswd: \"not base64!\"\n"), [
    't.yaml:40:14: data[".htpasswd"]: data[".htpasswd"] is not base64 (hint: data values are base64 of the htpasswd text (base64 -w0 FILE); put the htpasswd text under stringData instead)',
  ]);
  assert.deepEqual(errors(TWO_RULE_ROUTE + ref + "---\napiVersion: v1\nkind: Secret\nmetadata: {name: pw}\nstringData:\n  .htpasswd: [a]\n"), [
    't.yaml:40:14: stringData[".htpasswd"]: stringData[".htpasswd"] must be a string (the htpasswd text) (hint: write the htpasswd text as a YAML block scalar (|))',
  ]);
  assert.deepEqual(errors(TWO_RULE_ROUTE + trafficPolicy("s", `  basicAuth: {users: ["${line("a", "a")}"], secretRef: {name: pw}}\n`) + secret("pw", line("b", "b"))).map((e) => e.replace(/ \(hint: .*$/, "")), [
    "t.yaml:34:14: spec.basicAuth: users and secretRef are set; basicAuth holds exactly one of users, secretRef and disable",
  ]);
});

test("per rule, and per Gateway, the oldest policy with basicAuth applies; the newer is warned about", () => {
  const older = trafficPolicy("older", inline(line("alice", "a")), TO_RULE_A, "2025-01-01T00:00:00Z");
  const newer = trafficPolicy("newer", inline(line("bob", "b")), undefined, "2026-01-01T00:00:00Z");
  const text = TWO_RULE_ROUTE + newer + older;
  const policies = load(text).config!.routes[0]!.rules.map((r) => r.filters.map((f) => (f.type === "BasicAuth" ? f.policy : f.type)));
  assert.deepEqual(policies, [["default/older"], ["default/newer"]], "rule a is the older policy's; rule b, which only the newer covers, is the newer's");
  const onGateway = TWO_RULE_ROUTE + trafficPolicy("g-new", inline(line("bob", "b")), TO_GATEWAY, "2026-01-01T00:00:00Z") + trafficPolicy("g-old", inline(line("alice", "a")), TO_GATEWAY, "2025-01-01T00:00:00Z");
  assert.equal(load(onGateway).config!.gateways[0]!.basicAuth?.policy, "default/g-old");
  assert.deepEqual(warnings(onGateway).map((w) => w.replace(/^t\.yaml:\d+:\d+: /, "")), ["spec.basicAuth: warning: Gateway default/gw already gets basicAuth from TrafficPolicy default/g-old, which is older; this one is ignored for it"]);
});

test("a route on two Gateways with different basicAuth compiles apart for each; Gateways sharing a listener must agree", () => {
  const twoGateways =
    TWO_RULE_ROUTE.replace("  parentRefs: [{name: gw}]", "  parentRefs: [{name: gw}, {name: gw2}]") +
    `---\napiVersion: gateway.networking.k8s.io/v1\nkind: Gateway\nmetadata: {name: gw2}\nspec:\n  gatewayClassName: tollgate\n  listeners: [{name: http, port: 9090, protocol: HTTP}]\n` +
    trafficPolicy("pa", inline(line("alice", "a")), TO_GATEWAY) +
    trafficPolicy("pb", inline(line("bob", "b")), TO_GATEWAY.replace("name: gw}", "name: gw2}"));
  const config = load(twoGateways).config!;
  const rule = config.routes[0]!.rules[0]!;
  const [a, b] = config.gateways.map((g) => filtersThrough(rule, g, g.listeners[0]!.port, "default/web"));
  assert.deepEqual([a!, b!].map((t) => t.models.flatMap((f) => (f.type === "BasicAuth" ? [f.policy] : []))), [["default/pa"], ["default/pb"]]);
  assert.notEqual(a!.variant, b!.variant, "a plan that shared one compiled rule between them would let one Gateway's users in through the other");
  assert.deepEqual(errors(ROUTE_ON_SHARED_LISTENER + trafficPolicy("edge", inline(line("alice", "a")), TO_GATEWAY)).map((e) => e.replace(/ \(hint: .*$/, "")), [
    "t.yaml:34:15: spec.listeners[0]: port 8080 hostname (any) is also served by Gateway default/gw, whose basicAuth comes from TrafficPolicy default/edge; HTTPRoute default/web is on both and would get the basicAuth of whichever Gateway the route table picked",
  ]);
});

test("basicAuth.disable on a Gateway targetRef with sectionName turns the Gateway's basicAuth off through that listener", () => {
  const text = TWO_RULE_ROUTE + trafficPolicy("all", inline(line("a", "a")), TO_GATEWAY) + trafficPolicy("off", "  basicAuth: {disable: {}}\n", "[{group: gateway.networking.k8s.io, kind: Gateway, name: gw, sectionName: http}]");
  assert.deepEqual([errors(text), warnings(text)], [[], []]);
  const gateway = load(text).config!.gateways[0]!;
  assert.equal(gateway.basicAuth?.policy, "default/all");
  assert.equal(gateway.listenerPolicies?.get("http")?.basicAuth, undefined);
  assert.equal(gateway.listenerPolicies?.has("http"), true);
});