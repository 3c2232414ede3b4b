// OTLP exporter settings from the environment that the transport cannot use: headers gRPC
// or HTTP would refuse, and TLS files that are not usable PEM. Each is reported once at
// start, by the variable actually read and never with a header's value, and the gateway
// starts and proxies; what cannot be exported is counted as dropped.
import { test } from "node:test";
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { resolveOtlpExporterConfig } from "../../src/telemetry/export/otlp-config.ts";
import { httpRequest } from "../support/gateway-process.ts";
import { createTestPki } from "../support/test-certs.ts";
import { get } from "./harness.ts";
import { startProcessRig, startRig } from "./rig.ts";

const FAST = { OTEL_BSP_SCHEDULE_DELAY: "20", OTEL_METRICS_EXPORTER: "none", OTEL_LOGS_EXPORTER: "none" };

test("headers a transport would refuse are left out with a warning naming the variable and the header, never the value", () => {
  const env = {
    OTEL_EXPORTER_OTLP_HEADERS: "api key=s3cret-a,x-token=caf%C3%A9,x-id-bin=AAEC,Authorization Bearer s3cret-b,x-ok=1,,",
    OTEL_EXPORTER_OTLP_TRACES_HEADERS: "x-line=a%0Ab,x-ok=2",
  };
  const grpc = resolveOtlpExporterConfig({ ...env, OTEL_EXPORTER_OTLP_PROTOCOL: "grpc" }, "traces", undefined);
  assert.deepEqual(grpc.headers, { "x-ok": "2" });
  assert.deepEqual(grpc.problems, [
    "OTEL_EXPORTER_OTLP_HEADERS: item 4 not sent: not key=value with percent-encoding",
    "OTEL_EXPORTER_OTLP_HEADERS: header 'api key' not sent: a gRPC metadata key holds only a-z, 0-9, '-', '_' and '.'",
    "OTEL_EXPORTER_OTLP_HEADERS: header 'x-token' not sent: its value holds a character gRPC text metadata cannot carry (only printable ASCII)",
    "OTEL_EXPORTER_OTLP_HEADERS: header 'x-id-bin' not sent: binary (-bin) gRPC metadata cannot be given as text",
    "OTEL_EXPORTER_OTLP_TRACES_HEADERS: header 'x-line' not sent: its value holds a character gRPC text metadata cannot carry (only printable ASCII)",
  ]);
  // HTTP carries Latin-1 values and -bin names; not spaces in names or line breaks in values.
  const http = resolveOtlpExporterConfig(env, "traces", undefined);
  assert.deepEqual(http.headers, { "x-token": "café", "x-id-bin": "AAEC", "x-ok": "2" });
  assert.deepEqual(http.problems, [
    "OTEL_EXPORTER_OTLP_HEADERS: item 4 not sent: not key=value with percent-encoding",
    "OTEL_EXPORTER_OTLP_HEADERS: header 'api key' not sent: not a valid HTTP header name",
    "OTEL_EXPORTER_OTLP_TRACES_HEADERS: header 'x-line' not sent: its value holds a control character or one above U+00FF",
  ]);
  // A per-signal header the transport refuses does not fall back to the generic one of that name.
  const shadowed = resolveOtlpExporterConfig({ OTEL_EXPORTER_OTLP_HEADERS: "x-a=1", OTEL_EXPORTER_OTLP_TRACES_HEADERS: "x-a=%0A" }, "traces", undefined);
  assert.deepEqual(shadowed.headers, {});
  for (const p of [...grpc.problems, ...http.problems]) assert.ok(!/s3cret|caf|AAEC/.test(p), p);
});

