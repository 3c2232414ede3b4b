// Tollgate's OTLP protobuf encoder writes exactly the bytes of the SDK's serializers, for its
// own spans and access log records (the direct path), for any other ReadableSpan /
// ReadableLogRecord (the object path), and whenever attribute limits or repeated keys
// force the direct path back to the object one. The bytes also decode with the official
// protos.
import { test } from "node:test";
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import protobuf from "protobufjs";
import type { Attributes } from "@opentelemetry/api";
import { ProtobufLogsSerializer, ProtobufTraceSerializer } from "@opentelemetry/otlp-transformer";
import { resourceFromAttributes } from "@opentelemetry/resources";
import type { ReadableLogRecord } from "@opentelemetry/sdk-logs";
import type { ReadableSpan } from "@opentelemetry/sdk-trace";
import { ENCODED_LOG_BATCHES, encodeLogsExportRequest } from "../../src/telemetry/export/otlp-proto/logs.ts";
import { lendRequest, returnRequest } from "../../src/telemetry/export/otlp-proto/request.ts";
import { ENCODED_SPAN_BATCHES, encodeTraceExportRequest } from "../../src/telemetry/export/otlp-proto/trace.ts";
import type { RequestFacts } from "../../src/telemetry/logs/facts.ts";
import { TOLLGATE_SCOPE } from "../../src/telemetry/semconv.ts";
import { OTLP_PROTO_DIR } from "../support/otlp-receiver.ts";
import { accessLog, accessLogRecords, fixtureResource, ownSpans, ruleTracing } from "./span-fixtures.ts";

function sameTraceBytes(spans: ReadableSpan[]): Buffer {
  const ours = Buffer.from(encodeTraceExportRequest(spans));
  const sdk = Buffer.from(ProtobufTraceSerializer.serializeRequest(spans)!);
  assert.equal(ours.toString("hex"), sdk.toString("hex"));
  return ours;
}

function sameLogBytes(records: ReadableLogRecord[]): Buffer {
  const ours = Buffer.from(encodeLogsExportRequest(records));
  const sdk = Buffer.from(ProtobufLogsSerializer.serializeRequest(records)!);
  assert.equal(ours.toString("hex"), sdk.toString("hex"));
  return ours;
}

async function officialType(name: string): Promise<protobuf.Type> {
  const root = new protobuf.Root();
  root.resolvePath = (_origin, target) => `${OTLP_PROTO_DIR}/${target}`;
  await root.load(["opentelemetry/proto/collector/trace/v1/trace_service.proto", "opentelemetry/proto/collector/logs/v1/logs_service.proto"], { keepCase: true });
  return root.lookupType(name);
}

test("Tollgate's spans: the SDK's exact bytes, and the official protos decode every attribute", async () => {
  const spans = ownSpans(12);
  const bytes = sameTraceBytes(spans);
  const Request = await officialType("opentelemetry.proto.collector.trace.v1.ExportTraceServiceRequest");
  const decoded = Request.toObject(Request.decode(bytes), { longs: String, bytes: String }) as {
    resource_spans: { scope_spans: { spans: { name: string; attributes: { key: string; value: Record<string, unknown> }[] }[] }[] }[];
  };
  const out = decoded.resource_spans[0]!.scope_spans[0]!.spans;
  assert.equal(out.length, 24);
  const server = out[1]!;
  const attrs = Object.fromEntries(server.attributes.map((kv) => [kv.key, kv.value]));
  assert.deepEqual(attrs["http.route"], { string_value: "/api/*" });
  assert.deepEqual(attrs["url.query"], { string_value: "sig=REDACTED&x=é" });
  assert.deepEqual(attrs["http.request.header.x-tenant"], { array_value: { values: [{ string_value: "a" }, { string_value: "b" }] } });
  const client = out[0]!;
  const url = client.attributes.find((kv) => kv.key === "url.full")!.value;
  assert.deepEqual(url, { string_value: "http://REDACTED:REDACTED@127.0.0.1:9000/api/0?X-Goog-Signature=REDACTED" });
});

