// A request on an HTTPS listener in the exported telemetry, decoded from OTLP: the SERVER span,
// the access-log record and the request duration metric say `url.scheme: https`, and a Host
// without a port is port 443. What each handshake settled reaches the access log through
// Envoy's TLS operators and CEL's connection.* fields.
import { type TestContext, test } from "node:test";
import assert from "node:assert/strict";
import https from "node:https";
import { type OtlpReceiver, startOtlpReceiver } from "../support/otlp-receiver.ts";
import { createTestPki, issueServerCertificate } from "../support/test-certs.ts";
import type { TLSSocket } from "node:tls";
import { gatewayYaml, otelAccessLogPolicyYaml, startTracedGateway, startUpstream } from "./harness.ts";

const FAST = { OTEL_BSP_SCHEDULE_DELAY: "20", OTEL_BLRP_SCHEDULE_DELAY: "20", OTEL_METRIC_EXPORT_INTERVAL: "100" };

/**
 * A test CA with shop.example's certificate, an OTLP receiver and an upstream (all removed
 * after the test), and the harness Gateway's YAML with its listener on 8080 made HTTPS with
 * that certificate; `extra` adds documents.
 */
async function httpsRig(t: TestContext, receiver: "http" | "grpc", extra: (rx: OtlpReceiver) => string = () => "") {
  const pki = await createTestPki();
  t.after(() => pki.remove());
  const pair = await issueServerCertificate(pki, "shop", ["shop.example"]);
  const rx = await startOtlpReceiver(receiver);
  t.after(() => rx.close());
  const upstream = await startUpstream();
  t.after(() => upstream.close());
  const yaml = gatewayYaml({
    upstreamPort: upstream.port,
    extra: `apiVersion: v1
kind: Secret
metadata: {name: shop-tls, namespace: kgateway-system}
type: kubernetes.io/tls
data: {tls.crt: ${pair.cert.toString("base64")}, tls.key: ${pair.key.toString("base64")}}
${extra(rx)}`,
  }).replace("{name: http, protocol: HTTP, port: 8080,", "{name: https, protocol: HTTPS, port: 8080, tls: {certificateRefs: [{name: shop-tls}]},");
  return { pki, rx, yaml };
}

test("a request over TLS: url.scheme https on the SERVER span, the access log and the duration metric; server.port 443", async (t) => {
  const { pki, rx, yaml } = await httpsRig(t, "http");
  const gw = await startTracedGateway(yaml, { ...FAST, OTEL_EXPORTER_OTLP_ENDPOINT: rx.url });
  t.after(() => gw.close());
  const port = Number(new URL(gw.url(8080, "/")).port);

  const status = await new Promise<number>((resolve, reject) => {
    const req = https.request({ host: "127.0.0.1", port, path: "/api/secure?x=1", servername: "shop.example", headers: { host: "shop.example" }, ca: pki.ca, agent: false }, (res) => {
      res.resume();
      res.on("end", () => resolve(res.statusCode ?? 0));
    });
    req.on("error", reject);
    req.end();
  });
  assert.equal(status, 200);

  const spans = await rx.waitForSpans((s) => s.some((x) => x.kind === 2));
  const server = spans.find((s) => s.kind === 2)!;
  assert.equal(server.attributes["url.scheme"], "https");
  assert.equal(server.attributes["server.address"], "shop.example");
  assert.equal(server.attributes["server.port"], 443);
  assert.equal(server.attributes["url.path"], "/api/secure");

  const logs = await rx.waitForLogs((l) => l.some((r) => r.attributes["url.path"] === "/api/secure"));
  assert.equal(logs.find((r) => r.attributes["url.path"] === "/api/secure")!.attributes["url.scheme"], "https");

  const metrics = await rx.waitForMetrics((m) => m.some((x) => x.name === "http.server.request.duration"));
  const duration = metrics.find((m) => m.name === "http.server.request.duration")!;
  const points = (duration.data as { histogram: { dataPoints: { attributes: { key: string; value: Record<string, unknown> }[] }[] } }).histogram.dataPoints;
  const schemes = points.map((p) => Object.values(p.attributes.find((kv) => kv.key === "url.scheme")!.value)[0]);
  assert.deepEqual(schemes, ["https"]);
});

test("the TLS operators and CEL fields: each request's SNI name, TLS version and cipher as its client negotiated them", async (t) => {
  const { pki, rx, yaml } = await httpsRig(t, "grpc", (receiver) =>
    "---\n" +
    otelAccessLogPolicyYaml("tls", receiver.port, '      body: "%REQ(:PATH)%|%REQUESTED_SERVER_NAME%|%DOWNSTREAM_TLS_VERSION%|%DOWNSTREAM_TLS_CIPHER%"\n').replace(
      "  - openTelemetry:",
      `  - filter: {celFilter: {match: 'connection.requested_server_name == "shop.example" && connection.tls_version != ""'}}\n    openTelemetry:`,
    ),
  );
  const gw = await startTracedGateway(yaml, { ...FAST, OTEL_EXPORTER_OTLP_ENDPOINT: rx.url, OTEL_EXPORTER_OTLP_PROTOCOL: "grpc", OTEL_METRICS_EXPORTER: "none" });
  t.after(() => gw.close());
  const port = Number(new URL(gw.url(8080, "/")).port);

  /** One request; what its client's handshake settled. */
  const send = (path: string, servername: string, maxVersion: "TLSv1.2" | "TLSv1.3"): Promise<{ version: string; cipher: string }> =>
    new Promise((resolve, reject) => {
      // Without SNI the client would check the certificate against 127.0.0.1; the CA check stays.
      const identity = servername === "" ? { checkServerIdentity: () => undefined } : {};
      const req = https.request({ host: "127.0.0.1", port, path, servername, maxVersion, headers: { host: "shop.example" }, ca: pki.ca, agent: false, ...identity }, (res) => {
        const socket = res.socket as TLSSocket;
        const settled = { version: socket.getProtocol() ?? "", cipher: socket.getCipher().name };
        assert.equal(res.statusCode, 200);
        res.resume();
        res.on("end", () => resolve(settled));
      });
      req.on("error", reject);
      req.end();
    });
  // First: records leave in the order their requests ended, so one for it would come before the others'.
  await send("/api/no-sni", "", "TLSv1.3");
  const modern = await send("/api/tls13", "shop.example", "TLSv1.3");
  const older = await send("/api/tls12", "shop.example", "TLSv1.2");
  assert.equal(modern.version, "TLSv1.3");
  assert.equal(older.version, "TLSv1.2");

  const logs = await rx.waitForLogs((l) => l.some((r) => String(r.body).startsWith("/api/tls12|")));
  assert.deepEqual(
    logs.map((l) => String(l.body)),
    [`/api/tls13|shop.example|TLSv1.3|${modern.cipher}`, `/api/tls12|shop.example|TLSv1.2|${older.cipher}`],
    "the request without SNI fails connection.requested_server_name and is not logged",
  );
});