test("headers the transport sets itself are refused, and a later variable's spelling replaces an earlier one whatever its case", () => {
  const env = { OTEL_EXPORTER_OTLP_HEADERS: "Connection=x,Upgrade=h2c,te=trailers,grpc-timeout=1S,content-length=5,Authorization=Bearer%20generic" };
  const grpc = resolveOtlpExporterConfig({ ...env, OTEL_EXPORTER_OTLP_PROTOCOL: "grpc" }, "traces", undefined);
  assert.deepEqual(grpc.headers, { Authorization: "Bearer generic" });
  for (const name of ["Connection", "Upgrade", "te", "grpc-timeout", "content-length"]) {
    assert.ok(grpc.problems.includes(`OTEL_EXPORTER_OTLP_HEADERS: header '${name}' not sent: the gRPC transport sets this header itself`), `${name}: ${JSON.stringify(grpc.problems)}`);
  }
  const http = resolveOtlpExporterConfig({ OTEL_EXPORTER_OTLP_HEADERS: `${env.OTEL_EXPORTER_OTLP_HEADERS},Content-Encoding=gzip` }, "traces", undefined);
  assert.deepEqual(http.headers, { "grpc-timeout": "1S", Authorization: "Bearer generic" });
  assert.ok(http.problems.includes("OTEL_EXPORTER_OTLP_HEADERS: header 'Content-Encoding' not sent: the HTTP transport sets this header itself"), JSON.stringify(http.problems));
  const bad = resolveOtlpExporterConfig({ OTEL_EXPORTER_OTLP_HEADERS: "Authorization=Bearer%20generic", OTEL_EXPORTER_OTLP_TRACES_HEADERS: "authorization=%0A" }, "traces", undefined);
  assert.deepEqual(bad.headers, {}, "the refused per-signal header does not fall back to the generic one spelt differently");
  const replaced = resolveOtlpExporterConfig({ OTEL_EXPORTER_OTLP_HEADERS: "Authorization=a", OTEL_EXPORTER_OTLP_TRACES_HEADERS: "authorization=b" }, "traces", undefined);
  assert.deepEqual(replaced.headers, { authorization: "b" }, "one header, the per-signal value");
});

test("a CA file that is not a PEM certificate is refused for a TLS endpoint; a plaintext endpoint never reads the TLS files", async (t) => {
  const pki = await createTestPki();
  t.after(() => pki.remove());
  const notPem = join(pki.dir, "not-a-cert.pem");
  await writeFile(notPem, "this is not a certificate\n");
  const truncated = join(pki.dir, "truncated.pem");
  await writeFile(truncated, pki.ca.toString("latin1").slice(0, 120));
  for (const file of [notPem, truncated]) {
    for (const protocol of ["grpc", "http/protobuf"]) {
      const config = resolveOtlpExporterConfig({ OTEL_EXPORTER_OTLP_PROTOCOL: protocol, OTEL_EXPORTER_OTLP_ENDPOINT: "https://collector:4317", OTEL_EXPORTER_OTLP_CERTIFICATE: file }, "traces", undefined);
      assert.match(config.unusable ?? "", /^OTEL_EXPORTER_OTLP_CERTIFICATE: not a usable PEM certificate \(.+\)$/, `${protocol} ${file}`);
    }
  }
  assert.equal(resolveOtlpExporterConfig({ OTEL_EXPORTER_OTLP_ENDPOINT: "https://collector:4318", OTEL_EXPORTER_OTLP_CERTIFICATE: pki.files.ca }, "traces", undefined).unusable, undefined, "a real CA is fine");
  // The other labels Node's CA loader takes (p11-kit's bundles use TRUSTED CERTIFICATE), and a bundle with text before its first block.
  for (const [label, prefix] of [["X509 CERTIFICATE", ""], ["CERTIFICATE", "# Our CA\nsubject=...\n"]] as const) {
    const file = join(pki.dir, `${label.replace(" ", "-")}.pem`);
    await writeFile(file, prefix + pki.ca.toString("latin1").replaceAll("CERTIFICATE-----", `${label}-----`));
    assert.equal(resolveOtlpExporterConfig({ OTEL_EXPORTER_OTLP_ENDPOINT: "https://collector:4318", OTEL_EXPORTER_OTLP_CERTIFICATE: file }, "traces", undefined).unusable, undefined, label);
  }
  // A real trusted-form certificate (trust settings appended), as p11-kit bundles hold it.
  const trusted = join(pki.dir, "trusted.pem");
  await new Promise<void>((done, fail) =>
    execFile("openssl", ["x509", "-in", pki.files.ca, "-addtrust", "serverAuth", "-trustout", "-out", trusted], (error) => (error ? fail(error) : done())),
  );
  assert.match(await readFile(trusted, "latin1"), /BEGIN TRUSTED CERTIFICATE/);
  assert.equal(resolveOtlpExporterConfig({ OTEL_EXPORTER_OTLP_ENDPOINT: "https://collector:4318", OTEL_EXPORTER_OTLP_CERTIFICATE: trusted }, "traces", undefined).unusable, undefined, "TRUSTED CERTIFICATE");
  // Labels that do not pair up, and a trusted block of garbage: OpenSSL loads nothing from them.
  const body = pki.ca.toString("latin1");
  for (const [name, text] of [
    ["begin-x509", body.replace("BEGIN CERTIFICATE", "BEGIN X509 CERTIFICATE")],
    ["end-x509", body.replace("END CERTIFICATE", "END X509 CERTIFICATE")],
    ["trusted-garbage", "-----BEGIN TRUSTED CERTIFICATE-----\nAAAA\n-----END TRUSTED CERTIFICATE-----\n"],
  ] as const) {
    const file = join(pki.dir, `${name}.pem`);
    await writeFile(file, text);
    assert.match(resolveOtlpExporterConfig({ OTEL_EXPORTER_OTLP_ENDPOINT: "https://collector:4318", OTEL_EXPORTER_OTLP_CERTIFICATE: file }, "traces", undefined).unusable ?? "", /not a usable PEM certificate/, name);
  }
  const badFiles = { OTEL_EXPORTER_OTLP_CERTIFICATE: notPem, OTEL_EXPORTER_OTLP_CLIENT_CERTIFICATE: notPem, OTEL_EXPORTER_OTLP_CLIENT_KEY: notPem };
  for (const plain of [
    { OTEL_EXPORTER_OTLP_ENDPOINT: "http://collector:4318" },
    { OTEL_EXPORTER_OTLP_ENDPOINT: "http://collector:4317", OTEL_EXPORTER_OTLP_PROTOCOL: "grpc" },
    { OTEL_EXPORTER_OTLP_ENDPOINT: "collector:4317", OTEL_EXPORTER_OTLP_PROTOCOL: "grpc", OTEL_EXPORTER_OTLP_INSECURE: "true" },
  ]) {
    const config = resolveOtlpExporterConfig({ ...plain, ...badFiles }, "traces", undefined);
    assert.equal(config.unusable, undefined, JSON.stringify(plain));
    assert.deepEqual(config.problems.filter((p) => p.includes("usable")), [], JSON.stringify(plain));
  }
});