test("spans with custom header, literal and backend attributes keep the SDK's bytes across many batches", () => {
  const rt = ruleTracing({
    serverStatic: [["http.route", "/api/*"], ["tollgate.gateway.name", "ns/gw"], ["env", "prod"], ["weight", 3], ["on", true]],
    clientStatic: [["tollgate.gateway.name", "ns/gw"], ["env", "prod"], ["weight", 3], ["on", true]],
    requestHeaderAttrs: [{ name: "tenant", header: "x-tenant", defaultValue: undefined }],
    backendMetadataAttrs: ["backend.alias"],
  });
  for (let batch = 0; batch < 5; batch++) sameTraceBytes(ownSpans(40, rt));
});

test("a custom attribute that repeats a semantic-convention key falls back to the object's semantics", () => {
  // The object keeps the first position and the last value; the direct path must not write the key twice.
  const rt = ruleTracing({ requestHeaderAttrs: [{ name: "url.path", header: "x-path", defaultValue: undefined }] });
  const spans = ownSpans(4, rt);
  const bytes = sameTraceBytes(spans);
  // Header attributes reach both spans of a request: once each, never twice in one span.
  assert.equal(bytes.toString("latin1").split("url.path").length - 1, 8, "url.path once per span");
  // A static block that repeats one of its own keys.
  sameTraceBytes(ownSpans(3, ruleTracing({ clientStatic: [["a", "1"], ["a", "2"]] })));
});

test("attribute count and value length limits: the SDK's bytes, dropped counts included", () => {
  sameTraceBytes(ownSpans(6, ruleTracing({ limits: { countLimit: 5, valueLengthLimit: Number.POSITIVE_INFINITY } })));
  sameTraceBytes(ownSpans(6, ruleTracing({ limits: { countLimit: 128, valueLengthLimit: 4 } })));
  sameLogBytes(accessLogRecords(6, accessLog(), { countLimit: 7, valueLengthLimit: Number.POSITIVE_INFINITY }));
  sameLogBytes(accessLogRecords(6, accessLog(), { countLimit: 128, valueLengthLimit: 3 }));
});

test("any ReadableSpan: events, links, status messages, kinds, several resources and scopes", () => {
  const other = resourceFromAttributes({ "service.name": "other" });
  const scope = { name: "lib", version: "1.2.3", schemaUrl: "https://example.com/s" };
  const id = (bytes: number): string => randomBytes(bytes).toString("hex");
  const make = (i: number): ReadableSpan => {
    const traceId = id(16);
    const spanId = id(8);
    const parentId = id(8);
    return {
    name: `op ${i} ü`,
    kind: i % 5,
    spanContext: () => ({ traceId, spanId, traceFlags: i % 2, isRemote: false }),
    parentSpanContext: i % 2 === 0 ? { traceId, spanId: parentId, traceFlags: 1, isRemote: i % 4 === 0 } : undefined,
    startTime: [1_700_000_000 + i, 999_999_999],
    endTime: [2_000_000_000 + i, 1],
    status: i % 3 === 0 ? { code: 2, message: "boom ✗" } : { code: i % 3 },
    attributes: { s: "x".repeat(i * 50), n: -i, big: 2 ** 40 + i, f: 1.5 + i, b: i % 2 === 0, arr: [1, 2, 3], strs: ["a", "é"], bytes: new Uint8Array([1, 2, i]) } as unknown as Attributes,
    links: i % 2 === 0 ? [{ context: { traceId: "a".repeat(32), spanId: "b".repeat(16), traceFlags: 1, isRemote: true }, attributes: { l: i } }] : [],
    events: i % 3 === 0 ? [{ name: "ev", time: [1_700_000_000, i], attributes: { e: "v" }, droppedAttributesCount: 1 }] : [],
    duration: [0, 1],
    ended: true,
    resource: i % 3 === 0 ? other : fixtureResource,
    instrumentationScope: i % 2 === 0 ? scope : TOLLGATE_SCOPE,
    droppedAttributesCount: i,
    droppedEventsCount: 0,
    droppedLinksCount: i % 2,
    };
  };
  sameTraceBytes(Array.from({ length: 30 }, (_, i) => make(i)));
  // A span large enough that every enclosing length needs more bytes than reserved.
  sameTraceBytes([make(400)]);
});

