// The test receiver's OTLP/JSON path: decoded against the official protos, it yields the same
// records as the protobuf path for the same export, and rejects what OTLP/JSON forbids (enum
// names or unknown enum values, unknown or snake_case keys, ids that are not hex), so a
// gateway sending off-spec JSON cannot pass the http/json tests.
import { test } from "node:test";
import assert from "node:assert/strict";
import protobuf from "protobufjs";
import { OTLP_PROTO_DIR, startOtlpReceiver } from "../support/otlp-receiver.ts";

const TRACE_ID = "0af7651916cd43dd8448eb211c80319c";
const SPAN_ID = "b7ad6b7169203331";
const PARENT_ID = "00f067aa0ba902b7";

function jsonExport(span: Record<string, unknown>): Record<string, unknown> {
  return {
    resourceSpans: [
      {
        resource: { attributes: [{ key: "service.name", value: { stringValue: "json-check" } }] },
        schemaUrl: "https://opentelemetry.io/schemas/1.37.0",
        scopeSpans: [
          {
            scope: { name: "tollgate", version: "1" },
            spans: [
              {
                traceId: TRACE_ID,
                spanId: SPAN_ID,
                parentSpanId: PARENT_ID,
                name: "GET /api/*",
                kind: 2,
                startTimeUnixNano: "1700000000000000000",
                endTimeUnixNano: "1700000000100000000",
                attributes: [
                  { key: "http.response.status_code", value: { intValue: "503" } },
                  { key: "http.route", value: { stringValue: "/api/*" } },
                ],
                links: [{ traceId: TRACE_ID, spanId: PARENT_ID }],
                status: { code: 2 },
                flags: 257,
                ...span,
              },
            ],
          },
        ],
      },
    ],
  };
}

async function protobufBody(): Promise<Uint8Array> {
  const root = new protobuf.Root();
  root.resolvePath = (_o, target) => (target.startsWith("/") ? target : OTLP_PROTO_DIR + target);
  await root.load("opentelemetry/proto/collector/trace/v1/trace_service.proto", { keepCase: false });
  const type = root.lookupType("opentelemetry.proto.collector.trace.v1.ExportTraceServiceRequest");
  const obj = jsonExport({});
  // The protobuf JSON mapping wants base64 ids: the same export, written the binary way.
  const span = (((obj.resourceSpans as Array<Record<string, unknown>>)[0]!.scopeSpans as Array<Record<string, unknown>>)[0]!.spans as Array<Record<string, unknown>>)[0]!;
  for (const k of ["traceId", "spanId", "parentSpanId"]) span[k] = Buffer.from(String(span[k]), "hex");
  for (const l of span.links as Array<Record<string, unknown>>) for (const k of ["traceId", "spanId"]) l[k] = Buffer.from(String(l[k]), "hex");
  return type.encode(type.fromObject(obj)).finish();
}

async function post(url: string, contentType: string, body: string | Uint8Array): Promise<{ status: number; text: string }> {
  const res = await fetch(`${url}/v1/traces`, { method: "POST", headers: { "content-type": contentType }, body });
  return { status: res.status, text: await res.text() };
}

test("the same export over OTLP/JSON and protobuf decodes to identical records", async (t) => {
  const rx = await startOtlpReceiver("http");
  t.after(() => rx.close());
  assert.equal((await post(rx.url, "application/json", JSON.stringify(jsonExport({})))).status, 200);
  assert.equal((await post(rx.url, "application/x-protobuf", await protobufBody())).status, 200);
  const [fromJson, fromProto] = await rx.waitForSpans((s) => s.length >= 2);
  assert.deepEqual(fromJson, fromProto);
  assert.equal(fromJson!.traceId, TRACE_ID);
  assert.equal(fromJson!.parentSpanId, PARENT_ID);
  assert.equal(fromJson!.attributes["http.response.status_code"], 503);
  assert.equal(fromJson!.startTimeUnixNano, 1700000000000000000n);
  assert.equal(fromJson!.flags, 257);
});

test("off-spec OTLP/JSON is rejected with the offending path", async (t) => {
  const rx = await startOtlpReceiver("http");
  t.after(() => rx.close());
  const cases: Array<[string, Record<string, unknown>, RegExp]> = [
    ["enum by name", { kind: "SPAN_KIND_SERVER" }, /spans\[0\]\.kind: OTLP\/JSON enums are integers/],
    ["unknown enum value", { kind: 9 }, /spans\[0\]\.kind: 9 is not a value of .*SpanKind/],
    ["unknown status code", { status: { code: 7 } }, /status\.code: 7 is not a value/],
    ["unknown field", { bogus: true }, /spans\[0\]\.bogus: not a field/],
    ["snake_case key", { parent_span_id: PARENT_ID }, /spans\[0\]\.parent_span_id: not a field/],
    ["base64 id", { spanId: Buffer.from(SPAN_ID, "hex").toString("base64") }, /spans\[0\]\.spanId: OTLP\/JSON ids are 16 hex digits/],
    ["short trace id", { traceId: "abcd" }, /spans\[0\]\.traceId: OTLP\/JSON ids are 32 hex digits/],
    ["array where a message goes", { status: [] }, /status: expected an object/],
  ];
  for (const [what, override, message] of cases) {
    const res = await post(rx.url, "application/json", JSON.stringify(jsonExport(override)));
    assert.equal(res.status, 400, what);
    assert.match(res.text, message, what);
  }
  const withResourceSchema = (url: string): Record<string, unknown> => {
    const body = jsonExport({});
    const entry = (body.resourceSpans as Array<Record<string, unknown>>)[0]!;
    (entry.resource as Record<string, unknown>).schemaUrl = url;
    return body;
  };
  const mismatch = await post(rx.url, "application/json", JSON.stringify(withResourceSchema("https://example.com/other")));
  assert.equal(mismatch.status, 400, "resource.schemaUrl is tolerated only as the JS SDK's copy of the entry's");
  assert.match(mismatch.text, /resourceSpans\[0\]\.resource\.schemaUrl .* differs/);
  assert.equal(rx.spans.length, 0, "nothing off-spec was recorded");
  const copy = await post(rx.url, "application/json", JSON.stringify(withResourceSchema("https://opentelemetry.io/schemas/1.37.0")));
  assert.equal(copy.status, 200, copy.text);
  assert.equal(rx.spans[0]!.resource.schemaUrl, "https://opentelemetry.io/schemas/1.37.0");
});
