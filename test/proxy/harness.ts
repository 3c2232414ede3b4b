// Proxy tests run the real pipeline: YAML → loadConfigText → compileConfig (compilePlan with compileFilters)
// → createProxyHandlers on a real http.Server on 127.0.0.1:0 → real upstreams.
import { CsrfChecks } from "../../src/proxy/csrf-checks.ts";
import { FaultInjections } from "../../src/proxy/fault-injection.ts";
import { CompressionBytes, CompressionCounts, DecompressionCounts } from "../../src/proxy/compression-counts.ts";
import { JwksFetchCounts } from "../../src/proxy/jwks-fetches.ts";
import assert from "node:assert/strict";
import http from "node:http";
import type { AddressInfo } from "node:net";
import { once } from "node:events";
import { loadConfigText } from "../../src/config/load.ts";
import type { RuntimePlan } from "../../src/plan/types.ts";
import { compileConfig } from "../../src/server/config-stage.ts";
import { type ProxyHandlers, createProxyHandlers } from "../../src/proxy/handler.ts";
import { createListenerServer } from "../../src/proxy/listener.ts";
import type { HookWarnSink } from "../../src/proxy/guarded-telemetry.ts";
import { GlobalRateLimitCounts } from "../../src/proxy/global-rate-limit.ts";
import { AccessDenials } from "../../src/proxy/access-denials.ts";
import { ExternalAuthCounts } from "../../src/proxy/external-auth-counts.ts";
import { RateLimitCounts } from "../../src/proxy/local-rate-limit.ts";
import { MirrorDrops } from "../../src/proxy/mirror.ts";
import { ProxyProtocolErrors } from "../../src/proxy/proxy-protocol-errors.ts";
import { TlsHandshakeErrors } from "../../src/proxy/tls-handshake-errors.ts";
import { UpstreamPools } from "../../src/proxy/pools.ts";
import type { ProxyStats } from "../../src/proxy/retry.ts";
import { type RequestTelemetry, noopTelemetry } from "../../src/telemetry/hooks.ts";

/** The port the test configs declare; the server really binds an ephemeral one. */
export const CONFIG_PORT = 8080;

export interface GatewayUnderTest {
  readonly port: number;
  readonly server: http.Server;
  readonly pools: UpstreamPools;
  readonly stats: ProxyStats;
  readonly handlers: ProxyHandlers;
  plan: RuntimePlan;
  close(): Promise<void>;
}

/** `previous`: the plan a reload replaces, as the gateway passes it (rate limit buckets carry over). */
export function compileYaml(yaml: string, generation = 1, previous?: RuntimePlan): RuntimePlan {
  const { config, diagnostics } = loadConfigText(yaml, "proxy-test.yaml");
  assert.ok(config, diagnostics.map((d) => `${d.line}:${d.col} ${d.path}: ${d.message}`).join("\n"));
  const compiled = compileConfig(config, generation, previous);
  assert.ok(compiled.plan, compiled.error);
  return compiled.plan;
}

/** `draining`: what the listener says of its drain (a gateway's BoundListener), for health checks. */
export async function startGateway(yaml: string, telemetry: RequestTelemetry = noopTelemetry, warn?: HookWarnSink, draining?: () => boolean): Promise<GatewayUnderTest> {
  const pools = new UpstreamPools();
  const stats: ProxyStats = { retries: new Map(), telemetryHookErrors: new Map(), mirrorDrops: new MirrorDrops(), tlsHandshakeErrors: new TlsHandshakeErrors(), proxyProtocolErrors: new ProxyProtocolErrors(), rateLimits: new RateLimitCounts(), globalRateLimits: new GlobalRateLimitCounts(), accessDenials: new AccessDenials(), externalAuthChecks: new ExternalAuthCounts(), jwksFetches: new JwksFetchCounts(), csrfChecks: new CsrfChecks(), faultInjections: new FaultInjections(), compressions: new CompressionCounts(), compressionBytes: new CompressionBytes(), decompressions: new DecompressionCounts() };
  const gateway: Partial<GatewayUnderTest> & { plan: RuntimePlan } = { plan: compileYaml(yaml) };
  const listener = gateway.plan.listenerByPort.get(CONFIG_PORT);
  assert.ok(listener, `the test config must declare a listener on port ${CONFIG_PORT}`);
  const handlers = createProxyHandlers({ currentPlan: () => gateway.plan, telemetry, pools, stats, warn, draining }, CONFIG_PORT);
  const server = createListenerServer(listener.settings, handlers, listener.tls, listener.proxyProtocol);
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  return Object.assign(gateway, {
    port: (server.address() as AddressInfo).port,
    server,
    pools,
    stats,
    handlers,
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await pools.destroy();
    },
  });
}

export interface Reply {
  readonly status: number;
  readonly headers: http.IncomingHttpHeaders;
  readonly body: Buffer;
  json(): Record<string, unknown>;
}

export interface Ask {
  readonly method?: string;
  readonly path?: string;
  readonly headers?: http.OutgoingHttpHeaders;
  readonly body?: string | Buffer;
}