test("TLS files meant for a plaintext endpoint are reported; files for all signals beside one signal's plain collector are not", () => {
  const files = { OTEL_EXPORTER_OTLP_CERTIFICATE: "/etc/ca.pem" };
  const plaintext = (env: Record<string, string>, signal: "traces" | "logs" = "traces"): string[] =>
    resolveOtlpExporterConfig(env, signal, undefined).problems.filter((p) => p.includes("plaintext"));
  // Both for every signal: the operator meant TLS.
  assert.deepEqual(plaintext({ ...files, OTEL_EXPORTER_OTLP_ENDPOINT: "http://collector:4318" }), [
    "OTEL_EXPORTER_OTLP_CERTIFICATE set, but the traces endpoint 'http://collector:4318/v1/traces' is plaintext; the TLS files are not used (an https:// endpoint uses them)",
  ]);
  // No endpoint: the default one is plaintext.
  assert.equal(plaintext({ ...files }).length, 1);
  // gRPC without a scheme, told to be insecure.
  assert.equal(plaintext({ ...files, OTEL_EXPORTER_OTLP_PROTOCOL: "grpc", OTEL_EXPORTER_OTLP_ENDPOINT: "collector:4317", OTEL_EXPORTER_OTLP_INSECURE: "true" }).length, 1);
  // A signal's own files with its own plaintext endpoint.
  assert.deepEqual(
    plaintext({ OTEL_EXPORTER_OTLP_LOGS_CLIENT_CERTIFICATE: "/c.pem", OTEL_EXPORTER_OTLP_LOGS_CLIENT_KEY: "/k.pem", OTEL_EXPORTER_OTLP_LOGS_ENDPOINT: "http://logs:4318/v1/logs" }, "logs"),
    ["OTEL_EXPORTER_OTLP_LOGS_CLIENT_CERTIFICATE, OTEL_EXPORTER_OTLP_LOGS_CLIENT_KEY set, but the logs endpoint 'http://logs:4318/v1/logs' is plaintext; the TLS files are not used (an https:// endpoint uses them)"],
  );
  // Files for every signal, one signal sent to its own plain collector: a deliberate split.
  assert.deepEqual(plaintext({ ...files, OTEL_EXPORTER_OTLP_ENDPOINT: "https://collector:4318", OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: "http://jaeger:4318/v1/traces" }), []);
  // TLS endpoints never get the warning.
  assert.deepEqual(plaintext({ ...files, OTEL_EXPORTER_OTLP_ENDPOINT: "https://collector:4318" }), []);
});

test("warnings name the per-signal variable when that is the one read", () => {
  const config = resolveOtlpExporterConfig({ OTEL_EXPORTER_OTLP_TRACES_PROTOCOL: "grpcs", OTEL_EXPORTER_OTLP_TRACES_TIMEOUT: "5s", OTEL_EXPORTER_OTLP_TRACES_COMPRESSION: "br" }, "traces", undefined);
  assert.deepEqual(config.problems, [
    "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL: unsupported protocol 'grpcs', using http/protobuf",
    "OTEL_EXPORTER_OTLP_TRACES_TIMEOUT: '5s' is not a non-negative number of milliseconds (0 is no timeout)",
    "OTEL_EXPORTER_OTLP_TRACES_COMPRESSION: unsupported 'br', using none",
  ]);
  assert.match(resolveOtlpExporterConfig({ OTEL_EXPORTER_OTLP_PROTOCOL: "grpcs" }, "traces", undefined).problems[0]!, /^OTEL_EXPORTER_OTLP_PROTOCOL: /);
});

