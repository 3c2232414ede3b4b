// The health check of an HTTPListenerPolicy in a real `tollgate run`, alone and with cluster
// workers: it passes while the gateway serves, and from the first drain step on (SIGTERM) it
// fails with 503 on the proxy port, so the load balancer in front stops sending new
// connections during the grace period while requests still get through.
import assert from "node:assert/strict";
import { afterEach, describe, it } from "node:test";
import { httpRequest, startGateway, type GatewayProcess } from "../support/gateway-process.ts";
import { gatewayConfig, startUpstream, type Upstream } from "./fixtures.ts";

const HEALTH_CHECK_POLICY = `---
apiVersion: gateway.kgateway.dev/v1alpha1
kind: HTTPListenerPolicy
metadata: {name: probes, namespace: default}
spec:
  targetRefs: [{group: gateway.networking.k8s.io, kind: Gateway, name: edge}]
  healthCheck: {path: /healthz}
`;

const DRAIN_STEP_1 = "drain: not ready; new responses carry Connection: close";

describe("health check during a drain", () => {
  let gw: GatewayProcess | undefined;
  let upstream: Upstream | undefined;
  afterEach(async () => {
    await gw?.stop();
    await upstream?.close();
  });

  for (const workers of [undefined, 2] as const) {
    it(`${workers === undefined ? "one process" : `${workers} workers`}: 200 while serving, 503 with Connection: close once SIGTERM starts the drain`, { timeout: 60_000 }, async () => {
      upstream = await startUpstream("one");
      gw = await startGateway({
        config: gatewayConfig([{ name: "app", path: "/app", upstreamPort: upstream.port }]) + HEALTH_CHECK_POLICY,
        ...(workers === undefined ? {} : { workers }),
        env: { TOLLGATE_DRAIN_GRACE_MS: "4000" },
      });
      const healthz = gw.url(8080, "/healthz");
      // Fresh connections, so with workers the kernel spreads them over both.
      for (let i = 0; i < 4; i++) {
        const passing = await httpRequest(healthz);
        assert.equal(passing.status, 200);
        assert.equal(passing.body, "");
      }

      const from = gw.logs().length;
      gw.signal("SIGTERM");
      // Each process serving the port (each worker, when the primary tells it) starts its own drain.
      let next = from;
      for (let started = 0; started < (workers ?? 1); started++) {
        const line = await gw.waitForLog((l) => l.msg === DRAIN_STEP_1, { from: next });
        next = gw.logs().indexOf(line) + 1;
      }
      for (let i = 0; i < 4; i++) {
        const failing = await httpRequest(healthz);
        assert.equal(failing.status, 503);
        assert.equal(failing.headers["connection"], "close");
        assert.deepEqual(JSON.parse(failing.body), { error: "health_check_failed", message: "the gateway is draining" });
      }
      const routed = await httpRequest(gw.url(8080, "/app/during-grace"));
      assert.equal(routed.status, 200, "requests are still served during the grace period");
      assert.equal(routed.body, "one /app/during-grace");
      assert.equal(routed.headers["x-envoy-immediate-health-check-fail"], "true", "every other answer tells an Envoy in front");

      assert.deepEqual(await gw.waitForExit(), { code: 0, signal: null });
    });
  }
});
