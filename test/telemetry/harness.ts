// An in-process gateway for telemetry tests: the real config loader, plan compiler and proxy
// handler on node:http servers bound to 127.0.0.1:0, with createTelemetry() as the hooks,
// plus real upstream HTTP servers. Keeping it in-process lets tests read the telemetry
// runtime's drop counters directly while everything on the wire stays real.
import { createServer, request as httpRequest, type IncomingHttpHeaders, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import { request as httpsRequest, type RequestOptions as HttpsRequestOptions } from "node:https";
import type { AddressInfo } from "node:net";
import { loadConfigText } from "../../src/config/load.ts";
import type { RuntimePlan } from "../../src/plan/types.ts";
import { compileConfig } from "../../src/server/config-stage.ts";
import { createProxyHandlers } from "../../src/proxy/handler.ts";
import { createListenerServer } from "../../src/proxy/listener.ts";
import { UpstreamPools } from "../../src/proxy/pools.ts";
import { ProcessStats } from "../../src/server/stats.ts";
import type { RequestTelemetry } from "../../src/telemetry/hooks.ts";
import { createTelemetry, type Telemetry } from "../../src/telemetry/index.ts";
import type { TestContext } from "node:test";
import { type OtlpReceiver, type ReceivedMetric, startOtlpReceiver } from "../support/otlp-receiver.ts";
import type { PemPair } from "../support/test-certs.ts";

export interface Upstream {
  readonly port: number;
  /** Headers of every request received, in order. */
  readonly seen: IncomingHttpHeaders[];
  close(): Promise<void>;
}

/** A real upstream: records request headers, answers `status` (default 200) or per `x-status`. */
export async function startUpstream(handler?: (req: IncomingMessage, res: ServerResponse) => void): Promise<Upstream> {
  const seen: IncomingHttpHeaders[] = [];
  const server = createServer((req, res) => {
    seen.push(req.headers);
    req.resume();
    req.on("end", () => {
      if (handler !== undefined) return handler(req, res);
      const status = Number(req.headers["x-status"] ?? 200);
      res.writeHead(status, { "content-type": "text/plain" }).end("upstream ok");
    });
  });
  await listen(server);
  return { port: (server.address() as AddressInfo).port, seen, close: () => closeServer(server) };
}

export interface Warning {
  readonly message: string;
  readonly fields: Readonly<Record<string, unknown>>;
}

export interface TracedGateway {
  readonly telemetry: Telemetry;
  readonly plan: RuntimePlan;
  readonly warnings: Warning[];
  /** URL on the listener declared with `configPort`. */
  url(configPort: number, path: string): string;
  /** Replace the plan (reload) with a new YAML. */
  reload(yaml: string): void;
  close(): Promise<void>;
}

/** `previous`: the plan a reload replaces, as the gateway hands it over. */
function loadPlan(yaml: string, generation: number, previous?: RuntimePlan): RuntimePlan {
  const result = loadConfigText(yaml, "telemetry-test.yaml");
  if (result.config === undefined) {
    const errors = result.diagnostics.filter((d) => d.severity === "error").map((d) => `${d.line}:${d.col} ${d.path}: ${d.message}`);
    throw new Error(`config did not load:\n${errors.join("\n")}`);
  }
  const compiled = compileConfig(result.config, generation, previous);
  if (compiled.plan === undefined) throw new Error(`config did not compile: ${compiled.error}`);
  return compiled.plan;
}

/** Spans and log records leave within 20 ms; metrics only when a test flushes them. */
export const FAST_EXPORTS = { OTEL_BSP_SCHEDULE_DELAY: "20", OTEL_BLRP_SCHEDULE_DELAY: "20", OTEL_METRIC_EXPORT_INTERVAL: "3600000" };

/**
 * The env the harness hands to telemetry. A test that names no logs exporter (no
 * OTEL_LOGS_EXPORTER, no OTLP endpoint that would select OTLP) would otherwise get the
 * product default, stdout JSON, and fill the test runner's output with access-log lines; such
 * a test gets `OTEL_LOGS_EXPORTER=none` instead. Policy-configured sinks are unaffected.
 */
export function testTelemetryEnv(env: Readonly<Record<string, string>>): Record<string, string> {
  const choosesLogs = ["OTEL_LOGS_EXPORTER", "OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_EXPORTER_OTLP_LOGS_ENDPOINT"].some((k) => env[k] !== undefined);
  return choosesLogs ? { ...env } : { ...env, OTEL_LOGS_EXPORTER: "none" };
}

export interface TracedGatewayOptions {
  /** The process's counters, as `tollgate run` shares them between telemetry and the proxy. */
  readonly stats?: ProcessStats;
  /** What the proxy calls instead of the telemetry itself (e.g. to inject a failing hook). */
  readonly hooks?: (telemetry: Telemetry) => RequestTelemetry;
  /** What the listeners say of their drain (a gateway's BoundListener), for health checks. */
  readonly draining?: () => boolean;
}

export async function startTracedGateway(yaml: string, givenEnv: Record<string, string>, options: TracedGatewayOptions = {}): Promise<TracedGateway> {
  const warnings: Warning[] = [];
  const warn = (message: string, fields: Readonly<Record<string, unknown>>): void => void warnings.push({ message, fields });
  let plan = loadPlan(yaml, 1);
  const env = testTelemetryEnv(givenEnv);
  const stats = options.stats;
  const telemetry = createTelemetry({ env, warn, ...(stats === undefined ? {} : { stats }) });
  telemetry.onPlan(plan);
  const hooks = options.hooks?.(telemetry) ?? telemetry;
  const pools = new UpstreamPools();
  const servers = new Map<number, Server>();
  for (const l of plan.listeners) {
    const handlers = createProxyHandlers({ currentPlan: () => plan, telemetry: hooks, pools, stats, warn, draining: options.draining }, l.port);
    // The product's own listener wiring (upgrades, CONNECT, client errors, limits).
    const server = createListenerServer(l.settings, handlers, l.tls, l.proxyProtocol);
    await listen(server);
    servers.set(l.port, server);
  }
  let generation = 1;
  return {
    telemetry,
    get plan() {
      return plan;
    },
    warnings,
    url(configPort, path) {
      const s = servers.get(configPort);
      if (s === undefined) throw new Error(`no listener on config port ${configPort}`);
      return `http://127.0.0.1:${(s.address() as AddressInfo).port}${path}`;
    },
    reload(text) {
      plan = loadPlan(text, ++generation, plan);
      telemetry.onPlan(plan);
    },
    async close() {
      await Promise.all([...servers.values()].map(closeServer));
      await pools.close?.();
      await telemetry.shutdown(2000);
    },
  };
}

export interface SimpleResponse {
  readonly status: number;
  readonly headers: IncomingHttpHeaders;
  readonly body: string;
}

export function get(url: string, headers: Record<string, string> = {}, method = "GET"): Promise<SimpleResponse> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(url, { method, headers, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (d: Buffer) => chunks.push(d));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString("utf8") }));
      res.on("error", reject);
    });
    req.on("error", reject);
    req.end();
  });
}