test("random strings of every length and script encode as the SDK does", () => {
  const alphabet = ["a", "Z", "0", "/", "é", "✓", "😀", "\u0000", "\u007f", "\u0080", "\u07ff", "\u0800"];
  const random = (len: number): string => Array.from({ length: len }, () => alphabet[Math.floor(Math.random() * alphabet.length)]).join("");
  for (let round = 0; round < 20; round++) {
    const rt = ruleTracing({ serverStatic: [["http.route", random(5)], ["k" + random(3), random(200)]] });
    const spans = ownSpans(3, rt);
    for (const s of spans) (s as unknown as { httpStatus: number }).httpStatus = 200;
    sameTraceBytes(spans);
    const lengths = [0, 1, 42, 43, 127, 128, 300, 16383, 16384, 70000];
    // The body in random pieces, some of which cut a surrogate pair in two.
    const body = random(lengths[round % lengths.length]!);
    const cuts = [0, ...Array.from({ length: 3 }, () => Math.floor(Math.random() * (body.length + 1))).sort((a, b) => a - b), body.length];
    const bodyParts = cuts.slice(1).map((end, i) => () => body.slice(cuts[i], end));
    const log = accessLog({ body: () => body, bodyParts, staticAttributes: [["x", random(round * 7)]] });
    sameLogBytes(accessLogRecords(3, log));
  }
});

test("access log records: the SDK's exact bytes with trace context, without it, and with repeated keys", async () => {
  const bytes = sameLogBytes(accessLogRecords(16));
  const Request = await officialType("opentelemetry.proto.collector.logs.v1.ExportLogsServiceRequest");
  const decoded = Request.toObject(Request.decode(bytes), { longs: String, bytes: String }) as {
    resource_logs: { scope_logs: { log_records: { body: { string_value: string }; attributes: { key: string; value: Record<string, unknown> }[] }[] }[] }[];
  };
  const records = decoded.resource_logs[0]!.scope_logs[0]!.log_records;
  assert.equal(records.length, 16);
  assert.equal(records[1]!.body.string_value, "GET /api/1 200 ✓");
  const attrs = Object.fromEntries(records[1]!.attributes.map((kv) => [kv.key, kv.value]));
  assert.deepEqual(attrs["http.response.body.size"], { int_value: String(2 ** 33 + 1) });
  assert.deepEqual(attrs["ratio"], { double_value: 0.5 });
  // A configured field named like a semantic-convention attribute replaces its value, as on the object.
  sameLogBytes(accessLogRecords(5, accessLog({ fields: [["url.path", () => "/overridden"]] })));
  // The body is written part by part: empty parts, a part of 200 ASCII characters, long and
  // short parts that are not ASCII, and a body over 127 bytes give the joined string's bytes.
  const bodyParts = [() => "", (f: RequestFacts) => f.path.repeat(30).slice(0, 200), () => "é", () => "—".repeat(150), () => " ok"];
  const longBody = accessLog({ body: (f: RequestFacts) => bodyParts.map((part) => part(f)).join(""), bodyParts });
  const longBytes = sameLogBytes(accessLogRecords(3, longBody));
  const longRecords = (Request.toObject(Request.decode(longBytes)) as typeof decoded).resource_logs[0]!.scope_logs[0]!.log_records;
  assert.equal(longRecords[2]!.body.string_value, `${"/api/2".repeat(30).slice(0, 200)}é${"—".repeat(150)} ok`);
  // A part that ends inside a surrogate pair: the joined string's bytes, not two replacement characters.
  const emoji = "😀";
  sameLogBytes(accessLogRecords(2, accessLog({ body: () => `a${emoji}b`, bodyParts: [() => `a${emoji[0]}`, () => `${emoji[1]}b`] })));
  // A body with one part.
  sameLogBytes(accessLogRecords(2, accessLog({ body: () => "", bodyParts: [() => ""] })));
  // Several resources and scopes in one batch.
  const other = accessLog({ scope: { name: "my-log", version: undefined, schemaUrl: undefined } }, resourceFromAttributes({ "service.name": "b" }));
  sameLogBytes([...accessLogRecords(3), ...accessLogRecords(3, other), ...accessLogRecords(2)]);
});

