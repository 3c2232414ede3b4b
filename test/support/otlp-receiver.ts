// In-process OTLP receivers for tests: gRPC (@grpc/grpc-js) and HTTP (node:http, protobuf
// and JSON bodies, gzip), for traces, logs and metrics. Every payload is decoded with the
// official protos in ../shared/otlp-proto (protobufjs; JSON bodies are checked against the
// same protos and built with Type.fromObject + verify), then flattened into plain records
// (hex ids, attribute maps) that tests can assert on directly.
//
//   const rx = await startOtlpReceiver("grpc");          // or "http"
//   t.after(() => rx.close());
//   ... OTEL_EXPORTER_OTLP_ENDPOINT = rx.url ...
//   const spans = await rx.waitForSpans((s) => s.length >= 2);
//
// Also: blackHoleServer() accepts TCP and never answers; closedPort() is a port nobody
// listens on.
import { createServer as createHttpServer, type IncomingMessage, type Server as HttpServer } from "node:http";
import { createServer as createNetServer, type Server as NetServer, type Socket } from "node:net";
import { gunzipSync } from "node:zlib";
import { fileURLToPath } from "node:url";
import * as grpc from "@grpc/grpc-js";
import protobuf from "protobufjs";

export const OTLP_PROTO_DIR = fileURLToPath(new URL("../../../shared/otlp-proto/", import.meta.url));

export type Attrs = Record<string, unknown>;

export interface ReceivedResource {
  readonly attributes: Attrs;
  readonly schemaUrl: string;
}

export interface ReceivedScope {
  readonly name: string;
  readonly version: string;
  readonly schemaUrl: string;
}

export interface ReceivedSpan {
  readonly traceId: string;
  readonly spanId: string;
  /** '' for a root span. */
  readonly parentSpanId: string;
  readonly traceState: string;
  readonly name: string;
  /** OTLP SpanKind: 2 SERVER, 3 CLIENT. */
  readonly kind: number;
  readonly startTimeUnixNano: bigint;
  readonly endTimeUnixNano: bigint;
  readonly attributes: Attrs;
  readonly droppedAttributesCount: number;
  /** OTLP StatusCode: 0 UNSET, 1 OK, 2 ERROR. */
  readonly status: { readonly code: number; readonly message: string };
  readonly flags: number;
  readonly resource: ReceivedResource;
  readonly scope: ReceivedScope;
}

export interface ReceivedLogRecord {
  readonly timeUnixNano: bigint;
  readonly observedTimeUnixNano: bigint;
  readonly severityNumber: number;
  readonly severityText: string;
  readonly eventName: string;
  readonly body: unknown;
  readonly attributes: Attrs;
  readonly traceId: string;
  readonly spanId: string;
  readonly flags: number;
  readonly resource: ReceivedResource;
  readonly scope: ReceivedScope;
}

export interface ReceivedMetric {
  readonly name: string;
  readonly unit: string;
  readonly description: string;
  /** The decoded Metric message (sum / gauge / histogram / exponentialHistogram), ids as hex. */
  readonly data: Record<string, unknown>;
  readonly resource: ReceivedResource;
  readonly scope: ReceivedScope;
}

export interface ReceivedRequest {
  readonly signal: "traces" | "logs" | "metrics";
  readonly transport: "grpc" | "http";
  /** HTTP path or gRPC method path. */
  readonly path: string;
  readonly contentType: string;
  /** HTTP Content-Encoding; always '' over gRPC, where grpc-js hides the message encoding. */
  readonly contentEncoding: string;
  readonly headers: Readonly<Record<string, string>>;
}

export interface PartialSuccess {
  readonly rejected: number;
  readonly message: string;
}

export type ReceiverBehaviour =
  /** Acknowledge every export (default). */
  | "ok"
  /** Reject every export: HTTP 400 / gRPC INVALID_ARGUMENT (not retryable). */
  | "reject";

