// The envelope shared by trace and log export requests: items grouped by resource, then
// scope (by identity, in first-seen order, as the SDK's serializers do), each group wrapped
// in ResourceX { resource, ScopeX { scope, items }, schema_url }.
//
// A batch can be encoded as its items are queued (EncodedBatch): the request thread then
// pays a few microseconds per item as each request ends, instead of one synchronous pass
// over a whole batch that held requests up for milliseconds, and the queue holds bytes in
// one buffer per resource and scope instead of objects the garbage collector must copy and
// promote. The export only copies the bytes into the envelope.
import type { InstrumentationScope } from "@opentelemetry/core";
import type { Resource } from "@opentelemetry/resources";
import { lengthTag, writeResourceField, writeScopeField } from "./attributes.ts";
import { ProtoWriter } from "./writer.ts";

export interface Grouped {
  readonly resource: Resource;
  readonly instrumentationScope: InstrumentationScope;
}

/** Writes one item's message body (without its tag and length). */
export type ItemWriter<T> = (w: ProtoWriter, item: T) => void;

const ITEM_TAG = lengthTag(2);

function writeItem<T>(w: ProtoWriter, item: T, write: ItemWriter<T>): void {
  w.uint32(ITEM_TAG);
  const m = w.begin(2);
  write(w, item);
  w.end(m);
}

/** Spans or log records already encoded, as the repeated item field of each resource and scope. */
export class EncodedBatch {
  readonly groups = new Map<Resource, Map<InstrumentationScope, ProtoWriter>>();
  count = 0;
  /** Set once its export request is encoded: its buffers then serve the next batches. */
  consumed = false;
  /** The writer holding its export request while a transport may read it (lendRequest). */
  lent: ProtoWriter | undefined = undefined;
}

/** Expected encoded size of one item; a group's buffer starts at a few of them and doubles. */
const ITEM_BYTES_GUESS = 512;

/**
 * Group buffers of batches whose request is already encoded. A full batch's buffer has grown
 * to a few hundred KB by doubling; without reuse every batch allocates and copies that again
 * outside the V8 heap, and the memory comes back only at the next full collection. One batch
 * per exporter fills at a time, so a few spares cover all of them; each is at most
 * ProtoWriter's KEEP_CAPACITY.
 */
const spareGroupWriters: ProtoWriter[] = [];
const MAX_SPARE_GROUP_WRITERS = 4;

function groupWriter(): ProtoWriter {
  return spareGroupWriters.pop() ?? new ProtoWriter(16 * ITEM_BYTES_GUESS);
}

function releaseGroups(batch: EncodedBatch): void {
  batch.consumed = true;
  for (const byScope of batch.groups.values()) {
    for (const w of byScope.values()) {
      if (spareGroupWriters.length >= MAX_SPARE_GROUP_WRITERS) break;
      w.reset();
      spareGroupWriters.push(w);
    }
  }
  batch.groups.clear();
}

export function encodeInto<T extends Grouped>(batch: EncodedBatch, item: T, write: ItemWriter<T>): void {
  if (batch.consumed) throw new Error("EncodedBatch: its export request was already encoded");
  let byScope = batch.groups.get(item.resource);
  if (byScope === undefined) {
    byScope = new Map();
    batch.groups.set(item.resource, byScope);
  }
  let w = byScope.get(item.instrumentationScope);
  if (w === undefined) {
    w = groupWriter();
    byScope.set(item.instrumentationScope, w);
  }
  const mark = w.pos;
  try {
    writeItem(w, item, write);
  } catch (err) {
    // A half-written item would corrupt every other item of the batch, and a group this item
    // opened would leave an empty scope in the request.
    w.pos = mark;
    if (mark === 0) {
      byScope.delete(item.instrumentationScope);
      if (byScope.size === 0) batch.groups.delete(item.resource);
    }
    throw err;
  }
  batch.count++;
}

const writer = new ProtoWriter();

