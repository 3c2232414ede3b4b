// The envelope shared by trace and log export requests: items grouped by resource, then
// scope (by identity, in first-seen order, as the SDK's serializers do), each group wrapped
// in ResourceX { resource, ScopeX { scope, items }, schema_url }.
//
// An item can be encoded when it is queued (EncodedItem): the request thread then pays a
// few microseconds per item as each request ends, instead of one synchronous pass over a
// whole batch that held requests up for milliseconds, and the queue holds bytes instead of
// the objects behind them. The export only copies the bytes into the envelope.
import type { InstrumentationScope } from "@opentelemetry/core";
import type { Resource } from "@opentelemetry/resources";
import { groupByResourceAndScope, lengthTag, writeResourceField, writeScopeField } from "./attributes.ts";
import { ProtoWriter } from "./writer.ts";

export interface Grouped {
  readonly resource: Resource;
  readonly instrumentationScope: InstrumentationScope;
}

/** Writes one item's message body (without its tag and length). */
export type ItemWriter<T> = (w: ProtoWriter, item: T) => void;

const ITEM_TAG = lengthTag(2);

/** One span or log record as the repeated field of its ScopeX message: tag, length, body. */
export class EncodedItem implements Grouped {
  readonly resource: Resource;
  readonly instrumentationScope: InstrumentationScope;
  readonly bytes: Uint8Array;

  constructor(resource: Resource, scope: InstrumentationScope, bytes: Uint8Array) {
    this.resource = resource;
    this.instrumentationScope = scope;
    this.bytes = bytes;
  }
}

function writeItem<T>(w: ProtoWriter, item: T, write: ItemWriter<T>): void {
  w.uint32(ITEM_TAG);
  const m = w.begin(2);
  write(w, item);
  w.end(m);
}

const itemWriter = new ProtoWriter();

export function encodeItem<T extends Grouped>(item: T, write: ItemWriter<T>): EncodedItem {
  const w = itemWriter;
  w.reset();
  writeItem(w, item, write);
  // A copy from Node's buffer pool: small items share slabs instead of one allocation each.
  const bytes = Buffer.allocUnsafe(w.pos);
  w.buf.copy(bytes, 0, 0, w.pos);
  return new EncodedItem(item.resource, item.instrumentationScope, bytes);
}

const writer = new ProtoWriter();

/** The export request for a batch of items, each already encoded or not. */
export function encodeRequest<T extends Grouped>(batch: readonly (T | EncodedItem)[], write: ItemWriter<T>): Uint8Array {
  const w = writer;
  w.reset();
  for (const [resource, byScope] of groupByResourceAndScope(batch)) {
    w.uint32(lengthTag(1));
    const rm = w.begin(3);
    writeResourceField(w, resource);
    for (const [scope, items] of byScope) {
      w.uint32(lengthTag(2));
      const sm = w.begin(3);
      writeScopeField(w, scope);
      for (let i = 0; i < items.length; i++) {
        const item = items[i]!;
        if (item instanceof EncodedItem) w.raw(item.bytes);
        else writeItem(w, item, write);
      }
      if (scope.schemaUrl) {
        w.uint32(lengthTag(3));
        w.string(scope.schemaUrl);
      }
      w.end(sm);
    }
    if (resource.schemaUrl) {
      w.uint32(lengthTag(3));
      w.string(resource.schemaUrl);
    }
    w.end(rm);
  }
  return w.finish();
}
