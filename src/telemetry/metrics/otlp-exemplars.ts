// The SDK's metric serialisers, plus exemplars. The JS SDK's data model has no exemplars,
// so the official transformer writes none; we let it serialise the request exactly as it
// does and then add each data point's Exemplar messages (protobuf field 8 of
// HistogramDataPoint, 11 of ExponentialHistogramDataPoint; `exemplars` in OTLP/JSON).
// Nothing else in the payload changes. This runs at export time, never per request.
import type { ResourceMetrics } from "@opentelemetry/sdk-metrics";
import { JsonMetricsSerializer, ProtobufMetricsSerializer, type ISerializer, type IExportMetricsServiceResponse } from "@opentelemetry/otlp-transformer";
import { exemplarsOf } from "./collect.ts";
import type { Exemplar } from "./histograms.ts";

type MetricsSerializer = ISerializer<ResourceMetrics, IExportMetricsServiceResponse>;

/** Exemplars per [scope][metric][dataPoint], or undefined when the request has none. */
function exemplarPlan(rm: ResourceMetrics): (readonly (readonly Exemplar[])[] | undefined)[][] | undefined {
  let any = false;
  const plan = rm.scopeMetrics.map((sm) =>
    sm.metrics.map((m) => {
      const e = exemplarsOf(m);
      if (e !== undefined && e.some((x) => x.length > 0)) any = true;
      return e;
    }),
  );
  return any ? plan : undefined;
}

// ------------------------------------------------------------------ protobuf

interface Field {
  readonly field: number;
  readonly wire: number;
  /** The whole field, tag included. */
  readonly start: number;
  readonly end: number;
  /** Payload of a length-delimited field. */
  readonly valueStart: number;
}

function readVarint(buf: Uint8Array, pos: number): [value: number, next: number] {
  let value = 0;
  let shift = 0;
  for (;;) {
    const b = buf[pos++]!;
    value += (b & 0x7f) * 2 ** shift;
    if ((b & 0x80) === 0) return [value, pos];
    shift += 7;
  }
}

function fields(buf: Uint8Array, start: number, end: number): Field[] {
  const out: Field[] = [];
  let pos = start;
  while (pos < end) {
    const fieldStart = pos;
    const [tag, p1] = readVarint(buf, pos);
    const wire = tag & 7;
    const field = Math.floor(tag / 8);
    let valueStart = p1;
    let next: number;
    if (wire === 0) next = readVarint(buf, p1)[1];
    else if (wire === 1) next = p1 + 8;
    else if (wire === 5) next = p1 + 4;
    else if (wire === 2) {
      const [len, p2] = readVarint(buf, p1);
      valueStart = p2;
      next = p2 + len;
    } else throw new Error(`unexpected wire type ${wire}`);
    out.push({ field, wire, start: fieldStart, end: next, valueStart });
    pos = next;
  }
  return out;
}

function varint(n: number): number[] {
  const out: number[] = [];
  while (n > 127) {
    out.push((n % 128) | 0x80);
    n = Math.floor(n / 128);
  }
  out.push(n);
  return out;
}

function lengthDelimited(field: number, payload: Uint8Array): Uint8Array {
  const head = [...varint(field * 8 + 2), ...varint(payload.length)];
  const out = new Uint8Array(head.length + payload.length);
  out.set(head, 0);
  out.set(payload, head.length);
  return out;
}