/** One ResourceX message: the resource, then a ScopeX per scope with its items written by writeItems. */
function writeResource<G>(w: ProtoWriter, resource: Resource, byScope: ReadonlyMap<InstrumentationScope, G>, writeItems: (w: ProtoWriter, items: G) => void): void {
  w.uint32(lengthTag(1));
  const rm = w.begin(3);
  writeResourceField(w, resource);
  for (const [scope, items] of byScope) {
    w.uint32(lengthTag(2));
    const sm = w.begin(3);
    writeScopeField(w, scope);
    writeItems(w, items);
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

/** Groups items by resource, then scope, by identity and in first-seen order, as the SDK's serializers do. */
function groupByResourceAndScope<T extends Grouped>(items: readonly T[]): Map<Resource, Map<InstrumentationScope, T[]>> {
  const out = new Map<Resource, Map<InstrumentationScope, T[]>>();
  for (const item of items) {
    let byScope = out.get(item.resource);
    if (byScope === undefined) {
      byScope = new Map();
      out.set(item.resource, byScope);
    }
    let list = byScope.get(item.instrumentationScope);
    if (list === undefined) {
      list = [];
      byScope.set(item.instrumentationScope, list);
    }
    list.push(item);
  }
  return out;
}

function writeEncodedBatch(w: ProtoWriter, batch: EncodedBatch): void {
  // The transport retries with the request's bytes, never the batch: encoding one twice is a bug.
  if (batch.consumed) throw new Error("EncodedBatch: its export request was already encoded");
  for (const [resource, byScope] of batch.groups) writeResource(w, resource, byScope, (out, items) => out.raw(items.buf.subarray(0, items.pos)));
  releaseGroups(batch);
}

/**
 * Writers of requests no transport reads any more. An export request is a few hundred KB:
 * copying it out of a scratch writer into a fresh buffer faulted in new pages for every
 * export, on the request thread, and the copy lived outside the V8 heap until a full
 * collection. Each exporter has at most a few exports in flight, so a few spares cover them;
 * each is at most ProtoWriter's KEEP_CAPACITY.
 */
const spareRequestWriters: ProtoWriter[] = [];
const MAX_SPARE_REQUEST_WRITERS = 4;

/**
 * The export request of an encoded batch, in a pooled buffer that stays the batch's until
 * returnRequest(batch): no copy. Only for a transport that is done with the bytes when its
 * export's result arrives, i.e. the SDK's export delegates, whose result callback fires after
 * the last retry has settled.
 */
export function lendRequest(batch: EncodedBatch): Uint8Array {
  const w = spareRequestWriters.pop() ?? new ProtoWriter();
  try {
    writeEncodedBatch(w, batch);
  } catch (err) {
    w.reset();
    spareRequestWriters.push(w);
    throw err;
  }
  batch.lent = w;
  return w.buf.subarray(0, w.pos);
}

/** The batch's export has its result: the buffer lendRequest gave out serves the next request. */
export function returnRequest(batch: EncodedBatch): void {
  const w = batch.lent;
  if (w === undefined) return;
  batch.lent = undefined;
  if (spareRequestWriters.length >= MAX_SPARE_REQUEST_WRITERS) return;
  w.reset();
  spareRequestWriters.push(w);
}

/** The export request for a batch, in a buffer of its own: items encoded as they were queued, or items to encode now. */
export function encodeRequest<T extends Grouped>(batch: EncodedBatch | readonly T[], write: ItemWriter<T>): Uint8Array {
  const w = writer;
  w.reset();
  if (batch instanceof EncodedBatch) {
    writeEncodedBatch(w, batch);
    return w.finish();
  } else {
    const writeAll = (out: ProtoWriter, items: readonly T[]): void => {
      for (let i = 0; i < items.length; i++) writeItem(out, items[i]!, write);
    };
    for (const [resource, byScope] of groupByResourceAndScope(batch)) writeResource(w, resource, byScope, writeAll);
  }
  return w.finish();
}
