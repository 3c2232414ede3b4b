// Flattens the OTLP JSON the collector's file exporter writes (one ExportXServiceRequest
// per line: hex ids, 64-bit integers as strings, enums as numbers) into records with plain
// attribute maps, the resource attached to each.
type Json = Record<string, unknown>;
export type Attrs = Record<string, unknown>;

export interface FileSpan {
  readonly traceId: string;
  readonly spanId: string;
  readonly parentSpanId: string;
  readonly name: string;
  readonly kind: number;
  readonly statusCode: number;
  readonly attributes: Attrs;
  readonly resource: Attrs;
}

export interface FileLog {
  readonly traceId: string;
  readonly spanId: string;
  readonly severityNumber: number;
  readonly eventName: string;
  readonly body: unknown;
  readonly attributes: Attrs;
  readonly resource: Attrs;
}

export interface FilePoint {
  readonly metric: string;
  readonly unit: string;
  /** `sum`, `gauge`, `histogram` or `exponentialHistogram`. */
  readonly type: string;
  /** 1 delta, 2 cumulative, 0 for gauges. */
  readonly temporality: number;
  readonly attributes: Attrs;
  readonly startTimeUnixNano: bigint;
  readonly timeUnixNano: bigint;
  /** Histogram count, or the sum/gauge value. */
  readonly value: number;
  readonly exemplars: readonly { readonly traceId: string; readonly spanId: string }[];
  readonly resource: Attrs;
}

const arr = (v: unknown): Json[] => (Array.isArray(v) ? (v as Json[]) : []);
const obj = (v: unknown): Json => (typeof v === "object" && v !== null ? (v as Json) : {});

export function anyValue(v: unknown): unknown {
  const o = obj(v);
  if ("stringValue" in o) return o["stringValue"];
  if ("intValue" in o) return Number(o["intValue"]);
  if ("doubleValue" in o) return Number(o["doubleValue"]);
  if ("boolValue" in o) return o["boolValue"];
  if ("arrayValue" in o) return arr(obj(o["arrayValue"])["values"]).map(anyValue);
  if ("kvlistValue" in o) return attrs(obj(o["kvlistValue"])["values"]);
  if ("bytesValue" in o) return o["bytesValue"];
  return undefined;
}

export function attrs(list: unknown): Attrs {
  const out: Attrs = {};
  for (const kv of arr(list)) out[String(kv["key"])] = anyValue(kv["value"]);
  return out;
}

export function spansOf(lines: readonly unknown[]): FileSpan[] {
  return lines.flatMap((line) =>
    arr(obj(line)["resourceSpans"]).flatMap((rs) => {
      const resource = attrs(obj(rs["resource"])["attributes"]);
      return arr(rs["scopeSpans"]).flatMap((ss) =>
        arr(ss["spans"]).map((s) => ({
          traceId: String(s["traceId"] ?? ""),
          spanId: String(s["spanId"] ?? ""),
          parentSpanId: String(s["parentSpanId"] ?? ""),
          name: String(s["name"] ?? ""),
          kind: Number(s["kind"] ?? 0),
          statusCode: Number(obj(s["status"])["code"] ?? 0),
          attributes: attrs(s["attributes"]),
          resource,
        })),
      );
    }),
  );
}

export function logsOf(lines: readonly unknown[]): FileLog[] {
  return lines.flatMap((line) =>
    arr(obj(line)["resourceLogs"]).flatMap((rl) => {
      const resource = attrs(obj(rl["resource"])["attributes"]);
      return arr(rl["scopeLogs"]).flatMap((sl) =>
        arr(sl["logRecords"]).map((r) => ({
          traceId: String(r["traceId"] ?? ""),
          spanId: String(r["spanId"] ?? ""),
          severityNumber: Number(r["severityNumber"] ?? 0),
          eventName: String(r["eventName"] ?? ""),
          body: anyValue(r["body"]),
          attributes: attrs(r["attributes"]),
          resource,
        })),
      );
    }),
  );
}

export function pointsOf(lines: readonly unknown[]): FilePoint[] {
  return lines.flatMap((line) =>
    arr(obj(line)["resourceMetrics"]).flatMap((rm) => {
      const resource = attrs(obj(rm["resource"])["attributes"]);
      return arr(rm["scopeMetrics"]).flatMap((sm) =>
        arr(sm["metrics"]).flatMap((m) => {
          const type = ["sum", "gauge", "histogram", "exponentialHistogram"].find((t) => t in m) ?? "unknown";
          const data = obj(m[type]);
          return arr(data["dataPoints"]).map((p) => ({
            metric: String(m["name"]),
            unit: String(m["unit"] ?? ""),
            type,
            temporality: Number(data["aggregationTemporality"] ?? 0),
            attributes: attrs(p["attributes"]),
            startTimeUnixNano: BigInt(String(p["startTimeUnixNano"] ?? "0")),
            timeUnixNano: BigInt(String(p["timeUnixNano"] ?? "0")),
            value: type.endsWith("istogram") ? Number(p["count"] ?? 0) : Number(p["asInt"] ?? p["asDouble"] ?? 0),
            exemplars: arr(p["exemplars"]).map((e) => ({ traceId: String(e["traceId"] ?? ""), spanId: String(e["spanId"] ?? "") })),
            resource,
          }));
        }),
      );
    }),
  );
}

/**
 * The total a metric reached: cumulative points are running totals (the latest per
 * attribute set and start time counts), delta points add up.
 */
export function total(points: readonly FilePoint[]): number {
  const latest = new Map<string, FilePoint>();
  let delta = 0;
  for (const p of points) {
    if (p.temporality === 1) {
      delta += p.value;
      continue;
    }
    const key = `${JSON.stringify(p.attributes)}|${p.startTimeUnixNano}`;
    const prev = latest.get(key);
    if (prev === undefined || p.timeUnixNano > prev.timeUnixNano) latest.set(key, p);
  }
  return delta + [...latest.values()].reduce((s, p) => s + p.value, 0);
}
