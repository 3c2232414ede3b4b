// kgateway access log `filter` in the config: each FilterType read into a condition, a lone
// celFilter kept as the CEL filter it always was, and the exact text of each error.
import assert from "node:assert/strict";
import { test } from "node:test";
import type { AccessLogModel } from "../../src/config/model.ts";
import { accessLogPolicy, errors, load, warnings } from "./helpers.ts";

const withFilter = (filter: string): string => accessLogPolicy(`  - fileSink: {path: /dev/stdout, stringFormat: "%RESPONSE_CODE%"}
    filter: ${filter}
`);

function logOf(filter: string): AccessLogModel {
  const { config, diagnostics } = load(withFilter(filter));
  assert.ok(config, diagnostics.map((d) => d.message).join("\n"));
  return config.gateways[0]!.telemetry.accessLogs[0]!;
}

test("each filter type is read into its condition; and/or hold a list of them", () => {
  assert.deepEqual(logOf("{statusCodeFilter: {op: GE, value: 500}}").condition, { kind: "statusCode", op: "GE", value: 500 });
  assert.deepEqual(logOf("{durationFilter: {op: LE}}").condition, { kind: "duration", op: "LE", value: 0 }, "value defaults to 0, as in Envoy's proto");
  assert.deepEqual(logOf("{notHealthCheckFilter: true}").condition, { kind: "notHealthCheck" });
  assert.deepEqual(logOf("{traceableFilter: true}").condition, { kind: "traceable" });
  assert.deepEqual(logOf("{notHealthCheckFilter: false}").condition, { kind: "notHealthCheck" }, "kgateway's booleans are pointers: present is set");
  assert.deepEqual(logOf("{grpcStatusFilter: {exclude: true}}").condition, { kind: "grpcStatus", statuses: [], exclude: true }, "statuses are optional, as in kgateway");
  assert.deepEqual(warnings(withFilter("{traceableFilter: true}")), [
    "t.yaml:19:31: spec.accessLog[0].filter.traceableFilter: warning: traceableFilter keeps only force-traced requests (Envoy's x-envoy-force-trace), and Tollgate force-traces none: this access log keeps nothing (hint: drop the filter, or the access log)",
  ]);
  assert.deepEqual(logOf("{headerFilter: {header: {name: X-Debug, value: on}}}").condition, { kind: "header", name: "x-debug", type: "Exact", value: "on" });
  assert.deepEqual(logOf("{responseFlagFilter: {flags: [UF, URX]}}").condition, { kind: "responseFlags", flags: ["UF", "URX"] });
  assert.deepEqual(logOf("{grpcStatusFilter: {statuses: [CANCELED, UNAUTHENTICATED], exclude: true}}").condition, { kind: "grpcStatus", statuses: [1, 16], exclude: true });
  const both = logOf("{andFilter: [{statusCodeFilter: {op: GE, value: 400}}, {celFilter: {match: 'request.method == \"GET\"'}}]}");
  assert.equal(both.filter, undefined);
  assert.equal(both.condition?.kind, "and");
  assert.deepEqual(both.condition?.kind === "and" ? both.condition.conditions.map((c) => c.kind) : [], ["statusCode", "cel"]);
  const lone = logOf("{celFilter: {match: 'response.code >= 400'}}");
  assert.deepEqual([lone.filter?.expression, lone.condition], ["response.code >= 400", undefined], "a lone celFilter stays the CEL filter");
  assert.deepEqual(warnings(withFilter("{orFilter: [{notHealthCheckFilter: true}, {responseFlagFilter: {flags: [NR]}}]}")), []);
});

