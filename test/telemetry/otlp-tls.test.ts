// OTLP export over TLS and mutual TLS from a real gateway process: OTEL_EXPORTER_OTLP_CERTIFICATE,
// _CLIENT_CERTIFICATE and _CLIENT_KEY, over gRPC and http/protobuf, on the request thread and
// on the export thread. The certificates are made fresh by openssl for each run.
//
// The receiver is a TLS listener that demands and verifies a client certificate
// (requestCert + rejectUnauthorized, Node's own TLS stack) in front of the in-process OTLP
// receiver, which decodes with the official protos. The listener records the subject each
// accepted peer presented and counts refused handshakes; after the handshake it forwards the
// bytes untouched (HTTP/2 for gRPC via ALPN h2, HTTP/1.1 for http/protobuf).
import { test } from "node:test";
import assert from "node:assert/strict";
import { connect as netConnect, type AddressInfo, type Socket } from "node:net";
import { createServer as createTlsServer, type TLSSocket } from "node:tls";
import { httpRequest, startGateway, type GatewayProcess } from "../support/gateway-process.ts";
import { startOtlpReceiver, type OtlpReceiver } from "../support/otlp-receiver.ts";
import { startUpstream } from "../support/upstreams.ts";
import { createTestPki, type TestPki } from "../support/test-certs.ts";
import { gatewayYaml } from "./harness.ts";

interface AcceptedPeer {
  readonly authorized: boolean;
  readonly subjectCN: string;
  readonly issuerCN: string;
  readonly alpn: string | false | null;
}

interface MtlsReceiver {
  readonly rx: OtlpReceiver;
  /** `https://127.0.0.1:<port>`: the TLS listener, for OTEL_EXPORTER_OTLP_ENDPOINT. */
  readonly url: string;
  readonly port: number;
  /** Peers whose certificate was verified against the CA, in connection order. */
  readonly accepted: AcceptedPeer[];
  /** Handshakes the listener refused (no client certificate, or the client gave up on ours). */
  refused(): number;
  close(): Promise<void>;
}

