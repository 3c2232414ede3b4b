// The compact form in which spans and log records cross to the export thread. A batch is
// one flat array of primitives (structured clone copies a dense array of strings and
// numbers far faster than objects with named keys), plus the definitions of resources and
// scopes the receiving side has not seen yet. The export thread rebuilds plain objects that
// have exactly the ReadableSpan / ReadableLogRecord fields the SDK's OTLP serializers read,
// so the bytes on the wire are the SDK's own.
import type { AnyValue } from "@opentelemetry/api-logs";
import type { Attributes, AttributeValue, HrTime, Link, SpanContext, SpanStatus } from "@opentelemetry/api";
import type { InstrumentationScope } from "@opentelemetry/core";
import type { Resource } from "@opentelemetry/resources";
import type { ReadableLogRecord } from "@opentelemetry/sdk-logs";
import type { ReadableSpan, TimedEvent } from "@opentelemetry/sdk-trace";
import { RawTraceState } from "../trace/spans.ts";

export type WireSignal = "traces" | "logs";

export type WireDef =
  | { readonly type: "resource"; readonly id: number; readonly attributes: Attributes; readonly schemaUrl: string | undefined }
  | { readonly type: "scope"; readonly id: number; readonly name: string; readonly version: string | undefined; readonly schemaUrl: string | undefined }
  | { readonly type: "key"; readonly id: number; readonly name: string };

/** Attribute keys numbered per export thread; the set is small and fixed (registry, captured headers, configured fields), but a bound keeps it so. */
const MAX_KEYS = 4096;

export interface WireBatch {
  readonly signal: WireSignal;
  readonly count: number;
  readonly data: unknown[];
  readonly defs: WireDef[];
}

/**
 * Numbers resources and scopes by identity, once per export thread, so each batch carries
 * only ids. The OTLP serializers group by identity too, so one id is one ResourceSpans.
 */
export class WireDefinitions {
  readonly #resources = new Map<Resource, number>();
  readonly #scopes = new Map<InstrumentationScope, number>();
  readonly #keys = new Map<string, number>();
  #next = 1;

  /** A key's number, or the key itself once the table is full. */
  key(k: string, defs: WireDef[]): number | string {
    let id = this.#keys.get(k);
    if (id === undefined) {
      if (this.#keys.size >= MAX_KEYS) return k;
      id = this.#keys.size;
      this.#keys.set(k, id);
      defs.push({ type: "key", id, name: k });
    }
    return id;
  }

  resourceId(r: Resource, defs: WireDef[]): number {
    let id = this.#resources.get(r);
    if (id === undefined) {
      id = this.#next++;
      this.#resources.set(r, id);
      defs.push({ type: "resource", id, attributes: { ...r.attributes }, schemaUrl: r.schemaUrl });
    }
    return id;
  }

  scopeId(s: InstrumentationScope, defs: WireDef[]): number {
    let id = this.#scopes.get(s);
    if (id === undefined) {
      id = this.#next++;
      this.#scopes.set(s, id);
      defs.push({ type: "scope", id, name: s.name, version: s.version, schemaUrl: s.schemaUrl });
    }
    return id;
  }

  /** After the export thread restarts, everything must be defined again. */
  reset(): void {
    this.#resources.clear();
    this.#scopes.clear();
    this.#keys.clear();
  }
}

function pushAttributes(out: unknown[], a: Attributes, defs: WireDef[], table: WireDefinitions): void {
  const at = out.length;
  out.push(0);
  let n = 0;
  for (const k in a) {
    const v = a[k];
    if (v === undefined) continue;
    out.push(table.key(k, defs), v);
    n++;
  }
  out[at] = n;
}

/** Appends one span; reads each lazily built field exactly once. */
export function encodeSpan(out: unknown[], s: ReadableSpan, defs: WireDef[], table: WireDefinitions): void {
  const ctx = s.spanContext();
  const parent = s.parentSpanContext;
  const st = s.startTime;
  const et = s.endTime;
  const status = s.status;
  const attributes = s.attributes;
  out.push(
    s.kind,
    s.name,
    ctx.traceId,
    ctx.spanId,
    ctx.traceFlags,
    ctx.traceState?.serialize() ?? "",
    parent?.spanId ?? "",
    parent === undefined ? -1 : parent.isRemote === true ? 1 : 0,
    st[0],
    st[1],
    et[0],
    et[1],
    status.code,
    status.message ?? "",
    s.droppedAttributesCount,
    s.droppedEventsCount,
    s.droppedLinksCount,
    table.resourceId(s.resource, defs),
    table.scopeId(s.instrumentationScope, defs),
    s.events.length === 0 ? 0 : s.events.map((e) => ({ ...e })),
    s.links.length === 0 ? 0 : s.links.map((l) => ({ ...l, context: { ...l.context, traceState: l.context.traceState?.serialize() } })),
  );
  pushAttributes(out, attributes, defs, table);
}

export function encodeLogRecord(out: unknown[], r: ReadableLogRecord, defs: WireDef[], table: WireDefinitions): void {
  const t = r.hrTime;
  const o = r.hrTimeObserved;
  const sc = r.spanContext;
  out.push(
    t[0],
    t[1],
    o[0],
    o[1],
    r.severityNumber ?? -1,
    r.severityText ?? "",
    r.body === undefined ? null : r.body,
    r.eventName ?? "",
    sc?.traceId ?? "",
    sc?.spanId ?? "",
    sc?.traceFlags ?? 0,
    r.droppedAttributesCount,
    table.resourceId(r.resource, defs),
    table.scopeId(r.instrumentationScope, defs),
  );
  pushAttributes(out, r.attributes, defs, table);
}

/** The export thread's side: definitions by id, kept for the thread's life. */
export class WireRegistry {
  readonly #resources = new Map<number, Resource>();
  readonly #scopes = new Map<number, InstrumentationScope>();
  readonly keys: string[] = [];
  readonly #makeResource: (attributes: Attributes, schemaUrl: string | undefined) => Resource;