export interface OtlpReceiver {
  readonly transport: "grpc" | "http";
  readonly port: number;
  /** `http://127.0.0.1:<port>`: the base endpoint (OTEL_EXPORTER_OTLP_ENDPOINT). */
  readonly url: string;
  readonly spans: ReceivedSpan[];
  readonly logs: ReceivedLogRecord[];
  readonly metrics: ReceivedMetric[];
  readonly requests: ReceivedRequest[];
  behaviour: ReceiverBehaviour;
  /** Accept each export only in part: its response's partial_success rejects this many items (default none). */
  partialSuccess: PartialSuccess | undefined;
  /** Hold each acknowledgement this long after decoding the export (default 0). */
  ackDelayMs: number;
  /** The most exports decoded but not yet acknowledged at one time. */
  readonly maxUnacknowledged: number;
  waitForSpans(done: (spans: readonly ReceivedSpan[]) => boolean, timeoutMs?: number): Promise<ReceivedSpan[]>;
  waitForLogs(done: (logs: readonly ReceivedLogRecord[]) => boolean, timeoutMs?: number): Promise<ReceivedLogRecord[]>;
  waitForMetrics(done: (metrics: readonly ReceivedMetric[]) => boolean, timeoutMs?: number): Promise<ReceivedMetric[]>;
  close(): Promise<void>;
}

// ------------------------------------------------------------------ proto decoding

let rootPromise: Promise<protobuf.Root> | undefined;

function loadRoot(): Promise<protobuf.Root> {
  rootPromise ??= (async () => {
    const root = new protobuf.Root();
    root.resolvePath = (_origin, target) => (target.startsWith("/") ? target : OTLP_PROTO_DIR + target);
    await root.load(
      [
        "opentelemetry/proto/collector/trace/v1/trace_service.proto",
        "opentelemetry/proto/collector/logs/v1/logs_service.proto",
        "opentelemetry/proto/collector/metrics/v1/metrics_service.proto",
      ],
      { keepCase: false },
    );
    root.resolveAll();
    return root;
  })();
  return rootPromise;
}

const REQUEST_TYPES = {
  traces: "opentelemetry.proto.collector.trace.v1.ExportTraceServiceRequest",
  logs: "opentelemetry.proto.collector.logs.v1.ExportLogsServiceRequest",
  metrics: "opentelemetry.proto.collector.metrics.v1.ExportMetricsServiceRequest",
} as const;

const RESPONSE_TYPES = {
  traces: "opentelemetry.proto.collector.trace.v1.ExportTraceServiceResponse",
  logs: "opentelemetry.proto.collector.logs.v1.ExportLogsServiceResponse",
  metrics: "opentelemetry.proto.collector.metrics.v1.ExportMetricsServiceResponse",
} as const;

type Signal = keyof typeof REQUEST_TYPES;

/** Protobuf bytes → the proto3 JSON mapping's shape, but ids as lower-case hex. */
function decodeProtobuf(root: protobuf.Root, signal: Signal, body: Buffer): Record<string, unknown> {
  const type = root.lookupType(REQUEST_TYPES[signal]);
  const msg = type.decode(body);
  return type.toObject(msg, { longs: String, enums: Number, bytes: String, defaults: false, oneofs: false }) as Record<string, unknown>;
}

// OTLP/JSON (the proto3 JSON mapping with OTLP's deviations): lowerCamelCase keys only, enums
// as integers, trace and span ids as hex. The body is checked field by field against the same
// protos, ids turned into bytes, then built with Type.fromObject and verified, so it decodes to
// exactly the shape the protobuf path produces and anything off-spec fails the export.

const HEX_ID_LENGTHS: Readonly<Record<string, number>> = { traceId: 32, spanId: 16, parentSpanId: 16 };