test("gRPC with a header grpc-js refuses: the gateway starts, proxies, and exports with the headers it can send", async (t) => {
  const { rx, gw } = await startRig(t, {
    transport: "grpc",
    env: (rx) => ({ ...FAST, OTEL_EXPORTER_OTLP_PROTOCOL: "grpc", OTEL_EXPORTER_OTLP_ENDPOINT: rx.url, OTEL_EXPORTER_OTLP_HEADERS: "api key=s3cret,x-tenant=acme" }),
  });
  assert.equal((await get(gw.url(8080, "/api/x"))).status, 200);
  await rx.waitForSpans((s) => s.length >= 1);
  assert.equal(rx.requests.at(-1)!.headers["x-tenant"], "acme");
  const warned = gw.warnings.map((w) => w.message).filter((m) => m.startsWith("OTEL_EXPORTER_OTLP_HEADERS"));
  assert.ok(warned.some((m) => m.includes("header 'api key' not sent")), JSON.stringify(gw.warnings));
  assert.ok(!JSON.stringify(gw.warnings).includes("s3cret"));
});

test("the gateway process reads the same variables the SDK would: a refused header stays out over gRPC and HTTP", async (t) => {
  for (const transport of ["grpc", "http"] as const) {
    await t.test(transport, async (t) => {
      // Here the variables are the process's own, where the SDK's option converters would read them again.
      const { rx, gw } = await startProcessRig(t, {
        transport,
        env: (rx) => ({
          ...FAST,
          OTEL_EXPORTER_OTLP_PROTOCOL: transport === "grpc" ? "grpc" : "http/protobuf",
          OTEL_EXPORTER_OTLP_ENDPOINT: rx.url,
          OTEL_EXPORTER_OTLP_HEADERS: "api key=s3cret,x-tenant=acme",
        }),
      });
      assert.equal((await httpRequest(gw.url(8080, "/api/x"))).status, 200);
      await rx.waitForSpans((s) => s.length >= 1);
      const sent = rx.requests.at(-1)!.headers;
      assert.equal(sent["x-tenant"], "acme");
      assert.ok(!Object.keys(sent).some((k) => k.includes("api")), JSON.stringify(sent));
      assert.match(gw.stderr(), /OTEL_EXPORTER_OTLP_HEADERS: header 'api key' not sent/);
      assert.ok(!gw.stderr().includes("s3cret"));
    });
  }
});

test("a client key that is not PEM: reported once at start, the gateway proxies, every span is counted as dropped", async (t) => {
  const pki = await createTestPki();
  t.after(() => pki.remove());
  const notPem = join(pki.dir, "not-a-key.pem");
  await writeFile(notPem, "this is not a key\n");
  for (const protocol of ["grpc", "http/protobuf"] as const) {
    await t.test(protocol, async (t) => {
      const { rx, gw } = await startRig(t, {
        transport: protocol === "grpc" ? "grpc" : "http",
        env: (rx) => ({
          ...FAST,
          OTEL_EXPORTER_OTLP_PROTOCOL: protocol,
          OTEL_EXPORTER_OTLP_ENDPOINT: rx.url.replace("http://", "https://"),
          OTEL_EXPORTER_OTLP_CERTIFICATE: pki.files.ca,
          OTEL_EXPORTER_OTLP_CLIENT_CERTIFICATE: pki.files.clientCert,
          OTEL_EXPORTER_OTLP_TRACES_CLIENT_KEY: notPem,
        }),
      });
      const startWarnings = gw.warnings.map((w) => w.message).filter((m) => m.includes("not a usable PEM"));
      assert.equal(startWarnings.length, 1, JSON.stringify(gw.warnings));
      assert.match(startWarnings[0]!, /^OTEL_EXPORTER_OTLP_CLIENT_CERTIFICATE and OTEL_EXPORTER_OTLP_TRACES_CLIENT_KEY: not a usable PEM certificate and matching key \(.+\); nothing of this signal is exported$/);
      assert.equal((await get(gw.url(8080, "/api/x"))).status, 200);
      await gw.telemetry.flush(2000);
      assert.equal(gw.telemetry.drops.get("traces", "export_failed"), 2, "the SERVER and CLIENT spans");
      assert.equal(rx.spans.length, 0);
    });
  }
});
