// kgateway fileSink `jsonFormat` (Envoy's format dictionary) in the config: what the model
// keeps, and each problem at its own field: an unknown operator inside a template, a list,
// an empty dictionary, and both formats on one sink.
import assert from "node:assert/strict";
import { test } from "node:test";
import { GATEWAY, errors, load } from "./helpers.ts";

const withFileSink = (sink: string): string => `${GATEWAY}---
apiVersion: gateway.kgateway.dev/v1alpha1
kind: HTTPListenerPolicy
metadata: {name: logs}
spec:
  targetRefs: [{group: gateway.networking.k8s.io, kind: Gateway, name: gw}]
  accessLog:
  - fileSink:
      path: /dev/stdout
${sink}`;

test("a format dictionary loads as written: templates, literals and nested dictionaries", () => {
  const { config, diagnostics } = load(
    withFileSink(`      jsonFormat:
        status: "%RESPONSE_CODE%"
        route: "%ROUTE_NAME%"
        request: {method: "%REQ(:METHOD)%", path: "%REQ(:PATH)%", line: "%REQ(:METHOD)% %REQ(:PATH)%"}
        version: 2
        internal: false
        note: null
`),
  );
  assert.deepEqual(diagnostics.filter((d) => d.severity === "error"), []);
  const log = config!.gateways[0]!.telemetry.accessLogs[0]!;
  assert.deepEqual(log.jsonBody, {
    status: "%RESPONSE_CODE%",
    route: "%ROUTE_NAME%",
    request: { method: "%REQ(:METHOD)%", path: "%REQ(:PATH)%", line: "%REQ(:METHOD)% %REQ(:PATH)%" },
    version: 2,
    internal: false,
    note: null,
  });
  assert.equal(log.body, undefined);
});

test("each problem of a format dictionary is reported at its field", () => {
  assert.deepEqual(errors(withFileSink(`      jsonFormat:\n        request: {code: "%RESPONSE_CODEX%"}\n`)), [
    't.yaml:21:26: spec.accessLog[0].fileSink.jsonFormat.request.code: unknown command operator %RESPONSE_CODEX% (at character 1) (hint: see docs/configuration.md for the command operators Tollgate renders)',
  ]);
  assert.deepEqual(errors(withFileSink(`      jsonFormat:\n        tags: ["%ROUTE_NAME%"]\n`)), [
    "t.yaml:21:15: spec.accessLog[0].fileSink.jsonFormat.tags: a format dictionary holds no lists (neither does Envoy's) (hint: write one key per value, or a nested dictionary)",
  ]);
  assert.deepEqual(errors(withFileSink(`      jsonFormat: {}\n`)), [
    "t.yaml:20:19: spec.accessLog[0].fileSink.jsonFormat: an empty format dictionary renders nothing (hint: name at least one key, e.g. status: '%RESPONSE_CODE%')",
  ]);
  assert.deepEqual(errors(withFileSink(`      stringFormat: "%RESPONSE_CODE%"\n      jsonFormat: {status: "%RESPONSE_CODE%"}\n`)), [
    "t.yaml:21:19: spec.accessLog[0].fileSink.jsonFormat: a fileSink has either stringFormat or jsonFormat, not both (hint: keep one of them)",
  ]);
});