function checkOtlpJson(type: protobuf.Type, value: unknown, path: string): Record<string, unknown> {
  if (value === null || typeof value !== "object" || Array.isArray(value)) throw new Error(`${path}: expected an object for ${type.name}`);
  const out: Record<string, unknown> = {};
  for (const [key, v] of Object.entries(value as Record<string, unknown>)) {
    const field = Object.hasOwn(type.fields, key) ? type.fields[key] : undefined;
    if (field === undefined) throw new Error(`${path}.${key}: not a field of ${type.fullName} in OTLP/JSON (lowerCamelCase names only)`);
    if (v === null) continue;
    if (field.repeated) {
      if (!Array.isArray(v)) throw new Error(`${path}.${key}: expected an array`);
      out[key] = v.map((item, i) => checkJsonValue(field, item, `${path}.${key}[${i}]`));
    } else {
      out[key] = checkJsonValue(field, v, `${path}.${key}`);
    }
  }
  return out;
}

function checkJsonValue(field: protobuf.Field, v: unknown, path: string): unknown {
  const resolved = field.resolve().resolvedType;
  if (resolved instanceof protobuf.Type) return checkOtlpJson(resolved, v, path);
  if (resolved instanceof protobuf.Enum) {
    if (typeof v !== "number" || !Number.isInteger(v)) throw new Error(`${path}: OTLP/JSON enums are integers, got ${JSON.stringify(v)}`);
    if (!Object.values(resolved.values).includes(v)) throw new Error(`${path}: ${v} is not a value of ${resolved.fullName}`);
    return v;
  }
  const idLength = field.type === "bytes" ? HEX_ID_LENGTHS[field.name] : undefined;
  if (idLength !== undefined) {
    if (typeof v !== "string" || (v !== "" && (v.length !== idLength || !/^[0-9a-fA-F]+$/.test(v)))) {
      throw new Error(`${path}: OTLP/JSON ids are ${idLength} hex digits, got ${JSON.stringify(v)}`);
    }
    return Buffer.from(v, "hex");
  }
  return v;
}

const RESOURCE_LISTS: Record<Signal, string> = { traces: "resourceSpans", logs: "resourceLogs", metrics: "resourceMetrics" };

/**
 * The one tolerated extra: the OpenTelemetry JS transformer (0.301) copies the resource's
 * schema URL into `resource.schemaUrl`, a key the Resource message lacks. Accepted only as an
 * exact copy of the enclosing `schemaUrl` the proto does define, then dropped.
 */
function dropJsSdkResourceSchemaUrl(signal: Signal, body: unknown): void {
  if (body === null || typeof body !== "object") return;
  const entries = (body as Record<string, unknown>)[RESOURCE_LISTS[signal]];
  if (!Array.isArray(entries)) return;
  entries.forEach((entry: unknown, i) => {
    if (entry === null || typeof entry !== "object") return;
    const e = entry as Record<string, unknown>;
    const resource = e.resource as Record<string, unknown> | undefined;
    if (resource === null || typeof resource !== "object" || !("schemaUrl" in resource)) return;
    if (resource.schemaUrl !== e.schemaUrl) {
      throw new Error(`$.${RESOURCE_LISTS[signal]}[${i}].resource.schemaUrl ${JSON.stringify(resource.schemaUrl)} is not a field of Resource and differs from the entry's schemaUrl ${JSON.stringify(e.schemaUrl)}`);
    }
    delete resource.schemaUrl;
  });
}

/** OTLP/JSON body → the same object decodeProtobuf returns (ids as base64 until flattened). */
function decodeOtlpJson(root: protobuf.Root, signal: Signal, body: Buffer): Record<string, unknown> {
  const type = root.lookupType(REQUEST_TYPES[signal]);
  const parsed: unknown = JSON.parse(body.toString("utf8"));
  dropJsSdkResourceSchemaUrl(signal, parsed);
  const checked = checkOtlpJson(type, parsed, "$");
  const msg = type.fromObject(checked);
  const problem = type.verify(msg);
  if (problem !== null) throw new Error(`OTLP/JSON body does not verify as ${type.fullName}: ${problem}`);
  // Through the wire encoding and back, so fields the sender set to their defaults vanish
  // just as they do on the protobuf path and both paths yield the same objects.
  return decodeProtobuf(root, signal, Buffer.from(type.encode(msg).finish()));
}

