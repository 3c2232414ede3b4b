import assert from "node:assert/strict";
import { test } from "node:test";
import { celDuration, compileAccessLogFilter } from "../../src/cel/environment.ts";
import type { AccessLogActivation } from "../../src/cel/environment.ts";

function activation(code: bigint, durationMs: number, headers: Record<string, string> = {}): AccessLogActivation {
  return {
    request: { method: "GET", path: "/a?b=1", url_path: "/a", query: "b=1", host: "example.com", scheme: "http", protocol: "HTTP/1.1", headers, useragent: "curl", id: "r1", size: 0n, duration: celDuration(durationMs), time: new Date(0) },
    response: { code, code_details: "via_upstream", flags: "", headers: {}, size: 12n },
    connection: { id: 1n, client_address: "127.0.0.1", client_port: 50000n, mtls: false, requested_server_name: "", tls_version: "", subject_peer_certificate: "", uri_san_peer_certificate: "", dns_san_peer_certificate: "", sha256_peer_certificate_digest: "" },
    upstream: { address: "127.0.0.1:9000", port: 9000n },
    route: { name: "web", namespace: "default", rule: "0", gateway: "default/gw", listener: "http", backend: "default/echo" },
  };
}

test("a filter compiles once and evaluates against an activation", () => {
  const compiled = compileAccessLogFilter('response.code >= 500 || request.duration > duration("1s") || ("x-debug" in request.headers && request.headers["x-debug"] == "1")');
  assert.equal(compiled.ok, true);
  if (!compiled.ok) return;
  assert.equal(compiled.program(activation(503n, 5)), true);
  assert.equal(compiled.program(activation(200n, 5)), false);
  assert.equal(compiled.program(activation(200n, 1500)), true);
  assert.equal(compiled.program(activation(200n, 5, { "x-debug": "1" })), true);
});

test("route metadata and optional grpc_status are addressable", () => {
  const compiled = compileAccessLogFilter('route.gateway == "default/gw" && !has(response.grpc_status) && upstream.port == 9000');
  assert.equal(compiled.ok && compiled.program(activation(200n, 1)), true);
});

test("unknown fields, syntax errors and non-bool results are rejected with positions", () => {
  assert.deepEqual(compileAccessLogFilter("response.status == 200"), { ok: false, message: "No such key: status", offset: 9 });
  assert.deepEqual(compileAccessLogFilter("response.code >= "), { ok: false, message: "Unexpected token: EOF", offset: 17 });
  assert.deepEqual(compileAccessLogFilter("response.code"), { ok: false, message: "the filter must be a bool expression, this one is int" });
  assert.equal(compileAccessLogFilter("unknown_var == 1").ok, false);
});
