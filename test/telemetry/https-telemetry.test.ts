// A request on an HTTPS listener in the exported telemetry, decoded from OTLP: the SERVER span,
// the access-log record and the request duration metric say `url.scheme: https`, and a Host
// without a port is port 443. What each handshake settled reaches the access log through
// Envoy's TLS operators and CEL's connection.* fields, and so does the client certificate on a
// port that checks them.
import { type TestContext, test } from "node:test";
import assert from "node:assert/strict";
import https from "node:https";
import { type OtlpReceiver, startOtlpReceiver } from "../support/otlp-receiver.ts";
import { X509Certificate } from "node:crypto";
import { type PemPair, createTestPki, issueClientCertificate, issueServerCertificate } from "../support/test-certs.ts";
import type { TLSSocket } from "node:tls";
import { httpsGatewayYaml, httpsStatus, otelAccessLogPolicyYaml, startTracedGateway, startUpstream, withClientValidation } from "./harness.ts";

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
  const yaml = httpsGatewayYaml(upstream.port, pair, extra(rx));
  return { pki, rx, yaml };
}

test("a request over TLS: url.scheme https on the SERVER span, the access log and the duration metric; server.port 443", async (t) => {
  const { pki, rx, yaml } = await httpsRig(t, "http");
  const gw = await startTracedGateway(yaml, { ...FAST, OTEL_EXPORTER_OTLP_ENDPOINT: rx.url });
  t.after(() => gw.close());
  const port = Number(new URL(gw.url(8080, "/")).port);

  const status = await httpsStatus({ port, path: "/api/secure?x=1", servername: "shop.example", headers: { host: "shop.example" }, ca: pki.ca });
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

test("a client certificate on a port that checks them: Envoy's %DOWNSTREAM_PEER_*% operators and CEL's connection.mtls and *_peer_certificate fields", async (t) => {
  const [clientPki, strangerPki] = await Promise.all([createTestPki("tollgate-pki-client-"), createTestPki("tollgate-pki-stranger-")]);
  t.after(() => Promise.all([clientPki.remove(), strangerPki.remove()]));
  const spiffeId = "spiffe://cluster.local/ns/shop/sa/web";
  const workload = await issueClientCertificate(clientPki, "workload", "/O=Acme, Inc/OU=shop/CN=workload one", { uris: [spiffeId], dnsNames: ["Web.Shop.svc", "web.shop"] });
  const leaf = new X509Certificate(workload.cert);
  const sha256 = leaf.fingerprint256.replaceAll(":", "").toLowerCase();
  // Same subject and names from an untrusted CA: only connection.mtls tells it apart.
  const impostor = await issueClientCertificate(strangerPki, "impostor", "/O=Acme, Inc/OU=shop/CN=workload one", { uris: [spiffeId], dnsNames: ["Web.Shop.svc", "web.shop"] });
  const filter = `connection.mtls && connection.subject_peer_certificate == "CN=workload one,OU=shop,O=Acme\\\\, Inc" && connection.uri_san_peer_certificate == "${spiffeId}" && connection.dns_san_peer_certificate == "Web.Shop.svc" && connection.sha256_peer_certificate_digest.size() == 64`;
  const { pki, rx, yaml } = await httpsRig(t, "grpc", (receiver) =>
    "---\n" +
    otelAccessLogPolicyYaml("mtls", receiver.port, '      body: "%REQ(:PATH)%|%DOWNSTREAM_PEER_SUBJECT%|%DOWNSTREAM_PEER_ISSUER%|%DOWNSTREAM_PEER_URI_SAN%|%DOWNSTREAM_PEER_DNS_SAN%|%DOWNSTREAM_PEER_FINGERPRINT_256%|%DOWNSTREAM_PEER_SERIAL%"\n').replace(
      "  - openTelemetry:",
      `  - filter: {celFilter: {match: '${filter}'}}\n    openTelemetry:`,
    ),
  );
  const gw = await startTracedGateway(withClientValidation(yaml, clientPki.ca, "AllowInsecureFallback"), { ...FAST, OTEL_EXPORTER_OTLP_ENDPOINT: rx.url, OTEL_EXPORTER_OTLP_PROTOCOL: "grpc", OTEL_METRICS_EXPORTER: "none" });
  t.after(() => gw.close());
  const port = Number(new URL(gw.url(8080, "/")).port);

  const send = (path: string, client: PemPair | undefined): Promise<number> =>
    httpsStatus({ port, path, servername: "shop.example", ca: pki.ca, ...(client === undefined ? {} : { cert: client.cert, key: client.key }) });
  // AllowInsecureFallback serves all three; only the verified certificate passes the filter.
  // First: records leave in the order their requests ended.
  assert.equal(await send("/api/impostor", impostor), 200);
  assert.equal(await send("/api/anonymous", undefined), 200);
  assert.equal(await send("/api/workload", workload), 200);

  const logs = await rx.waitForLogs((l) => l.some((r) => String(r.body).startsWith("/api/workload|")));
  assert.deepEqual(logs.map((l) => String(l.body)), [
    `/api/workload|CN=workload one,OU=shop,O=Acme\\, Inc|CN=${clientPki.names.ca}|${spiffeId}|Web.Shop.svc,web.shop|${sha256}|${leaf.serialNumber.toLowerCase()}`,
  ]);
});