/** One request on a fresh connection, the whole response body collected. */
export function ask(port: number, options: Ask = {}): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = http.request(
      { host: "127.0.0.1", port, method: options.method ?? "GET", path: options.path ?? "/", headers: options.headers, agent: false },
      (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (c: Buffer) => chunks.push(c));
        res.on("error", reject);
        res.on("end", () => {
          const body = Buffer.concat(chunks);
          resolve({
            status: res.statusCode ?? 0,
            headers: res.headers,
            body,
            json: () => JSON.parse(body.toString("utf8")) as Record<string, unknown>,
          });
        });
      },
    );
    req.on("error", reject);
    req.end(options.body);
  });
}

export const GATEWAY_YAML = `apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: {name: edge, namespace: default}
spec:
  gatewayClassName: tollgate
  listeners:
    - {name: web, protocol: HTTP, port: ${CONFIG_PORT}}
`;

export function backendYaml(name: string, ...ports: number[]): string {
  return `---
apiVersion: gateway.tollgate.dev/v1alpha1
kind: Backend
metadata: {name: ${name}, namespace: default}
spec:
  endpoints:
${ports.map((p) => `    - ip: {address: 127.0.0.1, port: ${p}}`).join("\n")}
`;
}

/** The Gateway API conformance suite's Gateway `same-namespace`, with one HTTP listener on CONFIG_PORT. */
export const CONFORMANCE_GATEWAY = `apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: {name: same-namespace, namespace: gateway-conformance-infra}
spec:
  gatewayClassName: tollgate
  listeners: [{name: http, protocol: HTTP, port: ${CONFIG_PORT}}]
`;

/** A Backend on 127.0.0.1 in the Gateway API conformance namespace, standing in for the Service of that name; `spec` adds lines under spec. */
export const conformanceBackend = (name: string, port: number, spec = ""): string => `---
apiVersion: gateway.tollgate.dev/v1alpha1
kind: Backend
metadata: {name: ${name}, namespace: gateway-conformance-infra}
spec:
  endpoints: [{ip: {address: 127.0.0.1, port: ${port}}}]
${spec}`;

export const ref = (name: string, weight?: number): string =>
  `{group: gateway.tollgate.dev, kind: Backend, name: ${name}${weight === undefined ? "" : `, weight: ${weight}`}}`;

/** A ConfigMap `default/name` holding `ca` as its `ca.crt`, as a BackendTLSPolicy names it. */
export const caConfigMapYaml = (name: string, ca: Buffer): string => `---
apiVersion: v1
kind: ConfigMap
metadata: {name: ${name}, namespace: default}
data: {ca.crt: ${JSON.stringify(ca.toString())}}
`;

/** A BackendTLSPolicy on the Backend `default/backend`: TLS with SNI `hostname`, trusting the ConfigMap `caConfigMap`. */
export const backendTlsPolicyYaml = (backend: string, caConfigMap: string, hostname: string): string => `---
apiVersion: gateway.networking.k8s.io/v1
kind: BackendTLSPolicy
metadata: {name: ${backend}, namespace: default}
spec:
  targetRefs: [{group: gateway.tollgate.dev, kind: Backend, name: ${backend}}]
  validation: {caCertificateRefs: [{group: '', kind: ConfigMap, name: ${caConfigMap}}], hostname: ${hostname}}
`;

/** An HTTPRoute `r` on the test Gateway with these rules (YAML list items indented four spaces). */
export const routeYaml = (rules: string): string => `---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: r, namespace: default}
spec:
  parentRefs: [{name: edge}]
  rules:
${rules}`;

/** A Gateway of its own with one HTTP listener on port 8080 for `hostname`: several share the port. */
export const hostGatewayYaml = (name: string, hostname: string): string => `---
apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: {name: ${name}, namespace: default}
spec:
  gatewayClassName: tollgate
  listeners: [{name: web, protocol: HTTP, port: 8080, hostname: ${hostname}}]
`;

/** An HTTPRoute on these Gateways with one rule: these path prefixes to Backend `app`, `extra` (rule fields, indented four spaces) before its backendRefs. */
export const appRouteYaml = (name: string, parents: readonly string[], prefixes: readonly string[], extra = ""): string => `---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: ${name}, namespace: default}
spec:
  parentRefs: [${parents.map((p) => `{name: ${p}}`).join(", ")}]
  rules:
  - matches: [${prefixes.map((p) => `{path: {type: PathPrefix, value: ${p}}}`).join(", ")}]
${extra}    backendRefs: [${ref("app")}]
`;

/** An HTTPRoute on one Gateway sending every request to one Backend; `fields`: more of the rule's fields, flow style (`timeouts: {request: 1s}`). */
export const catchAllOnYaml = (name: string, parent: string, backend: string, fields = ""): string => `---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: ${name}, namespace: default}
spec:
  parentRefs: [{name: ${parent}}]
  rules: [{${fields === "" ? "" : `${fields}, `}backendRefs: [${ref(backend)}]}]
`;

/** A kgateway TrafficPolicy on one Gateway or HTTPRoute, with `body` (spec fields, indented two spaces). */
export const targetedTrafficPolicyYaml = (name: string, kind: "Gateway" | "HTTPRoute", target: string, body: string): string => `---
apiVersion: gateway.kgateway.dev/v1alpha1
kind: TrafficPolicy
metadata: {name: ${name}, namespace: default}
spec:
  targetRefs: [{group: gateway.networking.k8s.io, kind: ${kind}, name: ${target}}]
${body}`;

/** An HTTPRoute `r` on the test Gateway sending every request to one Backend. */
export const catchAllRouteYaml = (backend: string): string => routeYaml(`    - backendRefs: [${ref(backend)}]
`);
