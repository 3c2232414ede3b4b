// KeyValue, AnyValue, Resource and InstrumentationScope encoding. What repeats across items
// is encoded once and copied: each attribute key's bytes, each static attribute block of a
// rule or access log, each resource and scope.
import type { Attributes, AttributeValue } from "@opentelemetry/api";
import type { InstrumentationScope } from "@opentelemetry/core";
import type { Resource } from "@opentelemetry/resources";
import type { AttributeSink, StaticAttributes } from "../../attribute-sink.ts";
import type { AttributeLimits } from "../../trace/attributes.ts";
import { ProtoWriter } from "./writer.ts";

/** Wire-type-2 tag of a field. */
export function lengthTag(field: number): number {
  return (field << 3) | 2;
}

/** AnyValue.string_value: field 1, length-delimited. */
export const ANY_STRING = 0x0a;
const ANY_BOOL = 0x10;
const ANY_INT = 0x18;
const ANY_DOUBLE = 0x21;
const ANY_ARRAY = 0x2a;
const ANY_KVLIST = 0x32;
const ANY_BYTES = 0x3a;
const KV_KEY = 0x0a;
const KV_VALUE = 0x12;
const MIN_INT64 = -(2 ** 63);
const MAX_INT64 = 2 ** 63;

/** Keys come from the registry, captured header names and configured fields: few, but bounded anyway. */
const MAX_CACHED_KEYS = 4096;

interface KeyEntry {
  /** KV_KEY, key length, key bytes, KV_VALUE: everything of a KeyValue before its value's length. */
  readonly bytes: Uint8Array;
  /** The item that last wrote this key, to catch a key written twice. */
  stamp: number;
}

const keys = new Map<string, KeyEntry>();
/** Shared by every sink: encoding is synchronous, so one item's stamp is never another's. */
let lastStamp = 0;

function keyEntry(key: string): KeyEntry | undefined {
  let e = keys.get(key);
  if (e === undefined) {
    if (keys.size >= MAX_CACHED_KEYS) return undefined;
    const w = new ProtoWriter(256);
    w.uint32(KV_KEY);
    w.string(key);
    w.uint32(KV_VALUE);
    e = { bytes: w.finish(), stamp: 0 };
    keys.set(key, e);
  }
  return e;
}

export function writeAnyValue(w: ProtoWriter, value: unknown): void {
  switch (typeof value) {
    case "string":
      w.uint32(ANY_STRING);
      w.string(value);
      return;
    case "boolean":
      w.uint32(ANY_BOOL);
      w.uint32(value ? 1 : 0);
      return;
    case "number":
      if (Number.isInteger(value) && value >= MIN_INT64 && value < MAX_INT64) {
        w.uint32(ANY_INT);
        w.int64(value);
      } else {
        w.uint32(ANY_DOUBLE);
        w.double(value);
      }
      return;
  }
  if (value instanceof Uint8Array) {
    w.uint32(ANY_BYTES);
    w.uint32(value.length);
    w.raw(value);
  } else if (Array.isArray(value)) {
    w.uint32(ANY_ARRAY);
    const array = w.begin(1);
    for (const item of value) {
      w.uint32(lengthTag(1));
      const m = w.begin(1);
      writeAnyValue(w, item);
      w.end(m);
    }
    w.end(array);
  } else if (typeof value === "object" && value !== null) {
    w.uint32(ANY_KVLIST);
    const list = w.begin(1);
    writeKeyValues(w, value as Record<string, unknown>, 1);
    w.end(list);
  }
}

function writeKeyValue(w: ProtoWriter, key: string, value: unknown): void {
  const e = keyEntry(key);
  if (e !== undefined) w.raw(e.bytes);
  else {
    w.uint32(KV_KEY);
    w.string(key);
    w.uint32(KV_VALUE);
  }
  const any = w.begin(1);
  writeAnyValue(w, value);
  w.end(any);
}

/** Every own property as a repeated KeyValue field, in the object's order. */
export function writeKeyValues(w: ProtoWriter, attrs: Attributes | Record<string, unknown>, field: number): void {
  const tag = lengthTag(field);
  for (const key in attrs) {
    if (!Object.prototype.hasOwnProperty.call(attrs, key)) continue;
    w.uint32(tag);
    const kv = w.begin(1);
    writeKeyValue(w, key, attrs[key]);
    w.end(kv);
  }
}

interface EncodedBlock {
  readonly bytes: Uint8Array;
  readonly keys: readonly KeyEntry[];
}

/** An item that can put its attributes into a sink, and also has them as an object. */
export interface AttributeSource {
  writeAttributes(sink: AttributeSink): void;
  readonly attributes: Attributes;
  readonly droppedAttributesCount: number;
}

/**
 * Writes the attributes an item puts straight into the writer, as one repeated KeyValue
 * field. It gives up when the item writes a key twice, more keys than the count limit
 * allows, or a key that cannot be cached, and when values must be truncated: the item is
 * then encoded from its Attributes object, which has the SDK's semantics for all of these.
 */