function concat(parts: readonly Uint8Array[]): Uint8Array {
  let n = 0;
  for (const p of parts) n += p.length;
  const out = new Uint8Array(n);
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

function encodeExemplar(e: Exemplar): Uint8Array {
  const buf = new Uint8Array(9 + 9 + 10 + 18);
  const view = new DataView(buf.buffer);
  let o = 0;
  buf[o++] = 0x11; // 2: time_unix_nano, fixed64
  view.setBigUint64(o, BigInt(Math.round(e.timeMs * 1000)) * 1000n, true);
  o += 8;
  buf[o++] = 0x19; // 3: as_double
  view.setFloat64(o, e.value, true);
  o += 8;
  buf[o++] = 0x22; // 4: span_id
  buf[o++] = 8;
  buf.set(Buffer.from(e.spanId, "hex"), o);
  o += 8;
  buf[o++] = 0x2a; // 5: trace_id
  buf[o++] = 16;
  buf.set(Buffer.from(e.traceId, "hex"), o);
  return buf;
}

/** Rebuilds one message, replacing the given child fields (by index) with new bytes. */
function rebuild(buf: Uint8Array, fs: readonly Field[], replace: ReadonlyMap<number, Uint8Array>): Uint8Array {
  return concat(fs.map((f, i) => replace.get(i) ?? buf.subarray(f.start, f.end)));
}

function patchProtobuf(bytes: Uint8Array, plan: (readonly (readonly Exemplar[])[] | undefined)[][]): Uint8Array {
  const top = fields(bytes, 0, bytes.length);
  const rmIndex = top.findIndex((f) => f.field === 1);
  if (rmIndex < 0) return bytes;
  const rmField = top[rmIndex]!;
  const rmFields = fields(bytes, rmField.valueStart, rmField.end);
  const rmReplace = new Map<number, Uint8Array>();
  let scopeNo = 0;
  rmFields.forEach((sf, si) => {
    if (sf.field !== 2) return;
    const scopePlan = plan[scopeNo++];
    if (scopePlan === undefined) return;
    const smFields = fields(bytes, sf.valueStart, sf.end);
    const smReplace = new Map<number, Uint8Array>();
    let metricNo = 0;
    smFields.forEach((mf, mi) => {
      if (mf.field !== 2) return;
      const metricPlan = scopePlan[metricNo++];
      if (metricPlan === undefined || !metricPlan.some((x) => x.length > 0)) return;
      const mFields = fields(bytes, mf.valueStart, mf.end);
      const mReplace = new Map<number, Uint8Array>();
      mFields.forEach((hf, hi) => {
        if (hf.field !== 9 && hf.field !== 10) return;
        const exemplarField = hf.field === 9 ? 8 : 11;
        const hFields = fields(bytes, hf.valueStart, hf.end);
        const hReplace = new Map<number, Uint8Array>();
        let pointNo = 0;
        hFields.forEach((pf, pi) => {
          if (pf.field !== 1) return;
          const ex = metricPlan[pointNo++] ?? [];
          if (ex.length === 0) return;
          const payload = concat([bytes.subarray(pf.valueStart, pf.end), ...ex.map((e) => lengthDelimited(exemplarField, encodeExemplar(e)))]);
          hReplace.set(pi, lengthDelimited(1, payload));
        });
        mReplace.set(hi, lengthDelimited(hf.field, rebuild(bytes, hFields, hReplace)));
      });
      smReplace.set(mi, lengthDelimited(2, rebuild(bytes, mFields, mReplace)));
    });
    rmReplace.set(si, lengthDelimited(2, rebuild(bytes, smFields, smReplace)));
  });
  const topReplace = new Map<number, Uint8Array>([[rmIndex, lengthDelimited(1, rebuild(bytes, rmFields, rmReplace))]]);
  return rebuild(bytes, top, topReplace);
}

export const ProtobufMetricsWithExemplars: MetricsSerializer = {
  serializeRequest(rm: ResourceMetrics): Uint8Array | undefined {
    const bytes = ProtobufMetricsSerializer.serializeRequest(rm);
    const plan = exemplarPlan(rm);
    if (bytes === undefined || plan === undefined) return bytes;
    return patchProtobuf(bytes, plan);
  },
  deserializeResponse: (data: Uint8Array) => ProtobufMetricsSerializer.deserializeResponse(data),
};

// ------------------------------------------------------------------ OTLP/JSON

interface JsonPoint {
  exemplars?: unknown[];
}

export const JsonMetricsWithExemplars: MetricsSerializer = {
  serializeRequest(rm: ResourceMetrics): Uint8Array | undefined {
    const bytes = JsonMetricsSerializer.serializeRequest(rm);
    const plan = exemplarPlan(rm);
    if (bytes === undefined || plan === undefined) return bytes;
    const req = JSON.parse(new TextDecoder().decode(bytes)) as {
      resourceMetrics?: { scopeMetrics?: { metrics?: Record<string, { dataPoints?: JsonPoint[] } | unknown>[] }[] }[];
    };
    const scopes = req.resourceMetrics?.[0]?.scopeMetrics ?? [];
    scopes.forEach((sm, si) => {
      (sm.metrics ?? []).forEach((m, mi) => {
        const metricPlan = plan[si]?.[mi];
        if (metricPlan === undefined) return;
        const data = (m["histogram"] ?? m["exponentialHistogram"]) as { dataPoints?: JsonPoint[] } | undefined;
        (data?.dataPoints ?? []).forEach((p, pi) => {
          const ex = metricPlan[pi] ?? [];
          if (ex.length === 0) return;
          p.exemplars = ex.map((e) => ({
            timeUnixNano: String(BigInt(Math.round(e.timeMs * 1000)) * 1000n),
            asDouble: e.value,
            spanId: e.spanId,
            traceId: e.traceId,
          }));
        });
      });
    });
    return new TextEncoder().encode(JSON.stringify(req));
  },
  deserializeResponse: (data: Uint8Array) => JsonMetricsSerializer.deserializeResponse(data),
};