test("a jsonFormat body is written as the SDK writes a map body, and decodes as a kvlist with the official protos", async () => {
  const jsonBody = (f: RequestFacts): Record<string, unknown> => ({ path: f.path, big: 2 ** 40, absent: null, ok: true, ratio: 0.5, tags: ["GET", 1], nested: { code: f.status } });
  const bytes = sameLogBytes(accessLogRecords(3, accessLog({ jsonBody })));
  const Request = await officialType("opentelemetry.proto.collector.logs.v1.ExportLogsServiceRequest");
  const decoded = Request.toObject(Request.decode(bytes), { longs: String }) as {
    resource_logs: { scope_logs: { log_records: { body: { kvlist_value: { values: { key: string; value: Record<string, unknown> }[] } } }[] }[] }[];
  };
  const body = Object.fromEntries(decoded.resource_logs[0]!.scope_logs[0]!.log_records[2]!.body.kvlist_value.values.map((kv) => [kv.key, kv.value]));
  assert.deepEqual(body, {
    path: { string_value: "/api/2" },
    big: { int_value: String(2 ** 40) },
    absent: {},
    ok: { bool_value: true },
    ratio: { double_value: 0.5 },
    tags: { array_value: { values: [{ string_value: "GET" }, { int_value: "1" }] } },
    nested: { kvlist_value: { values: [{ key: "code", value: { int_value: "200" } }] } },
  });
});

test("batches encoded as their items are queued give the same request bytes, over several resources and scopes", () => {
  const spans = ownSpans(40, ruleTracing({ requestHeaderAttrs: [{ name: "tenant", header: "x-tenant", defaultValue: undefined }] }));
  const expected = sameTraceBytes(spans);
  const batch = ENCODED_SPAN_BATCHES.create();
  for (const s of spans) ENCODED_SPAN_BATCHES.add(batch, s);
  assert.equal(batch.count, 80);
  // The queue keeps bytes: a change made to a span after it was queued does not reach the export.
  (spans[1] as unknown as { method: string }).method = "PATCH";
  assert.equal(Buffer.from(encodeTraceExportRequest(batch)).toString("hex"), expected.toString("hex"));
  assert.notEqual(Buffer.from(ProtobufTraceSerializer.serializeRequest(spans)!).toString("hex"), expected.toString("hex"));
  const other = accessLog({ scope: { name: "my-log", version: "2", schemaUrl: undefined } }, resourceFromAttributes({ "service.name": "b" }));
  const records = [...accessLogRecords(7), ...accessLogRecords(9, other), ...accessLogRecords(5)];
  const logBatch = ENCODED_LOG_BATCHES.create();
  for (const r of records) ENCODED_LOG_BATCHES.add(logBatch, r);
  assert.equal(Buffer.from(encodeLogsExportRequest(logBatch)).toString("hex"), sameLogBytes(records).toString("hex"));
});

test("an item that fails half way through encoding leaves its batch as it was", () => {
  const spans = ownSpans(3);
  const batch = ENCODED_SPAN_BATCHES.create();
  ENCODED_SPAN_BATCHES.add(batch, spans[0]!);
  const broken = Object.create(spans[1]!, { name: { get: () => { throw new Error("boom"); } } }) as ReadableSpan;
  assert.throws(() => ENCODED_SPAN_BATCHES.add(batch, broken), /boom/);
  for (const s of spans.slice(1)) ENCODED_SPAN_BATCHES.add(batch, s);
  assert.equal(batch.count, 6);
  assert.equal(Buffer.from(encodeTraceExportRequest(batch)).toString("hex"), sameTraceBytes(spans).toString("hex"));
});