export class ProtoAttributeSink implements AttributeSink {
  readonly #field: number;
  readonly #tag: number;
  #w: ProtoWriter = new ProtoWriter(0);
  #stamp = 0;
  #count = 0;
  #failed = false;
  /** Per static block identity, the block encoded for this field. */
  readonly #blocks = new WeakMap<StaticAttributes, EncodedBlock>();

  constructor(field: number) {
    this.#field = field;
    this.#tag = lengthTag(field);
  }

  /** Writes the item's attributes; returns its dropped_attributes_count. */
  write(w: ProtoWriter, item: AttributeSource, limits: AttributeLimits): number {
    if (Number.isFinite(limits.valueLengthLimit)) return this.#writeObject(w, item);
    const mark = w.pos;
    this.#w = w;
    this.#stamp = ++lastStamp;
    this.#count = 0;
    this.#failed = false;
    item.writeAttributes(this);
    if (!this.#failed && this.#count <= limits.countLimit) return 0;
    w.pos = mark;
    return this.#writeObject(w, item);
  }

  #writeObject(w: ProtoWriter, item: AttributeSource): number {
    writeKeyValues(w, item.attributes, this.#field);
    return item.droppedAttributesCount;
  }

  put(key: string, value: AttributeValue): void {
    if (this.#failed) return;
    const e = keyEntry(key);
    if (e === undefined || e.stamp === this.#stamp) {
      this.#failed = true;
      return;
    }
    e.stamp = this.#stamp;
    this.#count++;
    const w = this.#w;
    if (typeof value === "string") {
      if (w.keyValueString(this.#tag, e.bytes, value)) return;
    } else if (typeof value === "number" && value >= 0 && value < 0x10000000 && Number.isInteger(value)) {
      if (w.keyValueSmallInt(this.#tag, e.bytes, value)) return;
    }
    w.uint32(this.#tag);
    const kv = w.begin(1);
    w.raw(e.bytes);
    const any = w.begin(1);
    writeAnyValue(w, value);
    w.end(any);
    w.end(kv);
  }

  putStatic(block: StaticAttributes): void {
    if (this.#failed) return;
    let encoded = this.#blocks.get(block);
    if (encoded === undefined) {
      encoded = this.#encodeBlock(block);
      if (encoded === undefined) {
        this.#failed = true;
        return;
      }
      this.#blocks.set(block, encoded);
    }
    for (const e of encoded.keys) {
      if (e.stamp === this.#stamp) {
        this.#failed = true;
        return;
      }
      e.stamp = this.#stamp;
    }
    this.#count += encoded.keys.length;
    this.#w.raw(encoded.bytes);
  }

  #encodeBlock(block: StaticAttributes): EncodedBlock | undefined {
    const w = new ProtoWriter(256);
    const entries: KeyEntry[] = [];
    for (const [key, value] of block) {
      const e = keyEntry(key);
      // A block that repeats a key is left to the object path.
      if (e === undefined || entries.includes(e)) return undefined;
      entries.push(e);
      w.uint32(this.#tag);
      const kv = w.begin(1);
      w.raw(e.bytes);
      const any = w.begin(1);
      writeAnyValue(w, value);
      w.end(any);
      w.end(kv);
    }
    return { bytes: w.finish(), keys: entries };
  }
}

const resources = new WeakMap<Resource, Uint8Array>();
const scopes = new WeakMap<InstrumentationScope, Uint8Array>();

/** Field 1 of ResourceSpans / ResourceLogs, encoded once per resource. */
export function writeResourceField(w: ProtoWriter, resource: Resource): void {
  let bytes = resources.get(resource);
  if (bytes === undefined) {
    const r = new ProtoWriter(256);
    r.uint32(lengthTag(1));
    const m = r.begin(2);
    if (resource.attributes) writeKeyValues(r, resource.attributes, 1);
    r.uint32(0x10);
    r.uint32(0);
    r.end(m);
    bytes = r.finish();
    resources.set(resource, bytes);
  }
  w.raw(bytes);
}

/** Field 1 of ScopeSpans / ScopeLogs, encoded once per scope. */
export function writeScopeField(w: ProtoWriter, scope: InstrumentationScope & { attributes?: Attributes; droppedAttributesCount?: number }): void {
  let bytes = scopes.get(scope);
  if (bytes === undefined) {
    const s = new ProtoWriter(256);
    s.uint32(lengthTag(1));
    const m = s.begin(1);
    s.uint32(lengthTag(1));
    s.string(scope.name);
    if (scope.version) {
      s.uint32(lengthTag(2));
      s.string(scope.version);
    }
    if (scope.attributes) writeKeyValues(s, scope.attributes, 3);
    if (scope.droppedAttributesCount) {
      s.uint32(0x20);
      s.uint32(scope.droppedAttributesCount);
    }
    s.end(m);
    bytes = s.finish();
    scopes.set(scope, bytes);
  }
  w.raw(bytes);
}