test("runtimeFilter (kgateway v2.3): percentSampled with Envoy's denominators; without it nothing is kept, and a warning says so", () => {
  assert.deepEqual(logOf("{runtimeFilter: {runtimeKey: logs.sample, percentSampled: {numerator: 25}}}").condition, { kind: "runtime", numerator: 25, denominator: 100, independent: false });
  assert.deepEqual(logOf("{runtimeFilter: {runtimeKey: k, percentSampled: {numerator: 5, denominator: TEN_THOUSAND}, useIndependentRandomness: true}}").condition, { kind: "runtime", numerator: 5, denominator: 10_000, independent: true });
  assert.deepEqual(logOf("{runtimeFilter: {runtimeKey: k, percentSampled: {numerator: 7, denominator: MILLION}}}").condition, { kind: "runtime", numerator: 7, denominator: 1_000_000, independent: false });
  assert.deepEqual(logOf("{runtimeFilter: {runtimeKey: k}}").condition, { kind: "runtime", numerator: 0, denominator: 100, independent: false });
  assert.deepEqual(warnings(withFilter("{runtimeFilter: {runtimeKey: k}}")), [
    "t.yaml:19:29: spec.accessLog[0].filter.runtimeFilter: warning: a runtimeFilter without percentSampled keeps nothing: Tollgate has no runtime layer to set its runtimeKey, and Envoy's default is 0% (hint: set percentSampled, e.g. {numerator: 10} to keep 10% of the records)",
  ]);
  assert.equal(logOf("{andFilter: [{runtimeFilter: {runtimeKey: k, percentSampled: {numerator: 1}}}, {statusCodeFilter: {op: GE, value: 500}}]}").condition?.kind, "and");
  assert.equal(errors(withFilter("{runtimeFilter: {percentSampled: {numerator: 1}}}")).length, 1, "runtimeKey is required, as in kgateway");
  assert.equal(errors(withFilter("{runtimeFilter: {runtimeKey: k, percentSampled: {numerator: 1, denominator: THOUSAND}}}")).length, 1);
});

test("a filter sets exactly one condition; flags, header names, regexes and CEL are checked where written", () => {
  assert.deepEqual(errors(withFilter("{}")), [
    "t.yaml:19:13: spec.accessLog[0].filter: an access log filter needs one condition (hint: one of statusCodeFilter, durationFilter, notHealthCheckFilter, traceableFilter, headerFilter, responseFlagFilter, grpcStatusFilter, celFilter, runtimeFilter, andFilter, orFilter)",
  ]);
  assert.deepEqual(errors(withFilter("{traceableFilter: true, statusCodeFilter: {op: EQ, value: 200}}")), [
    "t.yaml:19:55: spec.accessLog[0].filter.statusCodeFilter: an access log filter sets one condition; this one sets traceableFilter and statusCodeFilter (hint: combine conditions with andFilter or orFilter)",
  ]);
  assert.deepEqual(errors(withFilter("{andFilter: [{traceableFilter: true}, {orFilter: [{traceableFilter: true}]}]}")), [
    't.yaml:19:52: spec.accessLog[0].filter.andFilter[1].orFilter: unknown field "orFilter" (hint: did you mean "celFilter"?)',
  ], "no nesting: andFilter lists single conditions, as in kgateway's API");
  assert.deepEqual(errors(withFilter("{responseFlagFilter: {flags: [UF, XX]}}")), [
    't.yaml:19:47: spec.accessLog[0].filter.responseFlagFilter.flags[1]: "XX" is not an Envoy response flag (hint: one of LH, UH, UT, LR, UR, UF, UC, UO, NR, DI, FI, RL, UAEX, RLSE, DC, URX, SI, IH, DPE, UMSDR, RFCF, NFCF, DT, UPE, NC, OM, DF, DO, DR)',
  ]);
  assert.deepEqual(errors(withFilter("{headerFilter: {header: {name: 'x debug', value: on}}}")), [
    `t.yaml:19:44: spec.accessLog[0].filter.headerFilter.header.name: "x debug" is not a header name (hint: letters, digits and !#$%&'*+-.^_\`|~)`,
  ]);
  assert.deepEqual(errors(withFilter("{headerFilter: {header: {type: RegularExpression, name: x-a, value: '(a'}}}")), [
    "t.yaml:19:81: spec.accessLog[0].filter.headerFilter.header.value: invalid regular expression: Unterminated group (hint: use ECMAScript regular expression syntax)",
  ]);
  assert.match(errors(withFilter("{orFilter: [{traceableFilter: true}, {celFilter: {match: 'response.cod > 1'}}]}"))[0]!, /^t\.yaml:19:80: spec\.accessLog\[0\]\.filter\.orFilter\[1\]\.celFilter\.match: invalid CEL filter: /);
  assert.match(errors(withFilter("{grpcStatusFilter: {statuses: [CANCELLED]}}"))[0]!, /spec\.accessLog\[0\]\.filter\.grpcStatusFilter\.statuses\[0\]/);
  assert.match(errors(withFilter("{statusCodeFilter: {op: GT, value: 1}}"))[0]!, /spec\.accessLog\[0\]\.filter\.statusCodeFilter\.op/);
});
