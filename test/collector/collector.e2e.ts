// Tollgate against the real OpenTelemetry Collector (scripts/build-collector.sh): every
// exporter protocol with gzip on and off, and the bearertokenauth extension accepting the
// right token and rejecting a wrong or missing one. Assertions are on what the collector's
// file exporter wrote, plus the bytes on the wire for the encoding.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { TELEMETRY_REGISTRY } from "../../src/telemetry/registry.ts";
import { startCollector, type RunningCollector } from "./collector-process.ts";
import { logsOf, pointsOf, spansOf, total, type FileLog, type FilePoint, type FileSpan } from "./otlp-json.ts";
import { eventually, runTraffic, startUpstream, type Upstream } from "./traffic.ts";
import { grpcCompressedFlags, httpExports, httpStatuses, startWireTap } from "./wire-tap.ts";

const REQUESTS = 5;
const SERVER = 2;
const CLIENT = 3;
type Protocol = "grpc" | "http/protobuf" | "http/json";

let collector: RunningCollector;
let upstream: Upstream;

before(async () => {
  collector = await startCollector();
  upstream = await startUpstream();
});
after(async () => {
  await upstream?.close();
  await collector?.stop();
});

interface Received {
  readonly spans: FileSpan[];
  readonly logs: FileLog[];
  readonly points: FilePoint[];
}

function receivedFor(service: string): Received {
  const mine = <T extends { resource: Record<string, unknown> }>(items: T[]): T[] => items.filter((i) => i.resource["service.name"] === service);
  return {
    spans: mine(spansOf(collector.read("traces"))),
    logs: mine(logsOf(collector.read("logs"))),
    points: mine(pointsOf(collector.read("metrics"))),
  };
}

const metricTotal = (r: Received, name: string): number => total(r.points.filter((p) => p.metric === name));

function complete(r: Received): boolean {
  return (
    r.spans.length >= 2 * REQUESTS &&
    r.logs.length >= REQUESTS &&
    metricTotal(r, "http.server.request.duration") >= REQUESTS &&
    metricTotal(r, "http.client.request.duration") >= REQUESTS
  );
}

/** Everything the collector must hold for one run of REQUESTS proxied requests. */
function assertRun(r: Received, upstreamTraceparents: readonly string[], service: string): void {
  const servers = r.spans.filter((s) => s.kind === SERVER);
  const clients = r.spans.filter((s) => s.kind === CLIENT);
  assert.equal(servers.length, REQUESTS, "one SERVER span per request");
  assert.equal(clients.length, REQUESTS, "one CLIENT span per upstream attempt");
  for (const server of servers) {
    const route = server.attributes["http.route"];
    assert.equal(typeof route, "string");
    assert.match(String(route), /^\/echo/);
    assert.equal(server.name, `GET ${String(route)}`);
    assert.equal(server.attributes["http.request.method"], "GET");
    assert.equal(server.attributes["http.response.status_code"], 200);
    assert.equal(server.parentSpanId, "", "a request without context starts a root span at the edge");
    assert.equal(server.statusCode, 0);
  }
  for (const client of clients) {
    const parent = servers.find((s) => s.spanId === client.parentSpanId);
    assert.ok(parent, "every CLIENT span is a child of a SERVER span");
    assert.equal(client.traceId, parent.traceId);
    assert.equal(client.name, "GET");
    assert.equal(client.attributes["http.response.status_code"], 200);
  }
  // The upstream saw the CLIENT span's context.
  const sentUpstream = upstreamTraceparents.map((tp) => tp.split("-").slice(1, 3).join("-")).sort();
  assert.deepEqual(sentUpstream, clients.map((c) => `${c.traceId}-${c.spanId}`).sort());

  // Access logs carry their SERVER span's ids.
  assert.equal(r.logs.length, REQUESTS, "one access-log record per request");
  assert.deepEqual(
    r.logs.map((l) => `${l.traceId}/${l.spanId}`).sort(),
    servers.map((s) => `${s.traceId}/${s.spanId}`).sort(),
  );
  const eventNames = TELEMETRY_REGISTRY.logRecords.map((l) => l.eventName);
  for (const log of r.logs) {
    assert.ok(log.severityNumber >= 9 && log.severityNumber <= 12, "INFO for a 200");
    assert.ok(eventNames.includes(log.eventName), `EventName ${log.eventName} is registered`);
    assert.equal(log.attributes["http.response.status_code"], 200);
    assert.match(String(log.attributes["url.path"]), /^\/echo\/\d$/);
  }

  // Metrics count every request once.
  assert.equal(metricTotal(r, "http.server.request.duration"), REQUESTS);
  assert.equal(metricTotal(r, "http.client.request.duration"), REQUESTS);
  for (const p of r.points.filter((p) => p.metric === "http.server.request.duration")) {
    assert.equal(p.unit, "s");
    assert.equal(p.attributes["url.path"], undefined, "no url.path on metrics");
    assert.match(String(p.attributes["http.route"]), /^\/echo/);
  }

  // One resource on all three signals.
  const resources = new Set([...r.spans, ...r.logs, ...r.points].map((i) => JSON.stringify(Object.entries(i.resource).sort())));
  assert.equal(resources.size, 1, "traces, logs and metrics share one resource");
  assert.equal(r.spans[0]?.resource["service.name"], service);
}

const PROTOCOLS: readonly Protocol[] = ["grpc", "http/protobuf", "http/json"];

