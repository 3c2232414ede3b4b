// kgateway TrafficPolicy `buffer` in the config: quantities as kubectl writes them, kgateway's
// bounds, disable, and the exact text of each error.
import assert from "node:assert/strict";
import { test } from "node:test";
import { quantityBytes } from "../../src/config/quantity.ts";
import { TWO_RULE_ROUTE, TO_GATEWAY, errors, load, trafficPolicy, warnings } from "./helpers.ts";

const policy = (body: string, targets?: string): string => trafficPolicy("buf", `  buffer: ${body}\n`, targets);

test("quantities as Kubernetes reads them: byte counts, decimal and binary suffixes, exponents, a sign; a fraction of a byte rounds up", () => {
  assert.deepEqual(
    [65536, "65536", "1Mi", "512Ki", "1.5Ki", "1k", "2M", "1e3", "1E3", "1e+3", "+1", "1.", "5.e3", "2000m", "0.5", "1E", "1Gi"].map(quantityBytes),
    [65536, 65536, 1_048_576, 524_288, 1536, 1000, 2_000_000, 1000, 1000, 1000, 1, 1, 5000, 2, 1, 1e18, 1_073_741_824],
  );
  assert.deepEqual(["abc", "1 Mi", " 1Mi", "1Mi ", "Mi", "1mi", "0x10", ""].map(quantityBytes), [undefined, undefined, undefined, undefined, undefined, undefined, undefined, undefined]);
  assert.equal(quantityBytes("-1"), -1);
});

test("each rule the policy covers gets the buffer; a Gateway's goes on the Gateway; disable: {} is read", () => {
  const { config } = load(TWO_RULE_ROUTE + policy('{maxRequestSize: "1Mi"}'));
  assert.deepEqual(
    config!.routes[0]!.rules.map((r) => r.filters.filter((f) => f.type === "Buffer")),
    [[{ type: "Buffer", maxBytes: 1_048_576, policyName: "default/buf" }], [{ type: "Buffer", maxBytes: 1_048_576, policyName: "default/buf" }]],
  );
  assert.deepEqual(load(TWO_RULE_ROUTE + policy("{maxRequestSize: 4096}", TO_GATEWAY)).config!.gateways[0]!.buffer, { type: "Buffer", maxBytes: 4096, policyName: "default/buf" });
  assert.deepEqual(load(TWO_RULE_ROUTE + policy("{disable: {}}")).config!.routes[0]!.rules[0]!.filters, [{ type: "NoBuffer" }]);
});

test("a size of 0, of 4Gi or more, or no size, and both fields or neither, are errors", () => {
  assert.deepEqual(errors(TWO_RULE_ROUTE + policy('{maxRequestSize: "4Gi"}')), [
    't.yaml:34:28: spec.buffer.maxRequestSize: "4Gi" is not a size above 0 and below 4Gi (hint: write a byte count or a quantity: 65536, "512Ki", "1Mi")',
  ]);
  assert.deepEqual(errors(TWO_RULE_ROUTE + policy("{maxRequestSize: 0}")), [
    't.yaml:34:28: spec.buffer.maxRequestSize: 0 is not a size above 0 and below 4Gi (hint: write a byte count or a quantity: 65536, "512Ki", "1Mi")',
  ]);
  assert.deepEqual(errors(TWO_RULE_ROUTE + policy('{maxRequestSize: "4E"}')), [
    't.yaml:34:28: spec.buffer.maxRequestSize: "4E" is not a size above 0 and below 4Gi (hint: write a byte count or a quantity: 65536, "512Ki", "1Mi")',
  ]);
  assert.deepEqual(errors(TWO_RULE_ROUTE + policy('{maxRequestSize: "-1Ki"}')), [
    't.yaml:34:28: spec.buffer.maxRequestSize: "-1Ki" is not a size above 0 and below 4Gi (hint: write a byte count or a quantity: 65536, "512Ki", "1Mi")',
  ]);
  assert.deepEqual(errors(TWO_RULE_ROUTE + policy('{maxRequestSize: "1Mi", disable: {}}')), [
    "t.yaml:34:11: spec.buffer: maxRequestSize and disable are both set; a buffer policy holds exactly one (hint: write maxRequestSize: \"1Mi\" to buffer bodies up to that size, or disable: {} to turn off a Gateway's buffer)",
  ]);
  assert.deepEqual(errors(TWO_RULE_ROUTE + policy("{}")), [
    "t.yaml:34:11: spec.buffer: buffer needs maxRequestSize or disable (hint: write maxRequestSize: \"1Mi\" to buffer bodies up to that size, or disable: {} to turn off a Gateway's buffer)",
  ]);
});

test("disable: {} on a Gateway turns nothing off: warned and left out, so a newer policy's size still applies", () => {
  const text = TWO_RULE_ROUTE + trafficPolicy("off", "  buffer: {disable: {}}\n", TO_GATEWAY, "2025-01-01T00:00:00Z") + policy('{maxRequestSize: "1Ki"}', TO_GATEWAY);
  assert.deepEqual(load(text).config!.gateways[0]!.buffer, { type: "Buffer", maxBytes: 1024, policyName: "default/buf" });
  assert.deepEqual(warnings(text), [
    "t.yaml:34:21: spec.buffer.disable: warning: buffer.disable turns off nothing on Gateway default/gw: a Gateway's buffer is the one a route's, or a listener's, disable turns off (hint: target the HTTPRoutes whose rules should not be buffered, or the listener by sectionName)",
  ]);
});
