// kgateway `serverHeaderTransformation`, `preserveHttp1HeaderCase` and `upgradeConfig` (HTTPListenerPolicy, and
// ListenerPolicy default.httpSettings) in the config: the mode a Gateway's listener settings
// get, kgateway's enum, the shared-port check, and the warning for the case Tollgate cannot keep.
import assert from "node:assert/strict";
import { test } from "node:test";
import { GATEWAY, errors, load, sameListenerGateway, warnings } from "./helpers.ts";

const policy = (kind: "HTTPListenerPolicy" | "ListenerPolicy", fields: string): string => {
  const indent = kind === "HTTPListenerPolicy" ? "  " : "      ";
  const body = fields
    .split("\n")
    .map((line) => indent + line)
    .join("\n");
  return `---\napiVersion: gateway.kgateway.dev/v1alpha1\nkind: ${kind}\nmetadata: {name: p}\nspec:\n  targetRefs: [{group: gateway.networking.k8s.io, kind: Gateway, name: gw}]\n${kind === "ListenerPolicy" ? "  default:\n    httpSettings:\n" : ""}${body}\n`;
};

const modeOf = (text: string): string => {
  const { config, diagnostics } = load(text);
  assert.ok(config, diagnostics.map((d) => d.message).join("\n"));
  return config.gateways[0]!.settings.serverHeader;
};

test("serverHeaderTransformation sets the mode of the Gateway's listener settings; PassThrough when unset", () => {
  assert.equal(modeOf(GATEWAY), "PassThrough");
  assert.equal(modeOf(GATEWAY + policy("HTTPListenerPolicy", "serverHeaderTransformation: Overwrite")), "Overwrite");
  assert.equal(modeOf(GATEWAY + policy("ListenerPolicy", "serverHeaderTransformation: AppendIfAbsent")), "AppendIfAbsent");
  assert.deepEqual(errors(GATEWAY + policy("HTTPListenerPolicy", "serverHeaderTransformation: overwrite")), [
    't.yaml:17:31: spec.serverHeaderTransformation: the string "overwrite" is not allowed (hint: did you mean "Overwrite"? (one of Overwrite, AppendIfAbsent, PassThrough))',
  ]);
});

test("serverName (kgateway v2.4) names the gateway in the Server header; alone it means Overwrite, as kgateway's Envoy default", () => {
  const settingsOf = (text: string): { serverHeader: string; serverName: string } => {
    const { config, diagnostics } = load(text);
    assert.ok(config, diagnostics.map((d) => d.message).join("\n"));
    const { serverHeader, serverName } = config.gateways[0]!.settings;
    return { serverHeader, serverName };
  };
  assert.deepEqual(settingsOf(GATEWAY), { serverHeader: "PassThrough", serverName: "tollgate" });
  assert.deepEqual(settingsOf(GATEWAY + policy("HTTPListenerPolicy", "serverName: edge")), { serverHeader: "Overwrite", serverName: "edge" });
  assert.deepEqual(settingsOf(GATEWAY + policy("ListenerPolicy", "serverName: edge proxy/1.0\nserverHeaderTransformation: PassThrough")), { serverHeader: "PassThrough", serverName: "edge proxy/1.0" });
  // A value that would end the header line, or start or end with a space, is refused.
  for (const bad of ['"edge\\r\\nx-injected: 1"', '" edge"', '""']) {
    const found = errors(GATEWAY + policy("HTTPListenerPolicy", `serverName: ${bad}`));
    assert.ok(found.length > 0, bad);
    for (const error of found) assert.match(error, /^t\.yaml:17:\d+: spec\.serverName: /, bad);
  }
});

test("Gateways sharing a port must agree on the Server header", () => {
  const found = errors(GATEWAY + sameListenerGateway("gw2") + policy("HTTPListenerPolicy", "serverHeaderTransformation: Overwrite"));
  assert.equal(found.length, 1);
  assert.match(found[0]!, /listener settings differ: serverHeader PassThrough here, Overwrite there/);
});

test("preserveHttp1HeaderCase: true loads with a warning at its field; false is what Tollgate does", () => {
  assert.deepEqual(warnings(GATEWAY + policy("HTTPListenerPolicy", "preserveHttp1HeaderCase: true")), [
    "t.yaml:17:28: spec.preserveHttp1HeaderCase: warning: preserveHttp1HeaderCase has no effect in Tollgate: header names are forwarded lower-case both ways, as HTTP/2 and Envoy's default write them",
  ]);
  assert.deepEqual(warnings(GATEWAY + policy("ListenerPolicy", "preserveHttp1HeaderCase: false")), []);
  assert.equal(warnings(GATEWAY + policy("ListenerPolicy", "preserveHttp1HeaderCase: true")).length, 1);
});

test("upgradeConfig loads: the upgrades it names are forwarded already; CONNECT and h2c, which Tollgate does not pass on, are warned about", () => {
  assert.deepEqual(warnings(GATEWAY + policy("HTTPListenerPolicy", "upgradeConfig: {enabledUpgrades: [websocket, spdy/3.1]}")), []);
  assert.deepEqual(warnings(GATEWAY + policy("ListenerPolicy", "upgradeConfig:\n  enabledUpgrades: [websocket, CONNECT, H2C]")), [
    "t.yaml:20:38: spec.default.httpSettings.upgradeConfig.enabledUpgrades[1]: warning: CONNECT is not tunnelled by Tollgate: a CONNECT request is answered 501 (hint: remove it; other upgrades need no entry)",
    "t.yaml:20:47: spec.default.httpSettings.upgradeConfig.enabledUpgrades[2]: warning: an h2c upgrade is declined by Tollgate: the request goes upstream as HTTP/1.1 (hint: remove it; other upgrades need no entry)",
  ]);
  assert.equal(errors(GATEWAY + policy("HTTPListenerPolicy", "upgradeConfig: {enabledUpgrades: []}")).length, 1, "at least one, as kgateway's CRD says");
  assert.deepEqual(errors(GATEWAY + policy("HTTPListenerPolicy", "upgradeConfig: {}")), [], "the list itself is optional in kgateway's API");
});
