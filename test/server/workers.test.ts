// `tollgate run --workers N`: cluster workers share the gateway port; the primary restarts
// crashed workers, forwards reloads, serves ops/admin, and drains everything on SIGTERM.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { httpRequest, startGateway, type GatewayProcess } from "../support/gateway-process.ts";
import { gatewayConfig, sampleValue, startUpstream, type Upstream } from "./fixtures.ts";
import { EXIT_STARTUP_FAILED } from "../../src/server/context.ts";

function workerPid(gw: GatewayProcess, worker: number, from = 0): number {
  const started = gw
    .logs()
    .slice(from)
    .filter((l) => l.msg === "worker started" && l["worker"] === worker)
    .at(-1);
  assert.ok(started !== undefined, `worker ${worker} was started`);
  return Number(started["workerPid"]);
}

describe("workers", () => {
  let gw: GatewayProcess;
  let upstream: Upstream;
  before(async () => {
    upstream = await startUpstream("one");
    gw = await startGateway({ config: gatewayConfig([{ name: "app", path: "/app", upstreamPort: upstream.port }]), workers: 2 });
  });
  after(async () => {
    await gw.stop();
    await upstream.close();
  });

  it("two workers serve the gateway port; the primary reports both", { timeout: 60_000 }, async () => {
    for (let i = 0; i < 6; i++) {
      const res = await httpRequest(gw.url(8080, `/app/${i}`));
      assert.equal(res.status, 200);
      assert.equal(res.body, `one /app/${i}`);
    }
    const readyz = JSON.parse((await httpRequest(gw.opsUrl("/readyz"))).body) as { status: string; workers: { ready: number; configured: number } };
    assert.deepEqual(readyz, { status: "ready", workers: { ready: 2, configured: 2 } });
    const pids = new Set([workerPid(gw, 1), workerPid(gw, 2)]);
    assert.equal(pids.size, 2);
    assert.ok(!pids.has(gw.pid), "the primary serves no traffic itself");
  });

  it("/metrics merges every worker's series under a worker_id label", { timeout: 60_000 }, async () => {
    const res = await httpRequest(gw.opsUrl("/metrics"));
    assert.equal(res.status, 200);
    assert.equal(sampleValue(res.body, "tollgate_build_info", { worker_id: "1" }), 1);
    assert.equal(sampleValue(res.body, "tollgate_build_info", { worker_id: "2" }), 1);
    assert.equal(sampleValue(res.body, "tollgate_cluster_workers", { state: "ready" }), 2);
    // Each family is declared once even though two workers report it.
    assert.equal(res.body.match(/^# TYPE tollgate_build_info /gm)?.length, 1);
  });

  it("/config and /routes are answered by a worker", { timeout: 60_000 }, async () => {
    const routes = JSON.parse((await httpRequest(gw.adminUrl("/routes"))).body) as { listeners: { port: number; boundPort: number }[] };
    assert.equal(routes.listeners[0]?.port, 8080);
    assert.equal(routes.listeners[0]?.boundPort, gw.port(8080));
    const config = JSON.parse((await httpRequest(gw.adminUrl("/config"))).body) as { generation: number };
    assert.equal(config.generation, 1);
  });

  it("with one worker frozen, /config and /routes are answered by the other", { timeout: 60_000 }, async () => {
    const frozen = workerPid(gw, 1);
    process.kill(frozen, "SIGSTOP");
    try {
      const config = await httpRequest(gw.adminUrl("/config"));
      assert.equal(config.status, 200, config.body);
      assert.equal((JSON.parse(config.body) as { generation: number }).generation, 1);
      const routes = await httpRequest(gw.adminUrl("/routes"));
      assert.equal(routes.status, 200, routes.body);
    } finally {
      process.kill(frozen, "SIGCONT");
    }
  });

  it("a killed worker is restarted and traffic continues", { timeout: 60_000 }, async () => {
    const from = gw.logs().length;
    const victim = workerPid(gw, 1);
    process.kill(victim, "SIGKILL");
    const exited = await gw.waitForLog((l) => l.msg === "worker exited unexpectedly; restarting", { from });
    assert.equal(exited["worker"], 1);
    assert.equal(exited["signal"], "SIGKILL");
    for (let i = 0; i < 4; i++) assert.equal((await httpRequest(gw.url(8080, `/app/during-${i}`))).status, 200);
    await gw.waitForLog((l) => l.msg === "worker ready" && l["worker"] === 1 && l["level"] === "info" && l["workerPid"] !== undefined, { from });
    assert.notEqual(workerPid(gw, 1, from), victim);
    const readyz = JSON.parse((await httpRequest(gw.opsUrl("/readyz"))).body) as { workers: { ready: number } };
    assert.equal(readyz.workers.ready, 2);
    for (let i = 0; i < 4; i++) assert.equal((await httpRequest(gw.url(8080, `/app/after-${i}`))).status, 200);
    assert.equal(sampleValue((await httpRequest(gw.opsUrl("/metrics"))).body, "tollgate_cluster_worker_restarts_total"), 1);
  });

  it("a config change reaches every worker", { timeout: 60_000 }, async () => {
    const from = gw.logs().length;
    await gw.writeConfig(gatewayConfig([{ name: "moved", path: "/moved", upstreamPort: upstream.port }]));
    await gw.waitForLog((l) => l.msg === "config reloaded" && l["worker"] === 1, { from });
    await gw.waitForLog((l) => l.msg === "config reloaded" && l["worker"] === 2, { from });
    for (let i = 0; i < 4; i++) {
      assert.equal((await httpRequest(gw.url(8080, `/moved/${i}`))).body, `one /moved/${i}`);
      assert.equal((await httpRequest(gw.url(8080, `/app/${i}`))).status, 404);
    }
  });

  it("SIGHUP to the primary reloads every worker", { timeout: 60_000 }, async () => {
    const from = gw.logs().length;
    gw.signal("SIGHUP");
    const one = await gw.waitForLog((l) => l.msg === "config reloaded" && l["worker"] === 1, { from });
    const two = await gw.waitForLog((l) => l.msg === "config reloaded" && l["worker"] === 2, { from });
    assert.equal(one["trigger"], "SIGHUP");
    assert.equal(two["trigger"], "SIGHUP");
  });

  it("SIGTERM drains every worker and the primary exits 0", { timeout: 60_000 }, async () => {
    const from = gw.logs().length;
    gw.signal("SIGTERM");
    assert.deepEqual(await gw.waitForExit(), { code: 0, signal: null });
    const drained = gw
      .logs()
      .slice(from)
      .filter((l) => l.msg === "drained; exiting");
    assert.deepEqual(drained.map((l) => l["worker"] ?? "primary").sort(), [1, 2, "primary"].sort());
    const exits = gw
      .logs()
      .slice(from)
      .filter((l) => l.msg === "worker exited");
    assert.deepEqual(exits.map((l) => l["code"]), [0, 0]);
  });
});

describe("workers without their primary", () => {
  it("exit when the primary dies", { timeout: 60_000 }, async () => {
    const upstream = await startUpstream("one");
    const gw = await startGateway({ config: gatewayConfig([{ name: "app", path: "/app", upstreamPort: upstream.port }]), workers: 1 });
    try {
      const worker = workerPid(gw, 1);
      gw.signal("SIGKILL");
      await gw.waitForExit();
      // node's cluster module ends a worker whose IPC channel to the primary closes.
      const deadline = Date.now() + 30_000;
      let alive = true;
      while (alive && Date.now() < deadline) {
        try {
          process.kill(worker, 0);
          await new Promise((r) => setTimeout(r, 50));
        } catch (error) {
          assert.equal((error as NodeJS.ErrnoException).code, "ESRCH");
          alive = false;
        }
      }
      assert.equal(alive, false, "the orphaned worker exited");
    } finally {
      await gw.stop();
      await upstream.close();
    }
  });
});

describe("workers and a config that lost its listeners", () => {
  it("a worker restarted onto it waits for a file with a listener, while the others serve on", { timeout: 60_000 }, async () => {
    const upstream = await startUpstream("one");
    const config = gatewayConfig([{ name: "app", path: "/app", upstreamPort: upstream.port }]);
    const gw = await startGateway({ config, workers: 2 });
    try {
      const port = gw.port(8080);
      let from = gw.logs().length;
      await gw.writeConfig("");
      for (const worker of [1, 2]) await gw.waitForLog((l) => l.msg === "config reload failed; the previous config keeps serving" && l["worker"] === worker, { from });
      from = gw.logs().length;
      process.kill(workerPid(gw, 1), "SIGKILL");
      const refused = await gw.waitForLog((l) => l.msg === "config error" && l["worker"] === 1, { from });
      assert.match(String(refused["diagnostic"]), /the config has no Gateway listener while the other workers serve ports/);
      await gw.waitForLog((l) => l.msg === "worker exited unexpectedly; restarting" && l["worker"] === 1 && l["code"] === EXIT_STARTUP_FAILED, { from });
      assert.ok(!gw.logs().slice(from).some((l) => l.msg === "worker ready" && l["worker"] === 1), "it does not come up serving nothing");
      const readyz = await httpRequest(gw.opsUrl("/readyz"));
      assert.equal(readyz.status, 200, readyz.body);
      assert.deepEqual((JSON.parse(readyz.body) as { workers: unknown }).workers, { ready: 1, configured: 2 });
      assert.equal(gw.port(8080), port);
      for (let i = 0; i < 4; i++) assert.equal((await httpRequest(gw.url(8080, `/app/${i}`))).body, `one /app/${i}`);
      // The file gets its listener back: the next restart comes up and serves.
      from = gw.logs().length;
      await gw.writeConfig(config);
      await gw.waitForLog((l) => l.msg === "worker ready" && l["worker"] === 1 && l["workerPid"] !== undefined, { from });
      const after = JSON.parse((await httpRequest(gw.opsUrl("/readyz"))).body) as { workers: unknown };
      assert.deepEqual(after.workers, { ready: 2, configured: 2 });
    } finally {
      await gw.stop();
      await upstream.close();
    }
  });
});
