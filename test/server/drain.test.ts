// Graceful drain on SIGTERM/SIGINT, with real requests in flight.
import assert from "node:assert/strict";
import { Agent, request } from "node:http";
import { afterEach, describe, it } from "node:test";
import { httpRequest, startGateway, type GatewayProcess } from "../support/gateway-process.ts";
import { startOtlpReceiver } from "../support/otlp-receiver.ts";
import { gatewayConfig, startUpstream, type Upstream } from "./fixtures.ts";

/** A keep-alive HTTP/1.1 connection that has finished one request and now sits idle. */
async function idleKeepAliveConnection(port: number): Promise<{ closed: Promise<void> }> {
  const agent = new Agent({ keepAlive: true, maxSockets: 1 });
  return new Promise((resolve, reject) => {
    const req = request({ host: "127.0.0.1", port, path: "/app/keepalive", agent }, (res) => {
      const socket = res.socket;
      const closed = new Promise<void>((done) => socket.once("close", () => done()));
      res.resume();
      res.once("end", () => {
        assert.equal(res.statusCode, 200);
        assert.notEqual(res.headers["connection"], "close");
        resolve({ closed });
      });
    });
    req.once("error", reject);
    req.end();
  });
}

describe("drain", () => {
  let gw: GatewayProcess | undefined;
  let upstream: Upstream | undefined;
  afterEach(async () => {
    await gw?.stop();
    await upstream?.close();
  });

  for (const signal of ["SIGTERM", "SIGINT"] as const) {
    it(`${signal}: readiness drops, in-flight requests complete, new connections are refused, exit 0`, { timeout: 60_000 }, async () => {
      upstream = await startUpstream("one");
      gw = await startGateway({
        config: gatewayConfig([{ name: "app", path: "/app", upstreamPort: upstream.port }]),
        env: { TOLLGATE_DRAIN_GRACE_MS: "300" },
      });
      const gatewayPort = gw.port(8080);
      const idle = await idleKeepAliveConnection(gatewayPort);

      upstream.hold();
      const inFlight = [httpRequest(gw.url(8080, "/app/1")), httpRequest(gw.url(8080, "/app/2"))];
      await upstream.heldCount(2);

      const from = gw.logs().length;
      gw.signal(signal);
      await gw.waitForLog((l) => l.msg === "drain started", { from });

      const readyz = await httpRequest(gw.opsUrl("/readyz"));
      assert.equal(readyz.status, 503);
      assert.equal((JSON.parse(readyz.body) as { status: string }).status, "draining");
      assert.equal((await httpRequest(gw.opsUrl("/healthz"))).status, 200, "still alive while draining");

      const stopped = await gw.waitForLog((l) => l.msg === "drain: stopped accepting connections", { from });
      assert.equal(stopped["inFlight"], 2);
      await idle.closed; // the idle keep-alive connection was closed by the gateway
      await assert.rejects(httpRequest(`http://127.0.0.1:${gatewayPort}/app/late`), { code: "ECONNREFUSED" });

      upstream.release();
      const responses = await Promise.all(inFlight);
      for (const [i, res] of responses.entries()) {
        assert.equal(res.status, 200);
        assert.equal(res.body, `one /app/${i + 1}`);
        assert.equal(res.headers["connection"], "close", "responses sent during a drain close their connection");
      }

      const exit = await gw.waitForExit();
      assert.deepEqual(exit, { code: 0, signal: null });
      const steps = gw
        .logs()
        .slice(from)
        .map((l) => l.msg);
      const order = [
        "drain started",
        "drain: not ready; new responses carry Connection: close",
        "drain: stopped accepting connections",
        "drain: in-flight requests finished; connections closed",
        "drain: telemetry flushed",
        "drained; exiting",
      ];
      assert.deepEqual(
        steps.filter((m) => order.includes(m)),
        order,
      );
      assert.deepEqual(upstream.received.sort(), ["/app/1", "/app/2", "/app/keepalive"]);
    });
  }

  for (const workers of [1, 2]) {
    it(`a SIGHUP during the drain is ignored: the request in flight completes and the process exits 0 (${workers === 1 ? "single process" : "--workers 2"})`, { timeout: 60_000 }, async () => {
      upstream = await startUpstream("one");
      gw = await startGateway({
        config: gatewayConfig([{ name: "app", path: "/app", upstreamPort: upstream.port }]),
        env: { TOLLGATE_DRAIN_GRACE_MS: "50" },
        ...(workers > 1 ? { workers } : {}),
      });
      upstream.hold();
      const inFlight = httpRequest(gw.url(8080, "/app/held"));
      await upstream.heldCount(1);
      const from = gw.logs().length;
      gw.signal("SIGTERM");
      await gw.waitForLog((l) => l.msg === "drain started", { from });
      // Without a listener, node's default action for SIGHUP would end the process here.
      gw.signal("SIGHUP");
      await gw.waitForLog((l) => l.msg === "SIGHUP ignored: draining", { from });
      upstream.release();
      assert.equal((await inFlight).status, 200);
      assert.deepEqual(await gw.waitForExit(), { code: 0, signal: null });
    });
  }

  it("a request on a port a reload just removed is drained like the others", { timeout: 60_000 }, async () => {
    upstream = await startUpstream("one");
    const routes = [{ name: "app", path: "/app", upstreamPort: upstream.port }];
    gw = await startGateway({ config: gatewayConfig(routes, [8080, 9090]), env: { TOLLGATE_DRAIN_GRACE_MS: "50" } });
    upstream.hold();
    const inFlight = httpRequest(gw.url(9090, "/app/on-removed-port"));
    await upstream.heldCount(1);
    let from = gw.logs().length;
    await gw.writeConfig(gatewayConfig(routes, [8080]));
    const closing = await gw.waitForLog((l) => l.msg === "closing listener removed from the config", { from });
    assert.equal(closing["inFlight"], 1);
    from = gw.logs().length;
    gw.signal("SIGTERM");
    const stopped = await gw.waitForLog((l) => l.msg === "drain: stopped accepting connections", { from });
    assert.equal(stopped["inFlight"], 1, "the removed port's request counts");
    upstream.release();
    assert.equal((await inFlight).body, "one /app/on-removed-port");
    await gw.waitForLog((l) => l.msg === "drain: in-flight requests finished; connections closed", { from });
    assert.deepEqual(await gw.waitForExit(), { code: 0, signal: null });
  });

  it("cuts requests still running at the drain timeout, and still exits 0", { timeout: 60_000 }, async () => {
    upstream = await startUpstream("one");
    gw = await startGateway({
      config: gatewayConfig([{ name: "app", path: "/app", upstreamPort: upstream.port }]),
      env: { TOLLGATE_DRAIN_GRACE_MS: "50", TOLLGATE_DRAIN_TIMEOUT_MS: "200" },
    });
    upstream.hold();
    const stuck = httpRequest(gw.url(8080, "/app/stuck")).then(
      (res) => ({ outcome: "response" as const, status: res.status }),
      (error: NodeJS.ErrnoException) => ({ outcome: "error" as const, code: error.code }),
    );
    await upstream.heldCount(1);
    const from = gw.logs().length;
    gw.signal("SIGTERM");
    const cut = await gw.waitForLog((l) => l.msg === "drain: timeout reached; remaining connections were cut", { from });
    assert.equal(cut["level"], "warn");
    assert.deepEqual(await gw.waitForExit(), { code: 0, signal: null });
    assert.deepEqual(await stuck, { outcome: "error", code: "ECONNRESET" });
  });

  it("a request cut at the drain timeout is reported as the gateway's shutdown, not as a client abort", { timeout: 60_000 }, async (t) => {
    const rx = await startOtlpReceiver("http");
    t.after(() => rx.close());
    upstream = await startUpstream("one");
    gw = await startGateway({
      config: gatewayConfig([{ name: "app", path: "/app", upstreamPort: upstream.port }]),
      env: {
        TOLLGATE_DRAIN_GRACE_MS: "50",
        TOLLGATE_DRAIN_TIMEOUT_MS: "200",
        OTEL_EXPORTER_OTLP_ENDPOINT: rx.url,
        OTEL_LOGS_EXPORTER: "otlp",
        OTEL_METRICS_EXPORTER: "none",
        // The helper's 1 s default is meant for dead collectors; this one is alive.
        TOLLGATE_TELEMETRY_SHUTDOWN_TIMEOUT_MS: "15000",
      },
    });
    upstream.hold();
    const stuck = httpRequest(gw.url(8080, "/app/stuck")).catch((error: NodeJS.ErrnoException) => error.code);
    await upstream.heldCount(1);
    gw.signal("SIGTERM");
    assert.deepEqual(await gw.waitForExit(), { code: 0, signal: null });
    assert.equal(await stuck, "ECONNRESET");
    assert.ok(gw.logs().some((l) => l.msg === "drain: telemetry flushed"), "the final flush finished rather than timing out");
    // The final flush exported them before the exit.
    const server = rx.spans.find((s) => s.kind === 2 && s.attributes["url.path"] === "/app/stuck");
    const client = rx.spans.find((s) => s.kind === 3 && s.parentSpanId === server?.spanId);
    assert.ok(server && client, JSON.stringify(rx.spans.map((s) => [s.kind, s.name])));
    assert.equal(server.attributes["error.type"], "gateway_shutdown");
    assert.equal(client.attributes["error.type"], "gateway_shutdown");
    const log = rx.logs.find((l) => l.attributes["url.path"] === "/app/stuck");
    assert.ok(log, "the access log record was exported");
    assert.equal(log.attributes["error.type"], "gateway_shutdown");
    assert.equal(log.attributes["tollgate.response.flags"], undefined, "no DC: the client did not disconnect");
  });
});