function listen(server: Server): Promise<void> {
  return new Promise((resolve) => server.listen(0, "127.0.0.1", () => resolve()));
}

function closeServer(server: Server): Promise<void> {
  return new Promise((resolve) => {
    server.closeAllConnections();
    server.close(() => resolve());
  });
}

/** A Gateway + HTTPRoute + upstream Backend; `extra` appends more documents (policies, collector Backends). */
export function gatewayYaml(opts: {
  upstreamPort: number;
  gateway?: string;
  namespace?: string;
  port?: number;
  rules?: string;
  routeName?: string;
  /** Namespace of the HTTPRoute and its upstream Backend (default: the gateway's). */
  routeNamespace?: string;
  extra?: string;
}): string {
  const gw = opts.gateway ?? "http";
  const ns = opts.namespace ?? "kgateway-system";
  const rns = opts.routeNamespace ?? ns;
  const port = opts.port ?? 8080;
  const rules =
    opts.rules ??
    `  - matches:
    - path: {type: PathPrefix, value: /api}
    backendRefs:
    - {name: upstream, kind: Backend, group: gateway.tollgate.dev, port: ${opts.upstreamPort}}`;
  return `apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: {name: ${gw}, namespace: ${ns}}
spec:
  gatewayClassName: tollgate
  listeners:
  - {name: http, protocol: HTTP, port: ${port}, allowedRoutes: {namespaces: {from: All}}}
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: ${opts.routeName ?? "httpbin"}, namespace: ${rns}}
spec:
  parentRefs: [{name: ${gw}, namespace: ${ns}}]
  rules:
${rules}
---
apiVersion: gateway.tollgate.dev/v1alpha1
kind: Backend
metadata: {name: upstream, namespace: ${rns}}
spec:
  endpoints: [{ip: {address: 127.0.0.1, port: ${opts.upstreamPort}}}]
${opts.extra === undefined ? "" : "---\n" + opts.extra}`;
}

/** A named rule of the `httpbin` route for this path prefix, to the `upstream` Backend (an item of gatewayYaml's `rules`). */
export function namedRule(name: string, prefix: string): string {
  return `  - name: ${name}
    matches: [{path: {type: PathPrefix, value: ${prefix}}}]
    backendRefs: [{name: upstream, kind: Backend, group: gateway.tollgate.dev}]
`;
}