function b64ToHex(v: unknown): string {
  if (typeof v !== "string" || v === "") return "";
  return Buffer.from(v, "base64").toString("hex");
}

function toBigInt(v: unknown): bigint {
  if (typeof v === "bigint") return v;
  if (typeof v === "number") return BigInt(v);
  if (typeof v === "string" && v !== "") return BigInt(v);
  return 0n;
}

function anyValue(v: unknown): unknown {
  if (v === null || typeof v !== "object") return undefined;
  const o = v as Record<string, unknown>;
  if ("stringValue" in o) return o.stringValue;
  if ("boolValue" in o) return o.boolValue;
  if ("intValue" in o) return Number(o.intValue);
  if ("doubleValue" in o) return Number(o.doubleValue);
  if ("arrayValue" in o) return (((o.arrayValue as Record<string, unknown>)?.values as unknown[]) ?? []).map(anyValue);
  if ("kvlistValue" in o) return attrs((o.kvlistValue as Record<string, unknown>)?.values);
  if ("bytesValue" in o) return o.bytesValue;
  return undefined;
}

function attrs(list: unknown): Attrs {
  const out: Attrs = {};
  if (!Array.isArray(list)) return out;
  for (const kv of list as Array<Record<string, unknown>>) out[String(kv.key)] = anyValue(kv.value);
  return out;
}

function resourceOf(r: Record<string, unknown>): ReceivedResource {
  return { attributes: attrs((r.resource as Record<string, unknown> | undefined)?.attributes), schemaUrl: String(r.schemaUrl ?? "") };
}

function scopeOf(s: Record<string, unknown>): ReceivedScope {
  const scope = (s.scope ?? {}) as Record<string, unknown>;
  return { name: String(scope.name ?? ""), version: String(scope.version ?? ""), schemaUrl: String(s.schemaUrl ?? "") };
}

function list(v: unknown): Array<Record<string, unknown>> {
  return Array.isArray(v) ? (v as Array<Record<string, unknown>>) : [];
}

/** ids arrive as base64 from protobufjs' toObject, on both the protobuf and the JSON path. */
type IdDecoder = (v: unknown) => string;

function flattenSpans(req: Record<string, unknown>, id: IdDecoder): ReceivedSpan[] {
  const out: ReceivedSpan[] = [];
  for (const rs of list(req.resourceSpans)) {
    const resource = resourceOf(rs);
    for (const ss of list(rs.scopeSpans)) {
      const scope = scopeOf(ss);
      for (const s of list(ss.spans)) {
        const status = (s.status ?? {}) as Record<string, unknown>;
        out.push({
          traceId: id(s.traceId),
          spanId: id(s.spanId),
          parentSpanId: id(s.parentSpanId),
          traceState: String(s.traceState ?? ""),
          name: String(s.name ?? ""),
          kind: Number(s.kind ?? 0),
          startTimeUnixNano: toBigInt(s.startTimeUnixNano),
          endTimeUnixNano: toBigInt(s.endTimeUnixNano),
          attributes: attrs(s.attributes),
          droppedAttributesCount: Number(s.droppedAttributesCount ?? 0),
          status: { code: Number(status.code ?? 0), message: String(status.message ?? "") },
          flags: Number(s.flags ?? 0),
          resource,
          scope,
        });
      }
    }
  }
  return out;
}

