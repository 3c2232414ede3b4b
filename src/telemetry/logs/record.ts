// One access LogRecord. Like the spans, it holds only the copied request facts and its
// compiled log. The OTLP protobuf exporters encode it straight from those facts as it is
// queued; as the SDK's ReadableLogRecord, its attributes and body are built lazily, once,
// for the JSON and stdout sinks. Dropped records are never encoded or built.
import type { JsonBody } from "./json-body.ts";
import type { Attributes, HrTime, SpanContext } from "@opentelemetry/api";
import type { InstrumentationScope } from "@opentelemetry/core";
import type { Resource } from "@opentelemetry/resources";
import type { ReadableLogRecord } from "@opentelemetry/sdk-logs";
import { applyLimits, type AttributeLimits, type MethodNormalizer } from "../trace/attributes.ts";
import { msToHrTime } from "../trace/spans.ts";
import { collectAttributes, type AttributeSink } from "../attribute-sink.ts";
import { writeSemconvAttributes, type CompiledAccessLog } from "./compile.ts";
import type { RequestFacts } from "./facts.ts";
import { serverRequestFailed } from "../semconv.ts";

/** The documented EventName of every access LogRecord (registry: logRecords). */
export const ACCESS_EVENT_NAME = "tollgate.access";

export const SEVERITY_INFO = 9;
export const SEVERITY_WARN = 13;
export const SEVERITY_ERROR = 17;

export function severityOf(f: RequestFacts): number {
  if (serverRequestFailed(f.status, f.errorType)) return SEVERITY_ERROR;
  if (f.status >= 400) return SEVERITY_WARN;
  return SEVERITY_INFO;
}

export class AccessLogRecord implements ReadableLogRecord {
  readonly facts: RequestFacts;
  readonly log: CompiledAccessLog;
  readonly gatewayName: string;
  readonly methods: MethodNormalizer;
  readonly limits: AttributeLimits;
  #attributes: Attributes | undefined = undefined;
  #dropped = 0;
  #body: string | undefined = undefined;
  #jsonBody: JsonBody | undefined = undefined;

  constructor(facts: RequestFacts, log: CompiledAccessLog, gatewayName: string, methods: MethodNormalizer, limits: AttributeLimits) {
    this.facts = facts;
    this.log = log;
    this.gatewayName = gatewayName;
    this.methods = methods;
    this.limits = limits;
  }

  get hrTime(): HrTime {
    return msToHrTime(this.facts.startTimeMs);
  }

  get hrTimeObserved(): HrTime {
    return msToHrTime(this.facts.observedTimeMs);
  }

  get spanContext(): SpanContext | undefined {
    const f = this.facts;
    if (f.traceId === "") return undefined;
    return { traceId: f.traceId, spanId: f.spanId, traceFlags: f.traceFlags, isRemote: false };
  }

  get severityNumber(): number {
    return severityOf(this.facts);
  }

  get severityText(): string {
    const n = this.severityNumber;
    return n >= SEVERITY_ERROR ? "ERROR" : n >= SEVERITY_WARN ? "WARN" : "INFO";
  }

  get body(): string | JsonBody {
    const json = this.log.jsonBody;
    if (json !== undefined) return (this.#jsonBody ??= json(this.facts));
    this.#body ??= this.log.body(this.facts);
    return this.#body;
  }

  readonly eventName = ACCESS_EVENT_NAME;

  get resource(): Resource {
    return this.log.resource;
  }

  get instrumentationScope(): InstrumentationScope {
    return this.log.scope;
  }

  /** Every attribute, in order, before the limits are applied. */
  writeAttributes(sink: AttributeSink): void {
    const f = this.facts;
    writeSemconvAttributes(sink, f, this.gatewayName, this.methods.normalize(f.method));
    if (this.log.logName !== undefined) sink.put("tollgate.log.name", this.log.logName);
    sink.putStatic(this.log.staticAttributes);
    const fields = this.log.fields;
    for (let i = 0; i < fields.length; i++) {
      const [k, value] = fields[i]!;
      const v = value(f);
      if (v !== undefined) sink.put(k, v);
    }
  }

  get attributes(): Attributes {
    if (this.#attributes === undefined) {
      const a = collectAttributes((sink) => this.writeAttributes(sink));
      this.#dropped = applyLimits(a, this.limits);
      this.#attributes = a;
    }
    return this.#attributes;
  }

  get droppedAttributesCount(): number {
    if (this.#attributes === undefined) void this.attributes;
    return this.#dropped;
  }
}
