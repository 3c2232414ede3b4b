import assert from "node:assert/strict";
import { test } from "node:test";
import { parseEnvoyFormat } from "../../src/format/envoy-operators.ts";

test("literal and operator parts, %% as a literal percent, truncation, fallbacks, pseudo-headers", () => {
  const { parts, errors } = parseEnvoyFormat("[%START_TIME%] %REQ(:METHOD)% %REQ_WITHOUT_QUERY(X-ENVOY-ORIGINAL-PATH?:PATH):100% %RESP(Content-Type)% 100%% %BYTES_SENT%");
  assert.deepEqual(errors, []);
  assert.deepEqual(parts, [
    { kind: "literal", text: "[" },
    { kind: "startTime", format: undefined },
    { kind: "literal", text: "] " },
    { kind: "requestHeader", header: ":method", fallback: undefined, withoutQuery: false, maxLength: undefined },
    { kind: "literal", text: " " },
    { kind: "requestHeader", header: "x-envoy-original-path", fallback: ":path", withoutQuery: true, maxLength: 100 },
    { kind: "literal", text: " " },
    { kind: "responseHeader", header: "content-type", fallback: undefined, maxLength: undefined },
    { kind: "literal", text: " 100% " },
    { kind: "operator", name: "BYTES_SENT", maxLength: undefined },
  ]);
});

test("START_TIME with a strftime format containing percent signs", () => {
  const { parts, errors } = parseEnvoyFormat("%START_TIME(%Y-%m-%dT%H:%M:%S%z)%|%START_TIME()%");
  assert.deepEqual(errors, []);
  assert.deepEqual(parts, [{ kind: "startTime", format: "%Y-%m-%dT%H:%M:%S%z" }, { kind: "literal", text: "|" }, { kind: "startTime", format: undefined }]);
});

test("every operator the access-log issue names is known", () => {
  const names = ["RESPONSE_CODE", "RESPONSE_FLAGS", "DURATION", "PROTOCOL", "BYTES_RECEIVED", "BYTES_SENT", "UPSTREAM_HOST", "UPSTREAM_CLUSTER", "ROUTE_NAME", "TRACE_ID", "SPAN_ID", "DOWNSTREAM_REMOTE_ADDRESS", "RESPONSE_CODE_DETAILS", "UPSTREAM_LOCAL_ADDRESS", "DOWNSTREAM_LOCAL_ADDRESS", "REQUEST_DURATION", "RESPONSE_DURATION", "UPSTREAM_REQUEST_ATTEMPT_COUNT", "HOSTNAME"];
  const { parts, errors } = parseEnvoyFormat(names.map((n) => `%${n}%`).join(""));
  assert.deepEqual(errors, []);
  assert.deepEqual(parts.map((p) => (p.kind === "operator" ? p.name : p.kind)), names);
});

test("errors carry the offset of the offending operator", () => {
  assert.deepEqual(parseEnvoyFormat("ok %NOPE% %REQ()% %DURATION(x)% %REQ(A?B?C)% %PROTOCOL:% %BYTES_SENT").errors, [
    { offset: 3, message: "unknown command operator %NOPE%" },
    { offset: 10, message: "%REQ(HEADER)% needs a header name" },
    { offset: 18, message: "%DURATION% takes no argument" },
    { offset: 32, message: "%REQ(A?B?C)%: expected HEADER or HEADER?ALTERNATIVE" },
    { offset: 54, message: "expected a length after ':' in %PROTOCOL%" },
    { offset: 57, message: "command operator %BYTES_SENT... is not closed with '%'" },
  ]);
});
