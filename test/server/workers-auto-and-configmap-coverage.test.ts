// `tollgate run --workers auto` starts one worker per available CPU and serves; and a config
// mounted the way a Kubernetes ConfigMap volume mounts it (file → ..data/file, ..data → a
// timestamped dir) reloads when the ..data symlink is swapped atomically.
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtemp, mkdir, rename, rm, symlink, writeFile } from "node:fs/promises";
import { availableParallelism, tmpdir } from "node:os";
import { join } from "node:path";
import { httpRequest, startGateway } from "../support/gateway-process.ts";
import { gatewayConfig, sampleValue, startUpstream } from "./fixtures.ts";

const NO_EXPORT = { OTEL_TRACES_EXPORTER: "none", OTEL_LOGS_EXPORTER: "none" };

test("--workers auto: one worker per available CPU, all ready, traffic served by workers", { timeout: 60_000 }, async (t) => {
  const upstream = await startUpstream("auto");
  t.after(() => upstream.close());
  const gw = await startGateway({ config: gatewayConfig([{ name: "app", path: "/app", upstreamPort: upstream.port }]), workers: "auto", env: NO_EXPORT });
  t.after(() => gw.stop());
  const expected = availableParallelism();
  const readyz = JSON.parse((await httpRequest(gw.opsUrl("/readyz"))).body) as { status: string; workers: { ready: number; configured: number } };
  assert.deepEqual(readyz, { status: "ready", workers: { ready: expected, configured: expected } });
  const started = gw.logs().filter((l) => l.msg === "worker started");
  assert.equal(new Set(started.map((l) => l["worker"])).size, expected, "one start line per worker");
  assert.ok(!started.some((l) => Number(l["workerPid"]) === gw.pid), "workers are not the primary");
  for (let i = 0; i < 4; i++) {
    const res = await httpRequest(gw.url(8080, `/app/${i}`));
    assert.equal(res.status, 200);
    assert.equal(res.body, `auto /app/${i}`);
  }
  assert.deepEqual(upstream.received, ["/app/0", "/app/1", "/app/2", "/app/3"]);
});

test("a ConfigMap-style ..data symlink swap reloads the config", { timeout: 60_000 }, async (t) => {
  const one = await startUpstream("one");
  t.after(() => one.close());
  const two = await startUpstream("two");
  t.after(() => two.close());
  const dir = await mkdtemp(join(tmpdir(), "tollgate-configmap-"));
  t.after(() => rm(dir, { recursive: true, force: true }));
  // The kubelet's layout: versioned dirs, `..data` pointing at the live one, and the file
  // itself a symlink through `..data`.
  const version = async (name: string, text: string): Promise<void> => {
    await mkdir(join(dir, name));
    await writeFile(join(dir, name, "gateway.yaml"), text);
  };
  await version("..2026_01_01_00_00_00.000000001", gatewayConfig([{ name: "app", path: "/app", upstreamPort: one.port }]));
  await symlink("..2026_01_01_00_00_00.000000001", join(dir, "..data"));
  await symlink("..data/gateway.yaml", join(dir, "gateway.yaml"));

  const gw = await startGateway({ configPath: join(dir, "gateway.yaml"), env: NO_EXPORT });
  t.after(() => gw.stop());
  assert.equal((await httpRequest(gw.url(8080, "/app/a"))).body, "one /app/a");

  const from = gw.logs().length;
  await version("..2026_01_01_00_01_00.000000002", gatewayConfig([{ name: "app", path: "/app", upstreamPort: two.port }]));
  await symlink("..2026_01_01_00_01_00.000000002", join(dir, "..data_tmp"));
  await rename(join(dir, "..data_tmp"), join(dir, "..data"));
  await rm(join(dir, "..2026_01_01_00_00_00.000000001"), { recursive: true });

  const reloaded = await gw.waitForLog((l) => l.msg === "config reloaded", { from });
  assert.equal(reloaded["trigger"], "file-change");
  assert.equal(reloaded["generation"], 2);
  assert.equal((await httpRequest(gw.url(8080, "/app/b"))).body, "two /app/b");
  assert.deepEqual(one.received, ["/app/a"]);
  const body = (await httpRequest(gw.opsUrl("/metrics"))).body;
  assert.equal(sampleValue(body, "tollgate_config_reloads_total", { outcome: "success" }), 1);
});