function flattenLogs(req: Record<string, unknown>, id: IdDecoder): ReceivedLogRecord[] {
  const out: ReceivedLogRecord[] = [];
  for (const rl of list(req.resourceLogs)) {
    const resource = resourceOf(rl);
    for (const sl of list(rl.scopeLogs)) {
      const scope = scopeOf(sl);
      for (const l of list(sl.logRecords)) {
        out.push({
          timeUnixNano: toBigInt(l.timeUnixNano),
          observedTimeUnixNano: toBigInt(l.observedTimeUnixNano),
          severityNumber: Number(l.severityNumber ?? 0),
          severityText: String(l.severityText ?? ""),
          eventName: String(l.eventName ?? ""),
          body: anyValue(l.body),
          attributes: attrs(l.attributes),
          traceId: id(l.traceId),
          spanId: id(l.spanId),
          flags: Number(l.flags ?? 0),
          resource,
          scope,
        });
      }
    }
  }
  return out;
}

function flattenMetrics(req: Record<string, unknown>, id: IdDecoder): ReceivedMetric[] {
  const out: ReceivedMetric[] = [];
  const fixIds = (v: unknown): unknown => {
    if (Array.isArray(v)) return v.map(fixIds);
    if (v !== null && typeof v === "object") {
      const o: Record<string, unknown> = {};
      for (const [k, x] of Object.entries(v as Record<string, unknown>)) o[k] = k === "traceId" || k === "spanId" ? id(x) : fixIds(x);
      return o;
    }
    return v;
  };
  for (const rm of list(req.resourceMetrics)) {
    const resource = resourceOf(rm);
    for (const sm of list(rm.scopeMetrics)) {
      const scope = scopeOf(sm);
      for (const m of list(sm.metrics)) {
        out.push({
          name: String(m.name ?? ""),
          unit: String(m.unit ?? ""),
          description: String(m.description ?? ""),
          data: fixIds(m) as Record<string, unknown>,
          resource,
          scope,
        });
      }
    }
  }
  return out;
}

// ------------------------------------------------------------------ receiver

class Collected {
  readonly spans: ReceivedSpan[] = [];
  readonly logs: ReceivedLogRecord[] = [];
  readonly metrics: ReceivedMetric[] = [];
  readonly requests: ReceivedRequest[] = [];
  readonly #waiters = new Set<() => void>();

