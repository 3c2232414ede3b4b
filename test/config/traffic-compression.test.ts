// kgateway TrafficPolicy `compression` in the config: the model (codings in order, Envoy's
// defaults, ETag handling), sectionName, a route's disable winning over a newer policy and
// over its Gateway's, a Gateway's model, and the exact text of each warning and error.
import assert from "node:assert/strict";
import { test } from "node:test";
import type { FilterModel } from "../../src/config/model.ts";
import { TO_GATEWAY, TO_RULE_A, TWO_RULE_ROUTE, errors, load, trafficPolicy as policy, warnings } from "./helpers.ts";

const FULL = `  compression:
    responseCompression:
      libraries: [Brotli, Zstd, Gzip]
      minContentLengthBytes: 1024
      contentTypes: [application/json, Text/HTML]
      weakenEtagOnCompress: true
    requestDecompression: {libraries: [Zstd, Gzip]}
`;

test("the policy's halves become one Compression filter on the covered rules; defaults are kgateway's and Envoy's", () => {
  const full: FilterModel = {
    type: "Compression",
    policy: "default/p",
    response: { encodings: ["br", "zstd", "gzip"], minContentLength: 1024, contentTypes: ["application/json", "text/html"], etag: "weaken" },
    request: { encodings: ["zstd", "gzip"] },
  };
  assert.deepEqual(load(TWO_RULE_ROUTE + policy("p", FULL)).config!.routes[0]!.rules.map((r) => r.filters), [[full], [full]]);
  assert.deepEqual(warnings(TWO_RULE_ROUTE + policy("p", FULL)), []);
  const defaults = load(TWO_RULE_ROUTE + policy("p", "  compression: {responseCompression: {}}\n", TO_RULE_A)).config!;
  assert.deepEqual(defaults.routes[0]!.rules.map((r) => r.filters), [
    [{ type: "Compression", policy: "default/p", response: { encodings: ["gzip"], minContentLength: 30, contentTypes: undefined, etag: "remove-strong" }, request: undefined }],
    [],
  ]);
  const skip = load(TWO_RULE_ROUTE + policy("p", "  compression: {responseCompression: {disableOnEtag: true}, requestDecompression: {}}\n")).config!;
  assert.deepEqual(skip.routes[0]!.rules[0]!.filters, [
    { type: "Compression", policy: "default/p", response: { encodings: ["gzip"], minContentLength: 30, contentTypes: undefined, etag: "skip" }, request: { encodings: ["gzip"] } },
  ]);
});

test("an older policy's disable keeps a newer one's compression off the route", () => {
  const toRoute = "[{group: gateway.networking.k8s.io, kind: HTTPRoute, name: web}]";
  const yaml = TWO_RULE_ROUTE + policy("a-off", "  compression: {responseCompression: {disable: {}}}\n") + policy("b-on", FULL, toRoute, "2026-02-01T00:00:00Z");
  assert.deepEqual(load(yaml).config!.routes[0]!.rules.map((r) => r.filters), [[{ type: "NoCompression" }], [{ type: "NoCompression" }]]);
  assert.ok(warnings(yaml).some((w) => w.includes("spec.compression: warning: HTTPRoute default/web already gets compression from TrafficPolicy default/a-off, which is older; this one is ignored for it")), warnings(yaml).join("\n"));
});

test("on a Gateway one model for the rules no route-level policy gives compression; a route's disable turns it off; all-disabled on a Gateway is warned about", () => {
  const onGateway = load(TWO_RULE_ROUTE + policy("p", FULL, TO_GATEWAY)).config!;
  assert.equal(onGateway.gateways[0]!.compression?.policy, "default/p");
  assert.deepEqual(onGateway.gateways[0]!.compression?.response?.encodings, ["br", "zstd", "gzip"]);
  assert.deepEqual(onGateway.routes[0]!.rules.map((r) => r.filters), [[], []]);
  assert.deepEqual(warnings(TWO_RULE_ROUTE + policy("p", FULL, TO_GATEWAY)), []);
  const optOut = load(TWO_RULE_ROUTE + policy("gw-wide", FULL, TO_GATEWAY) + policy("p", "  compression: {responseCompression: {disable: {}}}\n", TO_RULE_A)).config!;
  assert.deepEqual(optOut.routes[0]!.rules.map((r) => r.filters), [[{ type: "NoCompression" }], []]);
  assert.deepEqual(warnings(TWO_RULE_ROUTE + policy("p", "  compression: {requestDecompression: {disable: {}}}\n", TO_GATEWAY)), [
    "t.yaml:34:16: spec.compression: warning: compression with every half disabled turns off nothing on Gateway default/gw: a Gateway's compression is the one a route's, or a listener's, disable turns off (hint: target the HTTPRoutes whose rules should not be compressed, or the listener by sectionName)",
  ]);
  assert.deepEqual(warnings(TWO_RULE_ROUTE + policy("p", "  compression: {responseCompression: {disableOnEtag: true, weakenEtagOnCompress: true}}\n")), [
    "t.yaml:34:54: spec.compression.responseCompression.disableOnEtag: warning: disableOnEtag has no effect: weakenEtagOnCompress wins, so responses with an ETag are compressed and their ETag weakened (hint: remove one of the two)",
  ]);
});

test("errors: nothing to do, disable with other fields, a library twice, a content type with parameters, an unknown library", () => {
  const cases: [string, string][] = [
    ["  compression: {}\n", "t.yaml:34:16: spec.compression: compression needs responseCompression or requestDecompression (hint: write responseCompression: {} to gzip the rules' responses, or requestDecompression: {} to inflate gzip request bodies)"],
    [
      "  compression: {responseCompression: {disable: {}, libraries: [Gzip]}}\n",
      "t.yaml:34:48: spec.compression.responseCompression.disable: disable is set with other fields; it turns response compression off whole (hint: keep disable: {} alone, or remove it)",
    ],
    [
      "  compression: {requestDecompression: {disable: {}, libraries: [Gzip]}}\n",
      "t.yaml:34:49: spec.compression.requestDecompression.disable: disable is set with libraries; it turns request decompression off whole (hint: keep disable: {} alone, or remove it)",
    ],
    ["  compression: {responseCompression: {libraries: [Gzip, Brotli, Gzip]}}\n", "t.yaml:34:65: spec.compression.responseCompression.libraries[2]: Gzip is listed twice (hint: list each of Gzip, Brotli and Zstd at most once)"],
    [
      "  compression: {responseCompression: {contentTypes: ['text/html; charset=utf-8']}}\n",
      't.yaml:34:54: spec.compression.responseCompression.contentTypes[0]: "text/html; charset=utf-8" is not a media type type/subtype without parameters or wildcards (hint: write the bare media type, such as text/html or application/json)',
    ],
  ];
  for (const [section, expected] of cases) assert.deepEqual(errors(TWO_RULE_ROUTE + policy("p", section)), [expected], section);
  const unknown = errors(TWO_RULE_ROUTE + policy("p", "  compression: {responseCompression: {libraries: [Deflate]}}\n"));
  assert.equal(unknown.length, 1);
  assert.match(unknown[0]!, /^t\.yaml:34:\d+: spec\.compression\.responseCompression\.libraries\[0\]: .*Gzip.*Brotli.*Zstd/);
});
