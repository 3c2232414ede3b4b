// kgateway fileSink `jsonFormat` (Envoy's format dictionary) in the config: what the model
// keeps (lists too), and each problem at its own field: an unknown operator inside a template,
// a truncated number, nesting too deep, an empty dictionary, and both formats on one sink.
import assert from "node:assert/strict";
import { test } from "node:test";
import { accessLogPolicy, errors, load } from "./helpers.ts";

const withFileSink = (sink: string): string => accessLogPolicy(`  - fileSink:
      path: /dev/stdout
${sink}`);

test("a format dictionary loads as written: templates, literals, lists and nested dictionaries", () => {
  const { config, diagnostics } = load(
    withFileSink(`      jsonFormat:
        status: "%RESPONSE_CODE%"
        route: "%ROUTE_NAME%"
        request: {method: "%REQ(:METHOD)%", path: "%REQ(:PATH)%", line: "%REQ(:METHOD)% %REQ(:PATH)%"}
        version: 2
        internal: false
        note: null
        tags: ["%REQ(:METHOD)%", 1, {code: "%RESPONSE_CODE%"}]
        empty: {}
        __proto__: {kept: true}
`),
  );
  assert.deepEqual(diagnostics.filter((d) => d.severity === "error"), []);
  const log = config!.gateways[0]!.telemetry.accessLogs[0]!;
  const withoutProtoKey: Record<string, unknown> = { ...log.jsonBody };
  delete withoutProtoKey["__proto__"];
  assert.deepEqual(withoutProtoKey, {
    status: "%RESPONSE_CODE%",
    route: "%ROUTE_NAME%",
    request: { method: "%REQ(:METHOD)%", path: "%REQ(:PATH)%", line: "%REQ(:METHOD)% %REQ(:PATH)%" },
    version: 2,
    internal: false,
    note: null,
    tags: ["%REQ(:METHOD)%", 1, { code: "%RESPONSE_CODE%" }],
    empty: {},
  });
  assert.deepEqual(Object.getOwnPropertyDescriptor(log.jsonBody, "__proto__")?.value, { kept: true }, "a key like any other, not the object's prototype");
  assert.equal(log.body, undefined);
});

test("each problem of a format dictionary is reported at its field", () => {
  assert.deepEqual(errors(withFileSink(`      jsonFormat:\n        request: {code: "%RESPONSE_CODEX%"}\n`)), [
    't.yaml:21:26: spec.accessLog[0].fileSink.jsonFormat.request.code: unknown command operator %RESPONSE_CODEX% (at character 1) (hint: see docs/configuration.md for the command operators Tollgate renders)',
  ]);
  assert.deepEqual(errors(withFileSink(`      jsonFormat:\n        tags: ["%ROUTE_NAME%", "%NOPE%"]\n`)), [
    "t.yaml:21:33: spec.accessLog[0].fileSink.jsonFormat.tags[1]: unknown command operator %NOPE% (at character 1) (hint: see docs/configuration.md for the command operators Tollgate renders)",
  ]);
  assert.deepEqual(errors(withFileSink(`      jsonFormat:\n        sent: "%BYTES_SENT:2%"\n`)), [
    "t.yaml:21:15: spec.accessLog[0].fileSink.jsonFormat.sent: %BYTES_SENT% is a number and takes no :N length (hint: write %BYTES_SENT%)",
  ]);
  const deep = `{a: {b: {c: {d: {e: {f: {g: {h: "%RESPONSE_CODE%"}}}}}}}}`;
  assert.deepEqual(errors(withFileSink(`      jsonFormat: {ok: ${deep}}\n`)).map((e) => e.replace(/^t\.yaml:\d+:\d+: /, "")), [
    "spec.accessLog[0].fileSink.jsonFormat.ok.a.b.c.d.e.f.g: a format dictionary nests 8 levels deep at most (hint: flatten the keys)",
  ]);
  assert.deepEqual(errors(withFileSink(`      jsonFormat: ${deep}\n`)), [], "eight levels load");
  assert.deepEqual(errors(withFileSink(`      jsonFormat: {}\n`)), [
    "t.yaml:20:19: spec.accessLog[0].fileSink.jsonFormat: an empty format dictionary renders nothing (hint: name at least one key, e.g. status: '%RESPONSE_CODE%')",
  ]);
  assert.deepEqual(errors(withFileSink(`      stringFormat: "%RESPONSE_CODE%"\n      jsonFormat: {status: "%RESPONSE_CODE%"}\n`)), [
    "t.yaml:21:19: spec.accessLog[0].fileSink.jsonFormat: a fileSink has either stringFormat or jsonFormat, not both (hint: keep one of them)",
  ]);
});
