// The envelope shared by trace and log export requests: items grouped by resource, then
// scope (by identity, in first-seen order, as the SDK's serializers do), each group wrapped
// in ResourceX { resource, ScopeX { scope, items }, schema_url }.
//
// A batch can be encoded ahead of the export in slices, yielding to the event loop between
// them: one synchronous pass over 512 items held requests up for milliseconds. The export
// then only copies the prepared bytes into the envelope.
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

/** Items per slice: about a quarter of a millisecond of encoding. */
const SLICE = 64;
const ITEM_TAG = lengthTag(2);

/** The repeated item field of each group, encoded ahead, keyed by the batch array the export will receive. */
const prepared = new WeakMap<readonly unknown[], Map<Resource, Map<InstrumentationScope, Uint8Array>>>();

function writeItems<T>(w: ProtoWriter, items: readonly T[], from: number, to: number, writeItem: ItemWriter<T>): void {
  for (let i = from; i < to; i++) {
    w.uint32(ITEM_TAG);
    const m = w.begin(2);
    writeItem(w, items[i]!);
    w.end(m);
  }
}

const yieldToEventLoop = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/** Encodes a batch's items in slices; the request encoder then uses the result. */
export async function prepareRequest<T extends Grouped>(batch: readonly T[], writeItem: ItemWriter<T>): Promise<void> {
  const out = new Map<Resource, Map<InstrumentationScope, Uint8Array>>();
  for (const [resource, byScope] of groupByResourceAndScope(batch)) {
    const scopes = new Map<InstrumentationScope, Uint8Array>();
    for (const [scope, items] of byScope) {
      const w = new ProtoWriter(items.length * 512);
      for (let from = 0; from < items.length; from += SLICE) {
        if (from > 0) await yieldToEventLoop();
        writeItems(w, items, from, Math.min(items.length, from + SLICE), writeItem);
      }
      scopes.set(scope, w.finish());
    }
    out.set(resource, scopes);
  }
  prepared.set(batch, out);
}

const writer = new ProtoWriter();

export function encodeRequest<T extends Grouped>(batch: readonly T[], writeItem: ItemWriter<T>): Uint8Array {
  const ready = prepared.get(batch);
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
      const bytes = ready?.get(resource)?.get(scope);
      if (bytes !== undefined) w.raw(bytes);
      else writeItems(w, items, 0, items.length, writeItem);
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
