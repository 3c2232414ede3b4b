// The gateway side of the end-to-end tests: a real upstream that records the trace context
// it receives, a config routing /echo to it, and a run of the gateway (the real process,
// via test/support/gateway-process.ts) that sends traffic and then drains on SIGTERM.
import assert from "node:assert/strict";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { httpRequest, startGateway, type GatewayProcess } from "../support/gateway-process.ts";

export interface Upstream {
  readonly port: number;
  /** traceparent headers received, in order. */
  readonly traceparents: string[];
  close(): Promise<void>;
}

export async function startUpstream(): Promise<Upstream> {
  const traceparents: string[] = [];
  const server: Server = createServer((req, res) => {
    traceparents.push(String(req.headers["traceparent"] ?? ""));
    res.setHeader("content-type", "application/json");
    res.end(JSON.stringify({ method: req.method, url: req.url }));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    port: (server.address() as AddressInfo).port,
    traceparents,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

export function echoConfig(upstreamPort: number): string {
  return `apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata:
  name: e2e
  namespace: default
spec:
  gatewayClassName: tollgate
  listeners:
    - name: http
      protocol: HTTP
      port: 8080
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata:
  name: echo
  namespace: default
spec:
  parentRefs:
    - name: e2e
  rules:
    - matches:
        - path:
            type: PathPrefix
            value: /echo
      backendRefs:
        - group: gateway.tollgate.dev
          kind: Backend
          name: echo
---
apiVersion: gateway.tollgate.dev/v1alpha1
kind: Backend
metadata:
  name: echo
  namespace: default
spec:
  endpoints:
    - ip:
        address: 127.0.0.1
        port: ${upstreamPort}
`;
}

export interface TrafficRun {
  readonly gateway: GatewayProcess;
  /** The traceparent each proxied request carried upstream. */
  readonly upstreamTraceparents: readonly string[];
}

/**
 * Starts the gateway with `env`, proxies `requests` GETs to /echo/<i>, then SIGTERMs it and
 * expects a drained exit 0 (the drain flushes every signal's exporter).
 */
export async function runTraffic(upstream: Upstream, env: Record<string, string>, requests: number): Promise<TrafficRun> {
  const seenBefore = upstream.traceparents.length;
  const gateway = await startGateway({
    config: echoConfig(upstream.port),
    env: {
      OTEL_TRACES_EXPORTER: "otlp",
      OTEL_LOGS_EXPORTER: "otlp",
      OTEL_METRICS_EXPORTER: "otlp",
      OTEL_TRACES_SAMPLER: "always_on",
      OTEL_BSP_SCHEDULE_DELAY: "200",
      OTEL_BLRP_SCHEDULE_DELAY: "200",
      OTEL_METRIC_EXPORT_INTERVAL: "1000",
      ...env,
    },
  });
  try {
    for (let i = 0; i < requests; i++) {
      const res = await httpRequest(gateway.url(8080, `/echo/${i}`));
      assert.equal(res.status, 200, `request ${i}: ${res.body}`);
      assert.deepEqual(JSON.parse(res.body), { method: "GET", url: `/echo/${i}` });
    }
  } finally {
    const status = await gateway.stop();
    assert.deepEqual(status, { code: 0, signal: null }, `the gateway drains and exits 0 on SIGTERM\n${gateway.stderr()}`);
  }
  return { gateway, upstreamTraceparents: upstream.traceparents.slice(seenBefore) };
}

/** Polls `read` until `done` holds or `timeoutMs` passes; returns the last value either way. */
export async function eventually<T>(read: () => T, done: (value: T) => boolean, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = read();
    if (done(value) || Date.now() > deadline) return value;
    await new Promise((r) => setTimeout(r, 100));
  }
}
