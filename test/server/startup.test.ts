// Start-up failures and the impatient second Ctrl-C: the process says why and exits non-zero.
import assert from "node:assert/strict";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { after, before, describe, it } from "node:test";
import { httpRequest, runGatewayToExit, startGateway } from "../support/gateway-process.ts";
import { gatewayConfig, startUpstream } from "./fixtures.ts";

describe("start-up failures", () => {
  let occupied: Server;
  let occupiedPort = 0;
  before(async () => {
    occupied = createServer((_req, res) => res.end("not tollgate"));
    await new Promise<void>((resolve) => occupied.listen(0, "127.0.0.1", resolve));
    occupiedPort = (occupied.address() as AddressInfo).port;
  });
  after(() => new Promise<void>((resolve) => occupied.close(() => resolve())));

  it("an invalid config at start logs every error and exits 1", { timeout: 60_000 }, async () => {
    const config = gatewayConfig([{ name: "app", path: "/app", upstreamPort: 1 }]).replace("      port: 8080\n", "      port: 8080\n      tls: 3\n      colour: red\n");
    const run = await runGatewayToExit({ config });
    assert.deepEqual(run.status, { code: 1, signal: null });
    const errors = run.logs.filter((l) => l.msg === "config error").map((l) => String(l["diagnostic"]));
    assert.equal(errors.length, 2, run.stderr);
    assert.ok(errors.some((e) => /gateway\.yaml:13:7: spec\.listeners\[0\]\.colour: unknown field "colour"/.test(e)), errors.join("\n"));
    assert.ok(run.logs.some((l) => l.msg === "config invalid; not starting"));
    assert.ok(!run.logs.some((l) => l.msg === "ready"));
  });

  it("a gateway port that is taken exits 1 naming the port", { timeout: 60_000 }, async () => {
    const run = await runGatewayToExit({
      config: gatewayConfig([{ name: "app", path: "/app", upstreamPort: 1 }]),
      env: { TOLLGATE_LISTENER_PORT_OVERRIDE: `8080=${occupiedPort}` },
    });
    assert.deepEqual(run.status, { code: 1, signal: null });
    assert.ok(!run.logs.some((l) => l.msg === "config error" || l.msg === "config invalid; not starting"), "a taken port is not the config's fault");
    const error = run.logs.find((l) => l.msg === "cannot bind a gateway listener");
    assert.match(String(error?.["diagnostic"]), new RegExp(`^binding gateway listener port 8080 failed: .*EADDRINUSE.*${occupiedPort}`));
    assert.ok(run.logs.some((l) => l.msg === "a gateway listener cannot be bound; not starting"));
  });

  it("an ops port that is taken exits 1", { timeout: 60_000 }, async () => {
    const run = await runGatewayToExit({
      config: gatewayConfig([{ name: "app", path: "/app", upstreamPort: 1 }]),
      env: { TOLLGATE_OPS_ADDR: `127.0.0.1:${occupiedPort}` },
    });
    assert.deepEqual(run.status, { code: 1, signal: null });
    const error = run.logs.find((l) => l.msg === "cannot bind the ops/admin listeners");
    assert.equal((error?.["error"] as { code?: string } | undefined)?.code, "EADDRINUSE");
  });

  it("with workers, an invalid config stops the primary before any worker starts", { timeout: 60_000 }, async () => {
    const run = await runGatewayToExit({ config: "kind: Gateway\n", workers: 2 });
    assert.deepEqual(run.status, { code: 1, signal: null });
    assert.ok(run.logs.some((l) => l.msg === "config invalid; not starting"));
    assert.ok(!run.logs.some((l) => l.msg === "worker started"));
  });

  it("with workers, when no worker can bind its port the primary exits 1 instead of restarting them", { timeout: 60_000 }, async () => {
    const run = await runGatewayToExit({
      config: gatewayConfig([{ name: "app", path: "/app", upstreamPort: 1 }]),
      workers: 2,
      env: { TOLLGATE_LISTENER_PORT_OVERRIDE: `8080=${occupiedPort}` },
    });
    assert.deepEqual(run.status, { code: 1, signal: null });
    assert.ok(run.logs.some((l) => l.msg === "worker could not start and no worker is serving; stopping"), run.stderr);
    assert.ok(!run.logs.some((l) => l.msg === "worker exited unexpectedly; restarting"), run.stderr);
  });
});

describe("a second SIGINT during a drain", () => {
  it("exits at once with code 1", { timeout: 60_000 }, async () => {
    const upstream = await startUpstream("one");
    const gw = await startGateway({
      config: gatewayConfig([{ name: "app", path: "/app", upstreamPort: upstream.port }]),
      env: { TOLLGATE_DRAIN_GRACE_MS: "60000" },
    });
    try {
      upstream.hold();
      const inFlight = httpRequest(gw.url(8080, "/app/held")).catch((error: NodeJS.ErrnoException) => error.code);
      await upstream.heldCount(1);
      const from = gw.logs().length;
      gw.signal("SIGINT");
      await gw.waitForLog((l) => l.msg === "drain started", { from });
      gw.signal("SIGINT");
      assert.deepEqual(await gw.waitForExit(), { code: 1, signal: null });
      assert.ok(gw.logs().some((l) => l.msg === "second SIGINT while draining; exiting now"));
      assert.equal(await inFlight, "ECONNRESET");
    } finally {
      await gw.stop();
      await upstream.close();
    }
  });
});

describe("a config without a Gateway listener", () => {
  for (const workers of [1, 2]) {
    it(`starts but is not ready: /readyz answers 503 no_listeners (${workers === 1 ? "single process" : "--workers 2"})`, { timeout: 60_000 }, async () => {
      const gw = await startGateway({ config: "", readyLogOnly: true, ...(workers > 1 ? { workers } : {}) });
      try {
        const readyz = await httpRequest(gw.opsUrl("/readyz"));
        assert.equal(readyz.status, 503);
        assert.equal((JSON.parse(readyz.body) as { status: string }).status, "no_listeners");
        assert.equal((await httpRequest(gw.opsUrl("/healthz"))).status, 200);
      } finally {
        await gw.stop();
      }
    });
  }
});
