// ExportTraceServiceRequest in protobuf, byte for byte what the SDK's ProtobufTraceSerializer
// writes for the same spans. Tollgate's own spans write their attributes straight into the
// buffer (static blocks copied, ids from hex, nothing built per attribute); any other
// ReadableSpan, and any span whose attributes need the limits applied, go through its
// Attributes object.
import type { ReadableSpan } from "@opentelemetry/sdk-trace";
import { BaseSpan } from "../../trace/spans.ts";
import { lengthTag, ProtoAttributeSink, writeKeyValues } from "./attributes.ts";
import type { BatchFormat } from "../batch-queue.ts";
import { EncodedBatch, encodeInto, encodeRequest } from "./request.ts";
import type { ProtoWriter } from "./writer.ts";

const FLAGS_HAS_IS_REMOTE = 0x100;
const FLAGS_IS_REMOTE = 0x200;
const TAG_TRACE_ID = lengthTag(1);
const TAG_SPAN_ID = lengthTag(2);
const TAG_TRACE_STATE = lengthTag(3);
const TAG_PARENT_SPAN_ID = lengthTag(4);
const TAG_NAME = lengthTag(5);
const TAG_KIND = 6 << 3;
const TAG_START = (7 << 3) | 1;
const TAG_END = (8 << 3) | 1;
const FIELD_ATTRIBUTES = 9;
const TAG_DROPPED_ATTRIBUTES = 10 << 3;
const TAG_EVENT = lengthTag(11);
const TAG_DROPPED_EVENTS = 12 << 3;
const TAG_LINK = lengthTag(13);
const TAG_DROPPED_LINKS = 14 << 3;
const TAG_STATUS = lengthTag(15);
const TAG_FLAGS = (16 << 3) | 5;

const sink = new ProtoAttributeSink(FIELD_ATTRIBUTES);

export type TraceExportBatch = EncodedBatch | readonly ReadableSpan[];

export function encodeTraceExportRequest(batch: TraceExportBatch): Uint8Array {
  return encodeRequest(batch, writeSpan);
}

/** Batches whose spans are encoded as they are queued. */
export const ENCODED_SPAN_BATCHES: BatchFormat<ReadableSpan, EncodedBatch> = {
  create: () => new EncodedBatch(),
  add: (batch, span) => encodeInto(batch, span, writeSpan),
};

function writeSpan(w: ProtoWriter, span: ReadableSpan): void {
  if (span instanceof BaseSpan) writeOwnSpan(w, span);
  else writeReadableSpan(w, span);
}

function writeOwnSpan(w: ProtoWriter, span: BaseSpan): void {
  w.uint32(TAG_TRACE_ID);
  w.hexBytes(span.traceId);
  w.uint32(TAG_SPAN_ID);
  w.hexBytes(span.spanId);
  if (span.traceStateRaw) {
    w.uint32(TAG_TRACE_STATE);
    w.string(span.traceStateRaw);
  }
  const parent = span.parentSpanId;
  if (parent) {
    w.uint32(TAG_PARENT_SPAN_ID);
    w.hexBytes(parent);
  }
  w.uint32(TAG_NAME);
  w.string(span.name);
  w.uint32(TAG_KIND);
  w.uint32(span.kind + 1);
  w.uint32(TAG_START);
  w.epochMs(span.startTimeMs);
  w.uint32(TAG_END);
  w.epochMs(span.endTimeMs);
  const dropped = sink.write(w, span, span.rt.limits);
  w.uint32(TAG_DROPPED_ATTRIBUTES);
  w.uint32(dropped);
  w.uint32(TAG_DROPPED_EVENTS);
  w.uint32(0);
  w.uint32(TAG_DROPPED_LINKS);
  w.uint32(0);
  writeStatus(w, span.isError ? 2 : 0, undefined);
  w.uint32(TAG_FLAGS);
  w.fixed32(spanFlags(span.traceFlags, span.parentIsRemote));
}

/** Any ReadableSpan, field by field as the SDK's serializer writes it. */
function writeReadableSpan(w: ProtoWriter, span: ReadableSpan): void {
  const ctx = span.spanContext();
  w.uint32(TAG_TRACE_ID);
  w.hexBytes(ctx.traceId);
  w.uint32(TAG_SPAN_ID);
  w.hexBytes(ctx.spanId);
  const traceState = ctx.traceState?.serialize();
  if (traceState) {
    w.uint32(TAG_TRACE_STATE);
    w.string(traceState);
  }
  const parent = span.parentSpanContext;
  if (parent?.spanId) {
    w.uint32(TAG_PARENT_SPAN_ID);
    w.hexBytes(parent.spanId);
  }
  w.uint32(TAG_NAME);
  w.string(span.name);
  if (span.kind != null) {
    w.uint32(TAG_KIND);
    w.uint32(span.kind + 1);
  }
  w.uint32(TAG_START);
  w.hrTime(span.startTime[0], span.startTime[1]);
  w.uint32(TAG_END);
  w.hrTime(span.endTime[0], span.endTime[1]);
  if (span.attributes) writeKeyValues(w, span.attributes, FIELD_ATTRIBUTES);
  w.uint32(TAG_DROPPED_ATTRIBUTES);
  w.uint32(span.droppedAttributesCount);
  for (const event of span.events) {
    w.uint32(TAG_EVENT);
    const m = w.begin(1);
    w.uint32((1 << 3) | 1);
    w.hrTime(event.time[0], event.time[1]);
    w.uint32(lengthTag(2));
    w.string(event.name);
    if (event.attributes) writeKeyValues(w, event.attributes, 3);
    w.uint32(4 << 3);
    w.uint32(event.droppedAttributesCount || 0);
    w.end(m);
  }
  w.uint32(TAG_DROPPED_EVENTS);
  w.uint32(span.droppedEventsCount);
  for (const link of span.links) {
    w.uint32(TAG_LINK);
    const m = w.begin(1);
    w.uint32(lengthTag(1));
    w.hexBytes(link.context.traceId);
    w.uint32(lengthTag(2));
    w.hexBytes(link.context.spanId);
    const linkState = link.context.traceState?.serialize();
    if (linkState) {
      w.uint32(lengthTag(3));
      w.string(linkState);
    }
    if (link.attributes) writeKeyValues(w, link.attributes, 4);
    w.uint32(5 << 3);
    w.uint32(link.droppedAttributesCount || 0);
    w.uint32((6 << 3) | 5);
    w.fixed32(spanFlags(link.context.traceFlags, link.context.isRemote));
    w.end(m);
  }
  w.uint32(TAG_DROPPED_LINKS);
  w.uint32(span.droppedLinksCount);
  writeStatus(w, span.status.code, span.status.message);
  w.uint32(TAG_FLAGS);
  w.fixed32(spanFlags(ctx.traceFlags, parent?.isRemote));
}

function writeStatus(w: ProtoWriter, code: number, message: string | undefined): void {
  w.uint32(TAG_STATUS);
  const m = w.begin(1);
  if (message) {
    w.uint32(lengthTag(2));
    w.string(message);
  }
  w.uint32(3 << 3);
  w.uint32(code);
  w.end(m);
}

/** W3C flags in the low byte, plus whether the parent was remote (OTLP 1.3+). */
function spanFlags(traceFlags: number, isRemote: boolean | undefined): number {
  let flags = (traceFlags & 0xff) | FLAGS_HAS_IS_REMOTE;
  if (isRemote) flags |= FLAGS_IS_REMOTE;
  return flags;
}