async function startMtlsReceiver(transport: "grpc" | "http", pki: TestPki): Promise<MtlsReceiver> {
  const rx = await startOtlpReceiver(transport);
  const accepted: AcceptedPeer[] = [];
  const sockets = new Set<Socket>();
  let refused = 0;
  const track = (s: Socket): void => {
    sockets.add(s);
    s.on("close", () => sockets.delete(s));
    s.on("error", () => s.destroy());
  };
  const server = createTlsServer(
    {
      ca: pki.ca,
      cert: pki.server.cert,
      key: pki.server.key,
      requestCert: true,
      rejectUnauthorized: true,
      ALPNProtocols: ["h2", "http/1.1"],
    },
    (socket: TLSSocket) => {
      track(socket);
      const peer = socket.getPeerCertificate();
      accepted.push({ authorized: socket.authorized, subjectCN: String(peer.subject?.CN ?? ""), issuerCN: String(peer.issuer?.CN ?? ""), alpn: socket.alpnProtocol });
      const inner = netConnect(rx.port, "127.0.0.1");
      track(inner);
      socket.pipe(inner).pipe(socket);
      inner.on("close", () => socket.destroy());
      socket.on("close", () => inner.destroy());
    },
  );
  server.on("tlsClientError", (_err, socket) => {
    refused++;
    socket.destroy();
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    rx,
    url: `https://127.0.0.1:${port}`,
    port,
    accepted,
    refused: () => refused,
    async close() {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await rx.close();
    },
  };
}

/** Polls until `probe` returns a value (not undefined); fails after `timeoutMs` naming `what`. */
async function until<T>(what: string, probe: () => Promise<T | undefined> | T | undefined, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await probe();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** tollgate_telemetry_dropped_total for one signal, summed over reasons, from /metrics. */
async function droppedOnMetrics(gw: GatewayProcess, signal: string): Promise<number> {
  const m = await httpRequest(gw.opsUrl("/metrics"));
  assert.equal(m.status, 200);
  let n = 0;
  for (const x of m.body.matchAll(/^tollgate_telemetry_dropped_total\{([^}]*)\} (\S+)$/gm)) {
    if (x[1]!.includes(`signal="${signal}"`)) n += Number(x[2]);
  }
  return n;
}

const PROTOCOLS = [
  { protocol: "grpc", transport: "grpc" as const },
  { protocol: "http/protobuf", transport: "http" as const },
];

function tlsEnv(pki: TestPki, rx: MtlsReceiver, protocol: string, thread: boolean): Record<string, string> {
  return {
    OTEL_EXPORTER_OTLP_ENDPOINT: rx.url,
    OTEL_EXPORTER_OTLP_PROTOCOL: protocol,
    OTEL_EXPORTER_OTLP_CERTIFICATE: pki.files.ca,
    OTEL_EXPORTER_OTLP_CLIENT_CERTIFICATE: pki.files.clientCert,
    OTEL_EXPORTER_OTLP_CLIENT_KEY: pki.files.clientKey,
    OTEL_BSP_SCHEDULE_DELAY: "20",
    OTEL_BLRP_SCHEDULE_DELAY: "20",
    OTEL_LOGS_EXPORTER: "otlp",
    // Metrics stay on /metrics, where the negative cases read the drop counter.
    OTEL_METRICS_EXPORTER: "prometheus",
    TOLLGATE_TELEMETRY_EXPORT_THREAD: String(thread),
    TOLLGATE_TELEMETRY_SHUTDOWN_TIMEOUT_MS: "3000",
  };
}

for (const { protocol, transport } of PROTOCOLS) {
  for (const thread of [false, true]) {
    test(`mTLS over ${protocol}${thread ? " from the export thread" : ""}: the span and access log arrive, and the collector saw the gateway's client certificate`, async (t) => {
      const pki = await createTestPki();
      t.after(() => pki.remove());
      const mtls = await startMtlsReceiver(transport, pki);
      t.after(() => mtls.close());
      const upstream = await startUpstream("tls-upstream");
      t.after(() => upstream.close());
      const gw = await startGateway({ config: gatewayYaml({ upstreamPort: upstream.port }), env: tlsEnv(pki, mtls, protocol, thread) });
      t.after(() => gw.stop());

      const res = await httpRequest(gw.url(8080, "/api/over-tls"));
      assert.equal(res.status, 200);
      assert.equal((JSON.parse(res.body) as { upstream: string }).upstream, "tls-upstream");

      const spans = await mtls.rx.waitForSpans((s) => s.some((x) => x.kind === 2));
      const server = spans.find((s) => s.kind === 2)!;
      assert.equal(server.attributes["url.path"], "/api/over-tls");
      assert.equal(server.attributes["http.response.status_code"], 200);
      const logs = await mtls.rx.waitForLogs((l) => l.length >= 1);
      assert.equal(logs[0]!.eventName, "tollgate.access");
      assert.equal(logs[0]!.spanId, server.spanId);

      assert.ok(mtls.accepted.length >= 1, "the gateway connected over TLS");
      for (const peer of mtls.accepted) {
        assert.deepEqual(peer, {
          authorized: true,
          subjectCN: pki.names.client,
          issuerCN: pki.names.ca,
          alpn: transport === "grpc" ? "h2" : false,
        });
      }
      const signals = new Set(mtls.rx.requests.map((r) => r.signal));
      assert.ok(signals.has("traces") && signals.has("logs"), `traces and logs both came over mTLS (got ${[...signals].join(", ")})`);
      assert.equal(mtls.refused(), 0, "no refused handshakes");
    });
  }

  const negatives = [
    {
      name: "without a client certificate the collector refuses the handshake",
      env: { OTEL_EXPORTER_OTLP_CLIENT_CERTIFICATE: undefined, OTEL_EXPORTER_OTLP_CLIENT_KEY: undefined },
    },
    {
      name: "without OTEL_EXPORTER_OTLP_CERTIFICATE the gateway does not trust the collector's certificate",
      env: { OTEL_EXPORTER_OTLP_CERTIFICATE: undefined },
    },
  ];
  for (const negative of negatives) {
    test(`TLS over ${protocol}, ${negative.name}: no data arrives, drops are counted and warned about, proxying keeps answering 200`, async (t) => {
      const pki = await createTestPki();
      t.after(() => pki.remove());
      const mtls = await startMtlsReceiver(transport, pki);
      t.after(() => mtls.close());
      const upstream = await startUpstream("tls-upstream");
      t.after(() => upstream.close());
      const gw = await startGateway({
        config: gatewayYaml({ upstreamPort: upstream.port }),
        env: { ...tlsEnv(pki, mtls, protocol, false), OTEL_EXPORTER_OTLP_TIMEOUT: "2000", ...negative.env },
      });
      t.after(() => gw.stop());

      const sent = 5;
      for (let i = 0; i < sent; i++) {
        const res = await httpRequest(gw.url(8080, `/api/refused/${i}`));
        assert.equal(res.status, 200, "proxying is unaffected by the failing exporter");
      }
      // Every request made a SERVER and a CLIENT span and one access log; all must be counted.
      const droppedSpans = await until("all spans counted as dropped", async () => {
        const n = await droppedOnMetrics(gw, "traces");
        return n >= 2 * sent ? n : undefined;
      });
      assert.equal(droppedSpans, 2 * sent);
      assert.equal(await until("all access logs counted as dropped", async () => {
        const n = await droppedOnMetrics(gw, "logs");
        return n >= sent ? n : undefined;
      }), sent);
      const warning = await gw.waitForLog((l) => String(l.msg).startsWith("telemetry export to") && String(l.msg).includes(`127.0.0.1:${mtls.port}`));
      assert.equal(warning.level, "warn");

      assert.ok(mtls.refused() >= 1, "the gateway did try to connect, and the handshake failed");
      assert.deepEqual(mtls.accepted, [], "no connection got past the TLS handshake");
      assert.equal(mtls.rx.requests.length, 0, "nothing reached the receiver");
      assert.equal(mtls.rx.spans.length, 0);
      assert.equal(mtls.rx.logs.length, 0);
    });
  }
}
