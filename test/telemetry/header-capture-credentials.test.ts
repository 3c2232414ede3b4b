// Header capture read from the environment is set up before any config loads; a config that
// later makes a name a credential (an apiKeyAuth key source) must still keep it out of spans.
import assert from "node:assert/strict";
import { test } from "node:test";
import { markCredentialNames } from "../../src/config/sensitive.ts";
import { captureHeaders, headerCaptureFromEnv } from "../../src/telemetry/trace/attributes.ts";

test("a header made a credential after capture was set up is not captured; an explicitly allowed one still is", () => {
  const { capture } = headerCaptureFromEnv({ OTEL_INSTRUMENTATION_HTTP_SERVER_CAPTURE_REQUEST_HEADERS: "x-late-key,x-allowed-key,x-plain", TOLLGATE_TRACES_ALLOW_SENSITIVE_HEADERS: "x-allowed-key" });
  assert.deepEqual(capture.serverRequest, ["x-late-key", "x-allowed-key", "x-plain"], "nothing is a credential yet");
  const headers = { "x-late-key": "k-1", "x-allowed-key": "k-2", "x-plain": "p" };
  assert.deepEqual(captureHeaders(capture.serverRequest, headers, capture.allowedSensitive), [["x-late-key", ["k-1"]], ["x-allowed-key", ["k-2"]], ["x-plain", ["p"]]]);
  markCredentialNames(["X-Late-Key", "x-allowed-key"], []);
  assert.deepEqual(captureHeaders(capture.serverRequest, headers, capture.allowedSensitive), [["x-allowed-key", ["k-2"]], ["x-plain", ["p"]]]);
});