/** A kgateway TrafficPolicy on rule `section` of the `httpbin` route, with `body` (spec fields, indented two spaces). */
export function rulePolicy(namespace: string, name: string, section: string, body: string): string {
  return `---
apiVersion: gateway.kgateway.dev/v1alpha1
kind: TrafficPolicy
metadata: {name: ${name}, namespace: ${namespace}}
spec:
  targetRefs: [{group: gateway.networking.k8s.io, kind: HTTPRoute, name: httpbin, sectionName: ${section}}]
${body}`;
}

/** A TelemetryPolicy turning access logs on for Gateway `gateway`, with `%RESPONSE_CODE_DETAILS%` as the field `details`. */
export function detailsLogPolicy(namespace: string, gateway: string): string {
  return `---
apiVersion: gateway.networking.x-k8s.io/v1alpha1
kind: TelemetryPolicy
metadata: {name: logs, namespace: ${namespace}}
spec:
  targetRefs: [{group: gateway.networking.k8s.io, kind: Gateway, name: ${gateway}}]
  accessLogs:
    mode: "On"
    fields: [{name: details, type: Standard, standardValue: ResponseCodeDetails}]
`;
}

/** A Backend standing in for a collector Service: the seed's name, our receiver's port. */
/**
 * The harness Gateway's YAML (with `extra` documents) with its listener on 8080 made HTTPS,
 * serving `pair` from the Secret kgateway-system/shop-tls.
 */
export function httpsGatewayYaml(upstreamPort: number, pair: PemPair, extra: string): string {
  return gatewayYaml({
    upstreamPort,
    extra: `apiVersion: v1
kind: Secret
metadata: {name: shop-tls, namespace: kgateway-system}
type: kubernetes.io/tls
data: {tls.crt: ${pair.cert.toString("base64")}, tls.key: ${pair.key.toString("base64")}}
${extra}`,
  }).replace("{name: http, protocol: HTTP, port: 8080,", "{name: https, protocol: HTTPS, port: 8080, tls: {certificateRefs: [{name: shop-tls}]},");
}

/**
 * kgateway's HTTPListenerPolicy on Gateway kgateway-system/http with a `grpcService` access
 * log to the Backend `als` (declared too, on `servicePort`); `grpcService` holds more keys of
 * it and `filter` the log's filter, each line indented six and four spaces.
 */
export function alsPolicyYaml(servicePort: number, grpcService: string, filter = ""): string {
  return `apiVersion: gateway.kgateway.dev/v1alpha1
kind: HTTPListenerPolicy
metadata: {name: als, namespace: kgateway-system}
spec:
  targetRefs: [{group: gateway.networking.k8s.io, kind: Gateway, name: http}]
  accessLog:
  - grpcService:
      backendRef: {name: als, namespace: kgateway-system, port: 9001}
${grpcService}${filter}---
${collectorBackend("als", "kgateway-system", servicePort)}`;
}

/**
 * `yaml` (from httpsGatewayYaml) with its Gateway checking client certificates against the
 * ConfigMap kgateway-system/client-ca, added holding `ca`; `mode` as Gateway API's.
 */
export function withClientValidation(yaml: string, ca: Buffer, mode?: "AllowInsecureFallback"): string {
  const validation = `validation: {caCertificateRefs: [{kind: ConfigMap, name: client-ca}]${mode === undefined ? "" : `, mode: ${mode}`}}`;
  const validated = yaml.replace("allowedRoutes: {namespaces: {from: All}}}\n---", `allowedRoutes: {namespaces: {from: All}}}\n  tls:\n    frontend:\n      default:\n        ${validation}\n---`);
  if (validated === yaml) throw new Error("the Gateway's listeners were not where withClientValidation looks for them");
  return `${validated}---
apiVersion: v1
kind: ConfigMap
metadata: {name: client-ca, namespace: kgateway-system}
data: {ca.crt: ${JSON.stringify(ca.toString())}}
`;
}

/** The status of one HTTPS request to 127.0.0.1; `options` names the port, path, SNI name, CA and any client certificate. */
export function httpsStatus(options: HttpsRequestOptions): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = httpsRequest({ host: "127.0.0.1", agent: false, ...options }, (res) => {
      res.resume();
      res.on("end", () => resolve(res.statusCode ?? 0));
    });
    req.on("error", reject);
    req.end();
  });
}

export function collectorBackend(name: string, namespace: string, port: number): string {
  return `apiVersion: gateway.tollgate.dev/v1alpha1
kind: Backend
metadata: {name: ${name}, namespace: ${namespace}}
spec:
  endpoints: [{ip: {address: 127.0.0.1, port: ${port}}}]
`;
}