  add(signal: Signal, req: Record<string, unknown>, id: IdDecoder, meta: ReceivedRequest): void {
    this.requests.push(meta);
    if (signal === "traces") this.spans.push(...flattenSpans(req, id));
    else if (signal === "logs") this.logs.push(...flattenLogs(req, id));
    else this.metrics.push(...flattenMetrics(req, id));
    for (const w of [...this.#waiters]) w();
  }

  wait<T>(items: T[], done: (items: readonly T[]) => boolean, timeoutMs: number, what: string): Promise<T[]> {
    return new Promise((resolve, reject) => {
      const check = (): boolean => {
        if (!done(items)) return false;
        this.#waiters.delete(check);
        clearTimeout(timer);
        resolve(items.slice());
        return true;
      };
      const timer = setTimeout(() => {
        this.#waiters.delete(check);
        reject(new Error(`timed out after ${timeoutMs} ms waiting for ${what}; have ${items.length}`));
      }, timeoutMs);
      if (!check()) this.#waiters.add(check);
    });
  }
}

function headerRecord(h: IncomingMessage["headers"]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(h)) if (v !== undefined) out[k] = Array.isArray(v) ? v.join(", ") : v;
  return out;
}

const HTTP_PATHS: Record<string, Signal> = { "/v1/traces": "traces", "/v1/logs": "logs", "/v1/metrics": "metrics" };

interface ReceiverState {
  behaviour: ReceiverBehaviour;
  partialSuccess: PartialSuccess | undefined;
  ackDelayMs: number;
  unacknowledged: number;
  maxUnacknowledged: number;
}

const REJECTED_FIELDS: Record<Signal, string> = { traces: "rejectedSpans", logs: "rejectedLogRecords", metrics: "rejectedDataPoints" };

/** The Export*ServiceResponse the receiver answers with, as the official protos (or proto3 JSON) write it. */
function exportResponse(root: protobuf.Root, signal: Signal, state: ReceiverState, json: boolean): Buffer {
  const partial = state.partialSuccess;
  const fields = partial === undefined ? {} : { partialSuccess: { [REJECTED_FIELDS[signal]]: partial.rejected, errorMessage: partial.message } };
  const type = root.lookupType(RESPONSE_TYPES[signal]);
  const message = type.fromObject(fields);
  return json ? Buffer.from(JSON.stringify(type.toObject(message, { longs: String }))) : Buffer.from(type.encode(message).finish());
}

/** Acknowledges a decoded export after the configured delay, counting how many wait at once. */
function acknowledge(state: ReceiverState, ack: () => void): void {
  if (state.ackDelayMs <= 0) return ack();
  state.unacknowledged++;
  state.maxUnacknowledged = Math.max(state.maxUnacknowledged, state.unacknowledged);
  setTimeout(() => {
    state.unacknowledged--;
    ack();
  }, state.ackDelayMs);
}

async function startHttp(c: Collected, state: ReceiverState): Promise<{ server: HttpServer; port: number }> {
  const root = await loadRoot();
  const server = createHttpServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (d: Buffer) => chunks.push(d));
    req.on("end", () => {
      const path = (req.url ?? "").split("?")[0]!;
      const signal = HTTP_PATHS[path];
      if (signal === undefined) {
        res.writeHead(404).end();
        return;
      }
      if (state.behaviour === "reject") {
        res.writeHead(400, { "content-type": "text/plain" }).end("rejected by test receiver");
        return;
      }
      try {
        let body = Buffer.concat(chunks);
        const encoding = String(req.headers["content-encoding"] ?? "");
        if (encoding === "gzip") body = gunzipSync(body);
        const contentType = String(req.headers["content-type"] ?? "");
        const meta: ReceivedRequest = { signal, transport: "http", path, contentType, contentEncoding: encoding, headers: headerRecord(req.headers) };
        if (contentType.startsWith("application/json")) {
          c.add(signal, decodeOtlpJson(root, signal, body), b64ToHex, meta);
          acknowledge(state, () => res.writeHead(200, { "content-type": "application/json" }).end(exportResponse(root, signal, state, true)));
        } else {
          c.add(signal, decodeProtobuf(root, signal, body), b64ToHex, meta);
          acknowledge(state, () => res.writeHead(200, { "content-type": "application/x-protobuf" }).end(exportResponse(root, signal, state, false)));
        }
      } catch (err) {
        res.writeHead(400, { "content-type": "text/plain" }).end(`cannot decode: ${(err as Error).message}`);
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const addr = server.address();
  if (addr === null || typeof addr === "string") throw new Error("no port");
  return { server, port: addr.port };
}

const GRPC_SERVICES: Record<Signal, string> = {
  traces: "/opentelemetry.proto.collector.trace.v1.TraceService/Export",
  logs: "/opentelemetry.proto.collector.logs.v1.LogsService/Export",
  metrics: "/opentelemetry.proto.collector.metrics.v1.MetricsService/Export",
};

async function startGrpc(c: Collected, state: ReceiverState): Promise<{ server: grpc.Server; port: number }> {
  const root = await loadRoot();
  const server = new grpc.Server();
  for (const signal of Object.keys(GRPC_SERVICES) as Signal[]) {
    const path = GRPC_SERVICES[signal];
    const definition: grpc.ServiceDefinition = {
      Export: {
        path,
        requestStream: false,
        responseStream: false,
        // Raw bytes in, decoded with protobufjs like the HTTP path, so both share one decoder.
        requestSerialize: (b: Buffer) => b,
        requestDeserialize: (b: Buffer) => b,
        responseSerialize: (b: Buffer) => b,
        responseDeserialize: (b: Buffer) => b,
      },
    };
    server.addService(definition, {
      Export: (call: grpc.ServerUnaryCall<Buffer, Buffer>, callback: grpc.sendUnaryData<Buffer>) => {
        if (state.behaviour === "reject") {
          callback({ code: grpc.status.INVALID_ARGUMENT, details: "rejected by test receiver" });
          return;
        }
        try {
          const md = call.metadata.getMap();
          const headers: Record<string, string> = {};
          for (const [k, v] of Object.entries(md)) headers[k] = String(v);
          c.add(signal, decodeProtobuf(root, signal, call.request), b64ToHex, {
            signal,
            transport: "grpc",
            path,
            contentType: "application/grpc",
            // grpc-js decompresses and strips grpc-encoding before handlers see the call.
            contentEncoding: "",
            headers,
          });
          acknowledge(state, () => callback(null, exportResponse(root, signal, state, false)));
        } catch (err) {
          callback({ code: grpc.status.INVALID_ARGUMENT, details: (err as Error).message });
        }
      },
    });
  }
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync("127.0.0.1:0", grpc.ServerCredentials.createInsecure(), (err, p) => (err ? reject(err) : resolve(p))),
  );
  return { server, port };
}

export async function startOtlpReceiver(transport: "grpc" | "http"): Promise<OtlpReceiver> {
  const c = new Collected();
  const state: ReceiverState = { behaviour: "ok", partialSuccess: undefined, ackDelayMs: 0, unacknowledged: 0, maxUnacknowledged: 0 };
  let port: number;
  let close: () => Promise<void>;
  if (transport === "http") {
    const h = await startHttp(c, state);
    port = h.port;
    close = () =>
      new Promise<void>((resolve) => {
        h.server.closeAllConnections();
        h.server.close(() => resolve());
      });
  } else {
    const g = await startGrpc(c, state);
    port = g.port;
    close = () =>
      new Promise<void>((resolve) => {
        g.server.tryShutdown(() => resolve());
        setTimeout(() => {
          g.server.forceShutdown();
          resolve();
        }, 500).unref();
      });
  }
  return {
    transport,
    port,
    url: `http://127.0.0.1:${port}`,
    spans: c.spans,
    logs: c.logs,
    metrics: c.metrics,
    requests: c.requests,
    get behaviour() {
      return state.behaviour;
    },
    set behaviour(b: ReceiverBehaviour) {
      state.behaviour = b;
    },
    get partialSuccess() {
      return state.partialSuccess;
    },
    set partialSuccess(p: PartialSuccess | undefined) {
      state.partialSuccess = p;
    },
    get ackDelayMs() {
      return state.ackDelayMs;
    },
    set ackDelayMs(ms: number) {
      state.ackDelayMs = ms;
    },
    get maxUnacknowledged() {
      return state.maxUnacknowledged;
    },
    waitForSpans: (done, timeoutMs = 15_000) => c.wait(c.spans, done, timeoutMs, "spans"),
    waitForLogs: (done, timeoutMs = 15_000) => c.wait(c.logs, done, timeoutMs, "log records"),
    waitForMetrics: (done, timeoutMs = 15_000) => c.wait(c.metrics, done, timeoutMs, "metrics"),
    close,
  };
}

// ------------------------------------------------------------------ broken collectors

export interface BlackHole {
  readonly port: number;
  readonly url: string;
  /** Connections accepted so far. */
  connections(): number;
  close(): Promise<void>;
}

/** Accepts TCP connections and never sends a byte back. */
export async function blackHoleServer(): Promise<BlackHole> {
  const sockets = new Set<Socket>();
  let accepted = 0;
  const server: NetServer = createNetServer((s) => {
    accepted++;
    sockets.add(s);
    s.on("error", () => {});
    s.on("close", () => sockets.delete(s));
    s.resume();
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const addr = server.address();
  if (addr === null || typeof addr === "string") throw new Error("no port");
  return {
    port: addr.port,
    url: `http://127.0.0.1:${addr.port}`,
    connections: () => accepted,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}

export { closedPort } from "./upstreams.ts";