  constructor(makeResource: (attributes: Attributes, schemaUrl: string | undefined) => Resource) {
    this.#makeResource = makeResource;
  }

  define(defs: readonly WireDef[]): void {
    for (const d of defs) {
      if (d.type === "key") this.keys[d.id] = d.name;
      else if (d.type === "resource") this.#resources.set(d.id, this.#makeResource(d.attributes, d.schemaUrl));
      else this.#scopes.set(d.id, { name: d.name, version: d.version, schemaUrl: d.schemaUrl });
    }
  }

  resource(id: number): Resource {
    const r = this.#resources.get(id);
    if (r === undefined) throw new Error(`export thread: unknown resource ${id}`);
    return r;
  }

  scope(id: number): InstrumentationScope {
    const s = this.#scopes.get(id);
    if (s === undefined) throw new Error(`export thread: unknown scope ${id}`);
    return s;
  }
}

function readAttributes(data: readonly unknown[], at: number, keys: readonly string[]): [Attributes, number] {
  const n = data[at] as number;
  const a: Attributes = {};
  let i = at + 1;
  for (let k = 0; k < n; k++, i += 2) {
    const key = data[i];
    a[typeof key === "number" ? keys[key]! : (key as string)] = data[i + 1] as AttributeValue;
  }
  return [a, i];
}

const hr = (s: unknown, ns: unknown): HrTime => [s as number, ns as number];

export function decodeSpans(batch: WireBatch, reg: WireRegistry): ReadableSpan[] {
  const d = batch.data;
  const out: ReadableSpan[] = new Array(batch.count);
  let i = 0;
  for (let n = 0; n < batch.count; n++) {
    const traceId = d[i + 2] as string;
    const traceFlags = d[i + 4] as number;
    const ts = d[i + 5] as string;
    const ctx: SpanContext = { traceId, spanId: d[i + 3] as string, traceFlags, isRemote: false };
    if (ts !== "") ctx.traceState = new RawTraceState(ts);
    const parentId = d[i + 6] as string;
    const parentRemote = d[i + 7] as number;
    const parent: SpanContext | undefined = parentRemote === -1 ? undefined : { traceId, spanId: parentId, traceFlags, isRemote: parentRemote === 1 };
    const startTime = hr(d[i + 8], d[i + 9]);
    const endTime = hr(d[i + 10], d[i + 11]);
    const message = d[i + 13] as string;
    const status: SpanStatus = message === "" ? { code: d[i + 12] as number } : { code: d[i + 12] as number, message };
    const rawEvents = d[i + 19];
    const rawLinks = d[i + 20];
    const [attributes, next] = readAttributes(d, i + 21, reg.keys);
    const span: ReadableSpan = {
      kind: d[i] as number,
      name: d[i + 1] as string,
      spanContext: () => ctx,
      parentSpanContext: parent,
      startTime,
      endTime,
      status,
      attributes,
      links: rawLinks === 0 ? [] : (rawLinks as Array<Link & { context: { traceState?: string } }>).map(reviveLink),
      events: rawEvents === 0 ? [] : (rawEvents as TimedEvent[]),
      duration: hrDiff(startTime, endTime),
      ended: true,
      resource: reg.resource(d[i + 17] as number),
      instrumentationScope: reg.scope(d[i + 18] as number),
      droppedAttributesCount: d[i + 14] as number,
      droppedEventsCount: d[i + 15] as number,
      droppedLinksCount: d[i + 16] as number,
    };
    out[n] = span;
    i = next;
  }
  return out;
}

function reviveLink(l: Link & { context: { traceState?: unknown } }): Link {
  const raw = l.context.traceState;
  const context: SpanContext = { traceId: l.context.traceId, spanId: l.context.spanId, traceFlags: l.context.traceFlags, isRemote: l.context.isRemote };
  if (typeof raw === "string") context.traceState = new RawTraceState(raw);
  return { ...l, context };
}

function hrDiff(a: HrTime, b: HrTime): HrTime {
  let s = b[0] - a[0];
  let ns = b[1] - a[1];
  if (ns < 0) {
    s -= 1;
    ns += 1e9;
  }
  return [s, ns];
}

export function decodeLogRecords(batch: WireBatch, reg: WireRegistry): ReadableLogRecord[] {
  const d = batch.data;
  const out: ReadableLogRecord[] = new Array(batch.count);
  let i = 0;
  for (let n = 0; n < batch.count; n++) {
    const traceId = d[i + 8] as string;
    const severityNumber = d[i + 4] as number;
    const severityText = d[i + 5] as string;
    const eventName = d[i + 7] as string;
    const [attributes, next] = readAttributes(d, i + 14, reg.keys);
    const record: ReadableLogRecord = {
      hrTime: hr(d[i], d[i + 1]),
      hrTimeObserved: hr(d[i + 2], d[i + 3]),
      spanContext: traceId === "" ? undefined : { traceId, spanId: d[i + 9] as string, traceFlags: d[i + 10] as number, isRemote: false },
      severityNumber: severityNumber === -1 ? undefined : severityNumber,
      severityText: severityText === "" ? undefined : severityText,
      body: d[i + 6] === null ? undefined : (d[i + 6] as AnyValue),
      eventName: eventName === "" ? undefined : eventName,
      resource: reg.resource(d[i + 12] as number),
      instrumentationScope: reg.scope(d[i + 13] as number),
      attributes,
      droppedAttributesCount: d[i + 11] as number,
    };
    out[n] = record;
    i = next;
  }
  return out;
}
