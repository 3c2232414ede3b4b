// The export thread's wire form: spans and log records encoded on the request thread and
// rebuilt on the other side serialise to exactly the bytes the SDK's serializers produce
// from the originals (protobuf and JSON), across batches that share the key table.
import { test } from "node:test";
import assert from "node:assert/strict";
import { serialize, deserialize } from "node:v8";
import { JsonLogsSerializer, JsonTraceSerializer, ProtobufLogsSerializer, ProtobufTraceSerializer } from "@opentelemetry/otlp-transformer";
import { resourceFromAttributes } from "@opentelemetry/resources";
import type { ReadableLogRecord } from "@opentelemetry/sdk-logs";
import type { ReadableSpan } from "@opentelemetry/sdk-trace";
import { ClientSpan, ServerSpan } from "../../src/telemetry/trace/spans.ts";
import type { RuleTracing } from "../../src/telemetry/trace/rule-tracing.ts";
import { TOLLGATE_SCOPE, SCHEMA_URL } from "../../src/telemetry/semconv.ts";
import { decodeLogRecords, decodeSpans, encodeLogRecord, encodeSpan, WireDefinitions, WireRegistry, type WireBatch, type WireDef } from "../../src/telemetry/export/wire.ts";

const resource = resourceFromAttributes({ "service.name": "edge", "service.instance.id": "i-1", "k8s.pod.name": "p" }, { schemaUrl: SCHEMA_URL });
const rt = {
  httpRoute: "/api/*",
  serverStatic: [["http.route", "/api/*"], ["tollgate.gateway.name", "ns/gw"], ["tollgate.rule.name", "rule-0"]],
  clientStatic: [["tollgate.gateway.name", "ns/gw"]],
  requestHeaderAttrs: [],
  responseHeaderAttrs: [],
  backendMetadataAttrs: [],
  resource,
  limits: { countLimit: 128, valueLengthLimit: Number.POSITIVE_INFINITY },
} as unknown as RuleTracing;

function spans(n: number): ReadableSpan[] {
  const out: ReadableSpan[] = [];
  for (let i = 0; i < n; i++) {
    const now = Date.now() + i;
    const parent = i % 2 === 0 ? "00f067aa0ba902b7" : undefined;
    const s = new ServerSpan("4bf92f3577b34da6a3ce929d0e0e47" + String(10 + i).slice(-2), "b7ad6b71692033" + String(10 + i).slice(-2), parent, true, i % 3 === 0, i % 2 === 0 ? "vendor=a,other=b" : undefined, undefined, rt, now, 0, i % 4 === 0 ? "_OTHER" : "GET", i % 4 === 0 ? "PURGE" : "GET", `/api/${i}`, i % 2 === 0 ? "sig=secret&x=é" : "", "http", "127.0.0.1", 8080, "10.0.0.1", "127.0.0.1", 40000 + i, "1.1", "ua/1.0 ✓", undefined);
    s.endPerfMs = 1.5;
    s.httpStatus = i % 5 === 0 ? 503 : 200;
    s.backendName = "ns/b";
    s.requestHeaders = [["x-tenant", ["a", "b"]]];
    const c = new ClientSpan(s, "c7ad6b71692033" + String(10 + i).slice(-2), now, 0, "GET", "GET", i % 3, `http://user:pw@127.0.0.1:9000/api/${i}`, "127.0.0.1", 9000, "ns/b");
    c.endPerfMs = 1;
    c.httpStatus = s.httpStatus;
    out.push(c, s);
  }
  return out;
}

function logs(n: number): ReadableLogRecord[] {
  return Array.from({ length: n }, (_, i) => ({
    hrTime: [1_700_000_000 + i, 123_456_789] as [number, number],
    hrTimeObserved: [1_700_000_001 + i, 5] as [number, number],
    spanContext: i % 2 === 0 ? { traceId: "4bf92f3577b34da6a3ce929d0e0e4736", spanId: "00f067aa0ba902b7", traceFlags: 3 } : undefined,
    severityNumber: 9,
    severityText: "INFO",
    body: `GET /api/${i} 200`,
    eventName: "tollgate.access",
    resource,
    instrumentationScope: i % 2 === 0 ? TOLLGATE_SCOPE : { name: "my-log", version: undefined, schemaUrl: undefined },
    attributes: { "http.request.method": "GET", "http.response.status_code": 200, "tollgate.request.duration_ms": 1.25, ok: true, list: ["a", "b"] },
    droppedAttributesCount: i,
  }));
}

/** Encode on one side, clone as postMessage would, decode on the other. */
function roundTrip<T>(signal: WireBatch["signal"], items: T[], table: WireDefinitions, reg: WireRegistry, encode: (out: unknown[], item: T, defs: WireDef[], table: WireDefinitions) => void): unknown[] {
  const data: unknown[] = [];
  const defs: WireDef[] = [];
  for (const item of items) encode(data, item, defs, table);
  const batch = deserialize(serialize({ signal, count: items.length, data, defs })) as WireBatch;
  reg.define(batch.defs);
  return signal === "traces" ? decodeSpans(batch, reg) : decodeLogRecords(batch, reg);
}

test("spans rebuilt from the wire serialise to the SDK's exact protobuf and JSON bytes, batch after batch", () => {
  const table = new WireDefinitions();
  const reg = new WireRegistry((a, schemaUrl) => resourceFromAttributes(a, { schemaUrl }));
  for (let batch = 0; batch < 3; batch++) {
    const original = spans(8);
    const rebuilt = roundTrip("traces", original, table, reg, encodeSpan) as ReadableSpan[];
    assert.deepEqual(Buffer.from(ProtobufTraceSerializer.serializeRequest(rebuilt)!), Buffer.from(ProtobufTraceSerializer.serializeRequest(original)!));
    assert.equal(new TextDecoder().decode(JsonTraceSerializer.serializeRequest(rebuilt)), new TextDecoder().decode(JsonTraceSerializer.serializeRequest(original)));
  }
});

test("log records rebuilt from the wire serialise to the SDK's exact protobuf and JSON bytes", () => {
  const table = new WireDefinitions();
  const reg = new WireRegistry((a, schemaUrl) => resourceFromAttributes(a, { schemaUrl }));
  for (let batch = 0; batch < 2; batch++) {
    const original = logs(6);
    const rebuilt = roundTrip("logs", original, table, reg, encodeLogRecord) as ReadableLogRecord[];
    assert.deepEqual(Buffer.from(ProtobufLogsSerializer.serializeRequest(rebuilt)!), Buffer.from(ProtobufLogsSerializer.serializeRequest(original)!));
    assert.equal(new TextDecoder().decode(JsonLogsSerializer.serializeRequest(rebuilt)), new TextDecoder().decode(JsonLogsSerializer.serializeRequest(original)));
  }
});

test("attribute keys cross once: a second batch with the same keys carries no key definitions", () => {
  const table = new WireDefinitions();
  const first: WireDef[] = [];
  const second: WireDef[] = [];
  for (const s of spans(2)) encodeSpan([], s, first, table);
  for (const s of spans(2)) encodeSpan([], s, second, table);
  assert.ok(first.some((d) => d.type === "key" && d.name === "url.path"));
  assert.ok(first.some((d) => d.type === "resource"));
  assert.deepEqual(second, []);
});
