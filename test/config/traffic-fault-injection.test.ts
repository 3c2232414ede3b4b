// kgateway TrafficPolicy `faultInjection` in the config: the model on routes and Gateways
// (percentages as shares, the rate in KiB/s as Envoy reads it), `disable` on a route and on a Gateway, and the
// exact text of each error: no fault, disable with faults, both abort statuses or neither, a
// delay out of kgateway's bounds.
import assert from "node:assert/strict";
import { test } from "node:test";
import type { FilterModel } from "../../src/config/model.ts";
import { TO_GATEWAY, TWO_RULE_ROUTE, errors, load, trafficPolicy as policy, warnings } from "./helpers.ts";

const CHAOS = "  faultInjection:\n    delay: {fixedDelay: 1500ms, percentage: 25}\n    abort: {httpStatus: 503, percentage: 10}\n    responseRateLimit: {kbitsPerSecond: 64}\n    maxActiveFaults: 20\n";
const CHAOS_MODEL: FilterModel = {
  type: "FaultInjection",
  policy: "default/p",
  delay: { ms: 1500, share: 0.25 },
  abort: { httpStatus: 503, grpcStatus: undefined, share: 0.1 },
  responseRateLimit: { bytesPerSecond: 65536, share: 1 },
  maxActiveFaults: 20,
};

test("on a route each rule gets the FaultInjection filter; on a Gateway one model; a route's disable is a NoFaultInjection filter", () => {
  const route = load(TWO_RULE_ROUTE + policy("p", CHAOS)).config!;
  assert.deepEqual(route.routes[0]!.rules.map((r) => r.filters), [[CHAOS_MODEL], [CHAOS_MODEL]]);
  assert.deepEqual(warnings(TWO_RULE_ROUTE + policy("p", CHAOS)), []);
  const gateway = load(TWO_RULE_ROUTE + policy("p", CHAOS, TO_GATEWAY)).config!;
  assert.deepEqual(gateway.gateways[0]!.faultInjection, CHAOS_MODEL);
  assert.deepEqual(gateway.routes[0]!.rules.map((r) => r.filters), [[], []]);
  const grpc = load(TWO_RULE_ROUTE + policy("p", "  faultInjection: {abort: {grpcStatus: 14}}\n")).config!;
  assert.deepEqual(grpc.routes[0]!.rules[0]!.filters, [
    { type: "FaultInjection", policy: "default/p", delay: undefined, abort: { httpStatus: undefined, grpcStatus: 14, share: 1 }, responseRateLimit: undefined, maxActiveFaults: undefined },
  ]);
  const off = load(TWO_RULE_ROUTE + policy("gw-wide", CHAOS, TO_GATEWAY) + policy("p", "  faultInjection: {disable: {}}\n")).config!;
  assert.deepEqual(off.routes[0]!.rules[0]!.filters, [{ type: "NoFaultInjection" }]);
  assert.equal(off.gateways[0]!.faultInjection?.policy, "default/gw-wide");
});

test("disable on a Gateway turns off nothing and is warned about", () => {
  const found = warnings(TWO_RULE_ROUTE + policy("p", "  faultInjection: {disable: {}}\n", TO_GATEWAY));
  assert.deepEqual(found, [
    "t.yaml:34:29: spec.faultInjection.disable: warning: faultInjection.disable turns off nothing on Gateway default/gw: a Gateway's faultInjection is the one a route's, or a listener's, disable turns off (hint: target the HTTPRoutes whose rules should not be given faults, or the listener by sectionName)",
  ]);
});

test("bad fault injections are errors at the field", () => {
  assert.deepEqual(errors(TWO_RULE_ROUTE + policy("p", "  faultInjection: {maxActiveFaults: 3}\n")), [
    "t.yaml:34:19: spec.faultInjection: faultInjection needs one of delay, abort, responseRateLimit or disable (hint: add delay: {fixedDelay: 2s}, abort: {httpStatus: 503}, or responseRateLimit: {kbitsPerSecond: 64})",
  ]);
  assert.deepEqual(errors(TWO_RULE_ROUTE + policy("p", "  faultInjection: {disable: {}, abort: {httpStatus: 503}}\n")), [
    "t.yaml:34:29: spec.faultInjection.disable: disable is set with other fields; it turns off fault injection whole (hint: keep disable: {} alone to turn off a Gateway's fault injection, or remove it)",
  ]);
  assert.deepEqual(errors(TWO_RULE_ROUTE + policy("p", "  faultInjection:\n    abort: {httpStatus: 503, grpcStatus: 14}\n    delay: {fixedDelay: 2h}\n")), [
    "t.yaml:35:12: spec.faultInjection.abort: httpStatus and grpcStatus are both set; an abort answers with one (hint: write httpStatus: 503 for HTTP clients, or grpcStatus: 14 (UNAVAILABLE) for gRPC ones)",
    "t.yaml:36:25: spec.faultInjection.delay.fixedDelay: 2h is not a delay from 1ms to 1h (hint: write a Gateway API duration such as 500ms or 2s)",
  ]);
  assert.deepEqual(errors(TWO_RULE_ROUTE + policy("p", "  faultInjection: {abort: {percentage: 50}}\n")), [
    "t.yaml:34:27: spec.faultInjection.abort: abort needs httpStatus or grpcStatus (hint: write httpStatus: 503 for HTTP clients, or grpcStatus: 14 (UNAVAILABLE) for gRPC ones)",
  ]);
  assert.equal(errors(TWO_RULE_ROUTE + policy("p", "  faultInjection: {abort: {httpStatus: 199}}\n")).length, 1);
  assert.equal(errors(TWO_RULE_ROUTE + policy("p", "  faultInjection: {responseRateLimit: {kbitsPerSecond: 0}}\n")).length, 1);
});