test("a batch's request is encoded once; its buffers then serve the next batches, which still encode exactly", () => {
  const first = ownSpans(30);
  const batch = ENCODED_SPAN_BATCHES.create();
  for (const s of first) ENCODED_SPAN_BATCHES.add(batch, s);
  assert.equal(Buffer.from(encodeTraceExportRequest(batch)).toString("hex"), sameTraceBytes(first).toString("hex"));
  assert.throws(() => encodeTraceExportRequest(batch), /already encoded/);
  assert.throws(() => ENCODED_SPAN_BATCHES.add(batch, first[0]!), /already encoded/);
  // Fewer, different items into reused buffers: nothing of the larger first batch may leak in.
  for (const round of [3, 12, 1]) {
    const spans = ownSpans(round, ruleTracing({ requestHeaderAttrs: [{ name: "tenant", header: "x-tenant", defaultValue: undefined }] }));
    const next = ENCODED_SPAN_BATCHES.create();
    for (const s of spans) ENCODED_SPAN_BATCHES.add(next, s);
    assert.equal(Buffer.from(encodeTraceExportRequest(next)).toString("hex"), sameTraceBytes(spans).toString("hex"));
  }
  const records = accessLogRecords(4);
  const logBatch = ENCODED_LOG_BATCHES.create();
  for (const r of records) ENCODED_LOG_BATCHES.add(logBatch, r);
  assert.equal(Buffer.from(encodeLogsExportRequest(logBatch)).toString("hex"), sameLogBytes(records).toString("hex"));
});

test("an item that fails as the first of its scope leaves no empty scope behind", () => {
  const other = accessLog({ scope: { name: "other-scope", version: undefined, schemaUrl: undefined } }, resourceFromAttributes({ "service.name": "b" }));
  const records = accessLogRecords(2);
  const [brokenSource] = accessLogRecords(1, other);
  const broken = Object.create(brokenSource!, { severityText: { get: () => { throw new Error("boom"); } } }) as typeof brokenSource;
  const logBatch = ENCODED_LOG_BATCHES.create();
  ENCODED_LOG_BATCHES.add(logBatch, records[0]!);
  assert.throws(() => ENCODED_LOG_BATCHES.add(logBatch, broken!), /boom/);
  ENCODED_LOG_BATCHES.add(logBatch, records[1]!);
  assert.equal(Buffer.from(encodeLogsExportRequest(logBatch)).toString("hex"), sameLogBytes(records).toString("hex"));
});

test("a lent request is the batch's exact bytes in a pooled buffer; a returned buffer serves the next request, one still lent never does", () => {
  const batchOf = (n: number) => {
    const spans = ownSpans(n);
    const batch = ENCODED_SPAN_BATCHES.create();
    for (const s of spans) ENCODED_SPAN_BATCHES.add(batch, s);
    return { batch, expected: sameTraceBytes(spans).toString("hex") };
  };
  const a = batchOf(50);
  const aBytes = lendRequest(a.batch);
  assert.equal(Buffer.from(aBytes).toString("hex"), a.expected);
  assert.throws(() => lendRequest(a.batch), /already encoded/, "a batch lends its request once");

  // While `a` is lent, another request gets another buffer and leaves a's bytes alone.
  const b = batchOf(7);
  const bBytes = lendRequest(b.batch);
  assert.notEqual(bBytes.buffer, aBytes.buffer);
  assert.equal(Buffer.from(bBytes).toString("hex"), b.expected);
  assert.equal(Buffer.from(aBytes).toString("hex"), a.expected, "the lent request is untouched");

  // Returned, a's buffer carries the next request, smaller, with nothing of the old one in it.
  returnRequest(a.batch);
  returnRequest(a.batch); // a second return is a no-op, not a second spare
  const c = batchOf(3);
  const cBytes = lendRequest(c.batch);
  const d = batchOf(4);
  const dBytes = lendRequest(d.batch);
  assert.equal(cBytes.buffer, aBytes.buffer, "the pool hands the returned buffer out again");
  assert.notEqual(dBytes.buffer, aBytes.buffer, "returned once, handed out once");
  assert.equal(Buffer.from(cBytes).toString("hex"), c.expected);
  assert.equal(Buffer.from(dBytes).toString("hex"), d.expected);
  for (const x of [b, c, d]) returnRequest(x.batch);
});