describe("Tollgate → OpenTelemetry Collector", { timeout: 300_000 }, () => {
  for (const protocol of PROTOCOLS) {
    for (const gzip of [true, false]) {
      it(`${protocol}, gzip ${gzip ? "on" : "off"}: spans, correlated access logs and metric counts arrive`, async (t) => {
        const service = `tollgate-e2e-${protocol.replace("/", "-")}-${gzip ? "gzip" : "plain"}`;
        const tap = await startWireTap(protocol === "grpc" ? collector.endpoints.grpc : collector.endpoints.http);
        t.after(() => tap.close());

        const run = await runTraffic(upstream, {
          OTEL_EXPORTER_OTLP_ENDPOINT: tap.url,
          OTEL_EXPORTER_OTLP_PROTOCOL: protocol,
          OTEL_EXPORTER_OTLP_COMPRESSION: gzip ? "gzip" : "none",
          OTEL_SERVICE_NAME: service,
        }, REQUESTS);

        const received = await eventually(() => receivedFor(service), complete);
        assertRun(received, run.upstreamTraceparents, service);

        if (protocol === "grpc") {
          const flags = grpcCompressedFlags(tap);
          assert.ok(flags.length >= 3, `gRPC export messages seen on the wire: ${flags.length}`);
          assert.deepEqual([...new Set(flags)], [gzip ? 1 : 0], "every gRPC message compressed exactly when gzip is on");
        } else {
          const exports = httpExports(tap);
          assert.deepEqual([...new Set(exports.map((e) => e.path))].sort(), ["/v1/logs", "/v1/metrics", "/v1/traces"]);
          assert.deepEqual([...new Set(exports.map((e) => e.contentEncoding))], [gzip ? "gzip" : "identity"]);
          const contentType = protocol === "http/json" ? "application/json" : "application/x-protobuf";
          assert.ok(exports.every((e) => e.contentType.startsWith(contentType)), exports.map((e) => e.contentType).join(", "));
          assert.ok(httpStatuses(tap).every((s) => s === 200));
        }
      });
    }
  }

  for (const protocol of ["grpc", "http/protobuf"] as const) {
    it(`${protocol}: a bearer token from OTEL_EXPORTER_OTLP_HEADERS passes the collector's bearertokenauth`, async (t) => {
      const service = `tollgate-e2e-auth-${protocol.replace("/", "-")}`;
      const tap = await startWireTap(protocol === "grpc" ? collector.endpoints.grpcAuth : collector.endpoints.httpAuth);
      t.after(() => tap.close());
      const run = await runTraffic(upstream, {
        OTEL_EXPORTER_OTLP_ENDPOINT: tap.url,
        OTEL_EXPORTER_OTLP_PROTOCOL: protocol,
        OTEL_EXPORTER_OTLP_HEADERS: `authorization=Bearer%20${collector.token}`,
        OTEL_SERVICE_NAME: service,
      }, REQUESTS);
      const received = await eventually(() => receivedFor(service), complete);
      assertRun(received, run.upstreamTraceparents, service);
      if (protocol !== "grpc") {
        assert.ok(httpExports(tap).every((e) => e.authorization === `Bearer ${collector.token}`));
        assert.ok(httpStatuses(tap).every((s) => s === 200));
      }
    });
  }

  const rejected = [
    { protocol: "http/protobuf", headers: "authorization=Bearer%20not-the-token", what: "a wrong token" },
    { protocol: "grpc", headers: undefined, what: "no token" },
  ] as const;
  for (const { protocol, headers, what } of rejected) {
    it(`${protocol}: the collector rejects ${what}, and proxying carries on`, async (t) => {
      const service = `tollgate-e2e-rejected-${protocol.replace("/", "-")}`;
      const tap = await startWireTap(protocol === "grpc" ? collector.endpoints.grpcAuth : collector.endpoints.httpAuth);
      t.after(() => tap.close());
      const run = await runTraffic(upstream, {
        OTEL_EXPORTER_OTLP_ENDPOINT: tap.url,
        OTEL_EXPORTER_OTLP_PROTOCOL: protocol,
        ...(headers === undefined ? {} : { OTEL_EXPORTER_OTLP_HEADERS: headers }),
        OTEL_SERVICE_NAME: service,
      }, REQUESTS);
      assert.equal(run.upstreamTraceparents.length, REQUESTS, "every request was proxied");
      if (protocol === "http/protobuf") {
        const statuses = httpStatuses(tap);
        assert.ok(statuses.length > 0 && statuses.every((s) => s === 401), `collector answered ${statuses.join(", ")}`);
      }
      const port = new URL(tap.url).port;
      assert.ok(
        run.gateway.logs().some((l) => l.level === "warn" && JSON.stringify(l).includes(port)),
        `the gateway warns about the failing exporter, naming its endpoint\n${run.gateway.stderr()}`,
      );
      // A marker sent after the gateway finished goes through the same pipelines; once it
      // is on disk, anything the collector had accepted earlier would be too.
      const marker = await sendMarker(collector, `${service}-marker`);
      const markerStored = await eventually(() => spansOf(collector.read("traces")).some((s) => s.resource["service.name"] === marker), (v) => v);
      assert.ok(markerStored, "the marker reached the collector's file");
      const got = receivedFor(service);
      assert.deepEqual([got.spans.length, got.logs.length, got.points.length], [0, 0, 0], "nothing was accepted without the token");
    });
  }
});

async function sendMarker(c: RunningCollector, service: string): Promise<string> {
  const body = {
    resourceSpans: [{
      resource: { attributes: [{ key: "service.name", value: { stringValue: service } }] },
      scopeSpans: [{ spans: [{ traceId: "0af7651916cd43dd8448eb211c80319c", spanId: "b7ad6b7169203331", name: "marker", kind: 1, startTimeUnixNano: "1", endTimeUnixNano: "2" }] }],
    }],
  };
  const res = await fetch(`${c.endpoints.http}/v1/traces`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) });
  assert.equal(res.status, 200, await res.text());
  return service;
}
