// ExportLogsServiceRequest in protobuf, byte for byte what the SDK's ProtobufLogsSerializer
// writes for the same records. Access log records write their attributes straight into the
// buffer; any other ReadableLogRecord, and any record whose attributes need the limits
// applied, go through its Attributes object.
import type { HrTime } from "@opentelemetry/api";
import type { ReadableLogRecord } from "@opentelemetry/sdk-logs";
import { AccessLogRecord } from "../../logs/record.ts";
import { ANY_STRING, lengthTag, ProtoAttributeSink, writeAnyValue, writeKeyValues } from "./attributes.ts";
import type { BatchFormat } from "../batch-queue.ts";
import { EncodedBatch, encodeInto, encodeRequest } from "./request.ts";
import type { ProtoWriter } from "./writer.ts";

const TAG_TIME = (1 << 3) | 1;
const TAG_SEVERITY = 2 << 3;
const TAG_SEVERITY_TEXT = lengthTag(3);
const TAG_BODY = lengthTag(5);
const FIELD_ATTRIBUTES = 6;
const TAG_DROPPED_ATTRIBUTES = 7 << 3;
const TAG_FLAGS = (8 << 3) | 5;
const TAG_TRACE_ID = lengthTag(9);
const TAG_SPAN_ID = lengthTag(10);
const TAG_OBSERVED_TIME = (11 << 3) | 1;
const TAG_EVENT_NAME = lengthTag(12);

const sink = new ProtoAttributeSink(FIELD_ATTRIBUTES);

export type LogsExportBatch = EncodedBatch | readonly ReadableLogRecord[];

export function encodeLogsExportRequest(batch: LogsExportBatch): Uint8Array {
  return encodeRequest(batch, writeLogRecord);
}

/** Batches whose log records are encoded as they are queued. */
export const ENCODED_LOG_BATCHES: BatchFormat<ReadableLogRecord, EncodedBatch> = {
  create: () => new EncodedBatch(),
  add: (batch, record) => encodeInto(batch, record, writeLogRecord),
};

function writeLogRecord(w: ProtoWriter, r: ReadableLogRecord): void {
  const own = r instanceof AccessLogRecord ? r : undefined;
  w.uint32(TAG_TIME);
  if (own !== undefined) w.epochMs(own.facts.startTimeMs);
  else writeHrTime(w, r.hrTime);
  const severity = r.severityNumber;
  if (severity !== undefined && severity !== 0) {
    w.uint32(TAG_SEVERITY);
    w.uint32(severity);
  }
  const severityText = r.severityText;
  if (severityText) {
    w.uint32(TAG_SEVERITY_TEXT);
    w.string(severityText);
  }
  if (own !== undefined) writeAccessBody(w, own);
  else {
    const body = r.body;
    if (body !== undefined) {
      w.uint32(TAG_BODY);
      const m = w.begin(body !== null && typeof body === "string" && body.length < 40 ? 1 : 2);
      writeAnyValue(w, body);
      w.end(m);
    }
  }
  writeAttributes(w, r);
  const ctx = r.spanContext;
  if (ctx?.traceFlags) {
    w.uint32(TAG_FLAGS);
    w.fixed32(ctx.traceFlags);
  }
  if (ctx?.traceId) {
    w.uint32(TAG_TRACE_ID);
    w.hexBytes(ctx.traceId);
  }
  if (ctx?.spanId) {
    w.uint32(TAG_SPAN_ID);
    w.hexBytes(ctx.spanId);
  }
  w.uint32(TAG_OBSERVED_TIME);
  if (own !== undefined) w.epochMs(own.facts.observedTimeMs);
  else writeHrTime(w, r.hrTimeObserved);
  if (r.eventName) {
    w.uint32(TAG_EVENT_NAME);
    w.string(r.eventName);
  }
}

/**
 * The body string written part by part: the same bytes as the joined string, without
 * building it. A part that ends inside a surrogate pair would encode differently alone, so
 * the body is then rewritten from the joined string.
 */
function writeAccessBody(w: ProtoWriter, r: AccessLogRecord): void {
  // A jsonFormat body is a map (kgateway offers it on fileSink, which goes to stdout today).
  if (r.log.jsonBody !== undefined) {
    w.uint32(TAG_BODY);
    const map = w.begin(2);
    writeAnyValue(w, r.body);
    w.end(map);
    return;
  }
  const parts = r.log.bodyParts;
  const f = r.facts;
  w.uint32(TAG_BODY);
  const anyValue = w.begin(2);
  w.uint32(ANY_STRING);
  const text = w.begin(2);
  const textStart = w.pos;
  for (let i = 0; i < parts.length; i++) {
    const part = parts[i]!(f);
    if (endsWithHighSurrogate(part)) {
      w.pos = textStart;
      w.utf8(r.log.body(f));
      break;
    }
    w.utf8(part);
  }
  w.end(text);
  w.end(anyValue);
}

function endsWithHighSurrogate(s: string): boolean {
  const last = s.charCodeAt(s.length - 1);
  return last >= 0xd800 && last <= 0xdbff;
}

function writeHrTime(w: ProtoWriter, time: HrTime): void {
  w.hrTime(time[0], time[1]);
}

/** Attributes and dropped_attributes_count. */
function writeAttributes(w: ProtoWriter, r: ReadableLogRecord): void {
  let dropped: number;
  if (r instanceof AccessLogRecord) dropped = sink.write(w, r, r.limits);
  else {
    if (r.attributes) writeKeyValues(w, r.attributes, FIELD_ATTRIBUTES);
    dropped = r.droppedAttributesCount;
  }
  w.uint32(TAG_DROPPED_ATTRIBUTES);
  w.uint32(dropped);
}