/**
 * kgateway's HTTPListenerPolicy on Gateway kgateway-system/http tracing to the Backend
 * `otel-collector` (declared too, on `collectorPort`); `tracing` holds more keys of `tracing:`,
 * each line indented four spaces.
 */
export function tracingPolicyYaml(collectorPort: number, tracing = ""): string {
  return `apiVersion: gateway.kgateway.dev/v1alpha1
kind: HTTPListenerPolicy
metadata: {name: tracing, namespace: kgateway-system}
spec:
  targetRefs: [{group: gateway.networking.k8s.io, kind: Gateway, name: http}]
  tracing:
    provider:
      openTelemetry:
        grpcService:
          backendRef: {name: otel-collector, namespace: kgateway-system, port: 4317}
${tracing}---
${collectorBackend("otel-collector", "kgateway-system", collectorPort)}`;
}

/**
 * kgateway's HTTPListenerPolicy `name` on Gateway kgateway-system/http with one OpenTelemetry
 * access log to the Backend `collector` (declared too, on `collectorPort`); `entry` holds more
 * keys of that access log, each line indented six spaces.
 */
export function otelAccessLogPolicyYaml(name: string, collectorPort: number, entry: string): string {
  return `apiVersion: gateway.kgateway.dev/v1alpha1
kind: HTTPListenerPolicy
metadata: {name: ${name}, namespace: kgateway-system}
spec:
  targetRefs: [{group: gateway.networking.k8s.io, kind: Gateway, name: http}]
  accessLog:
  - openTelemetry:
      grpcService:
        backendRef: {name: collector, namespace: kgateway-system, port: 4317}
${entry}---
${collectorBackend("collector", "kgateway-system", collectorPort)}`;
}

/**
 * A Gateway API TelemetryPolicy on Gateway kgateway-system/http: access logs On, kept when the
 * CEL `matches` holds; `accessLogs` holds more keys of `accessLogs:` (e.g. `fields:`), each
 * line indented four spaces.
 */
export function accessLogMatchPolicyYaml(matches: string, accessLogs = ""): string {
  return `apiVersion: gateway.networking.x-k8s.io/v1alpha1
kind: TelemetryPolicy
metadata: {name: logs, namespace: kgateway-system}
spec:
  targetRefs: [{group: gateway.networking.k8s.io, kind: Gateway, name: http}]
  accessLogs:
    mode: "On"
    matches: '${matches}'
${accessLogs}`;
}

/** The data points of an OTLP Sum metric as the receiver decoded it: attributes and integer value. */
export function sumPoints(m: ReceivedMetric | undefined): Array<{ attributes: Record<string, unknown>; value: number }> {
  const sum = m?.data["sum"] as { dataPoints?: Array<{ attributes?: Array<{ key: string; value: Record<string, unknown> }>; asInt?: string }> } | undefined;
  return (sum?.dataPoints ?? []).map((p) => ({
    attributes: Object.fromEntries((p.attributes ?? []).map((kv) => [kv.key, Object.values(kv.value)[0]])),
    value: Number(p.asInt ?? 0),
  }));
}

/** An HTTPListenerPolicy that makes the `http` Gateway's listeners trust forwarding headers. */
export function trustingListenerPolicyYaml(gateway = "http", namespace = "kgateway-system"): string {
  return `---
apiVersion: gateway.kgateway.dev/v1alpha1
kind: HTTPListenerPolicy
metadata: {name: trusting, namespace: ${namespace}}
spec:
  targetRefs: [{group: gateway.networking.k8s.io, kind: Gateway, name: ${gateway}}]
  trustForwardedHeaders: true
`;
}

/** For a per-policy counter test: an OTLP/HTTP receiver and a real upstream, both closed when `t` ends. */
export async function startPolicyLab(t: TestContext, handler?: (req: IncomingMessage, res: ServerResponse) => void): Promise<{ rx: OtlpReceiver; upstream: Upstream }> {
  const rx = await startOtlpReceiver("http");
  t.after(() => rx.close());
  const upstream = await startUpstream(handler);
  t.after(() => upstream.close());
  return { rx, upstream };
}

/** The gateway serving `yaml` with process stats, exporting to `rx` at once (plus `env`); closed when `t` ends. */
export async function startCountingGateway(t: TestContext, yaml: string, rx: OtlpReceiver, env: Record<string, string> = {}): Promise<TracedGateway> {
  const gw = await startTracedGateway(yaml, { ...FAST_EXPORTS, OTEL_EXPORTER_OTLP_ENDPOINT: rx.url, ...env }, { stats: new ProcessStats() });
  t.after(() => gw.close());
  return gw;
}
