// Tollgate's own spans and access log records, built directly with varied facts, for tests
// that compare encodings without running a gateway.
import type { AttributeValue } from "@opentelemetry/api";
import { resourceFromAttributes, type Resource } from "@opentelemetry/resources";
import type { ReadableLogRecord } from "@opentelemetry/sdk-logs";
import type { ReadableSpan } from "@opentelemetry/sdk-trace";
import type { CompiledAccessLog } from "../../src/telemetry/logs/compile.ts";
import type { RequestFacts } from "../../src/telemetry/logs/facts.ts";
import { AccessLogRecord } from "../../src/telemetry/logs/record.ts";
import { MethodNormalizer, type AttributeLimits } from "../../src/telemetry/trace/attributes.ts";
import type { RuleTracing } from "../../src/telemetry/trace/rule-tracing.ts";
import { ClientSpan, ServerSpan } from "../../src/telemetry/trace/spans.ts";
import { SCHEMA_URL, TOLLGATE_SCOPE } from "../../src/telemetry/semconv.ts";

export const UNLIMITED: AttributeLimits = { countLimit: 128, valueLengthLimit: Number.POSITIVE_INFINITY };

export const fixtureResource = resourceFromAttributes({ "service.name": "edge", "service.instance.id": "i-1", "k8s.pod.name": "p" }, { schemaUrl: SCHEMA_URL });

export function ruleTracing(overrides: Partial<Record<keyof RuleTracing, unknown>> = {}): RuleTracing {
  return {
    httpRoute: "/api/*",
    serverStatic: [["http.route", "/api/*"], ["tollgate.gateway.name", "ns/gw"], ["tollgate.rule.name", "rule-0"]],
    clientStatic: [["tollgate.gateway.name", "ns/gw"]],
    requestHeaderAttrs: [],
    responseHeaderAttrs: [],
    backendMetadataAttrs: [],
    resource: fixtureResource,
    limits: UNLIMITED,
    ...overrides,
  } as unknown as RuleTracing;
}

/** n SERVER spans each with a CLIENT child, varying every optional field. */
export function ownSpans(n: number, rt: RuleTracing = ruleTracing()): ReadableSpan[] {
  const out: ReadableSpan[] = [];
  for (let i = 0; i < n; i++) {
    const now = Date.now() + i + 0.123456;
    const parent = i % 2 === 0 ? "00f067aa0ba902b7" : undefined;
    const n = i.toString(16).padStart(6, "0");
    const s = new ServerSpan("4bf92f3577b34da6a3ce929d0e" + n, "b7ad6b7169" + n, parent, true, i % 3 === 0, i % 2 === 0 ? "vendor=a,other=b" : undefined, undefined, rt, now, 0, i % 4 === 0 ? "_OTHER" : "GET", i % 4 === 0 ? "PURGE" : "GET", `/api/${i}`, i % 2 === 0 ? "sig=secret&x=é" : "", "http", "127.0.0.1", 8080, "10.0.0.1", "127.0.0.1", 40000 + i, "1.1", i % 3 === 0 ? "ua/1.0 ✓" : undefined, rt.requestHeaderAttrs.length > 0 ? ["tenant-" + i] : undefined);
    s.endPerfMs = 1.5 + i;
    s.httpStatus = i % 5 === 0 ? 503 : i % 7 === 0 ? 0 : 200;
    if (s.httpStatus === 0) s.errorType = "connect_timeout";
    s.backendName = i % 6 === 0 ? undefined : "ns/b";
    s.requestHeaders = i % 2 === 0 ? [["x-tenant", ["a", "b"]]] : undefined;
    s.responseHeaders = i % 3 === 0 ? [["content-type", ["text/plain"]]] : undefined;
    const c = new ClientSpan(s, "c7ad6b7169" + n, now, 0, "GET", "GET", i % 3, `http://user:pw@127.0.0.1:9000/api/${i}?X-Goog-Signature=s`, "127.0.0.1", 9000, "ns/b");
    c.endPerfMs = 1 + i;
    c.httpStatus = s.httpStatus;
    if (i % 2 === 1) {
      c.peerAddress = "127.0.0.1";
      c.peerPort = 9000;
    }
    out.push(c, s);
  }
  return out;
}

function facts(i: number): RequestFacts {
  return {
    startTimeMs: 1_700_000_000_000 + i + 0.5,
    observedTimeMs: 1_700_000_000_010 + i,
    durationMs: 1.23456 + i,
    responseStartMs: i % 4 === 0 ? -1 : 0.75,
    method: i % 5 === 0 ? "PURGE" : "GET",
    path: `/api/${i}`,
    query: i % 2 === 0 ? "Signature=x&y=ü" : "",
    scheme: "http",
    protocolVersion: "1.1",
    status: i % 3 === 0 ? 502 : 200,
    errorType: undefined,
    responseFlags: i % 3 === 0 ? "UF" : "",
    bytesReceived: i * 10,
    bytesSent: 2 ** 33 + i,
    serverAddress: "gw.example",
    serverPort: 8080,
    clientAddress: "10.0.0.1",
    peerAddress: "127.0.0.1",
    peerPort: 50000 + i,
    directPeerAddress: "127.0.0.1",
    directPeerPort: 50000 + i,
    userAgent: i % 2 === 0 ? "curl/8" : undefined,
    backendName: "ns/b",
    upstreamHost: i % 2 === 0 ? "127.0.0.1:9000" : undefined,
    upstreamAttempts: i % 3,
    rule: { httpRoute: "/api/*", routeKey: "ns/r", ruleName: "rule-0" },
    listenerName: "http",
    traceId: i % 4 === 3 ? "" : "4bf92f3577b34da6a3ce929d0e0e4736",
    spanId: i % 4 === 3 ? "" : "00f067aa0ba902b7",
    traceFlags: i % 2,
  } as unknown as RequestFacts;
}

export function accessLog(overrides: Partial<Record<keyof CompiledAccessLog, unknown>> = {}, resource: Resource = fixtureResource): CompiledAccessLog {
  const bodyParts = [(f: RequestFacts) => `${f.method} ${f.path}`, () => " ", (f: RequestFacts) => `${f.status} ✓`];
  return {
    body: (f: RequestFacts) => bodyParts.map((part) => part(f)).join(""),
    bodyParts,
    fields: [
      ["custom.count", (f: RequestFacts) => f.bytesReceived],
      ["custom.maybe", (f: RequestFacts): AttributeValue | undefined => (f.userAgent === undefined ? undefined : true)],
    ],
    staticAttributes: [["team", "edge"], ["tier", 2], ["ratio", 0.5]],
    logName: "access",
    scope: TOLLGATE_SCOPE,
    resource,
    ...overrides,
  } as unknown as CompiledAccessLog;
}

export function accessLogRecords(n: number, log: CompiledAccessLog = accessLog(), limits: AttributeLimits = UNLIMITED): ReadableLogRecord[] {
  const methods = new MethodNormalizer({});
  return Array.from({ length: n }, (_, i) => new AccessLogRecord(facts(i), log, "ns/gw", methods, limits));
}
