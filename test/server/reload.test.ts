// Hot reload of a running gateway: on file change and on SIGHUP; valid files swap the plan
// atomically (requests in flight finish on the plan they started with), invalid files
// leave the old plan serving, and both outcomes are counted.
import assert from "node:assert/strict";
import { mkdir, mkdtemp, rm, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { httpRequest, startGateway, type GatewayProcess } from "../support/gateway-process.ts";
import { gatewayConfig, sampleValue, startUpstream, type Upstream } from "./fixtures.ts";

async function reloadCounts(gw: GatewayProcess): Promise<{ success: number | undefined; failure: number | undefined }> {
  const res = await httpRequest(gw.opsUrl("/metrics"));
  return {
    success: sampleValue(res.body, "tollgate_config_reloads_total", { outcome: "success" }),
    failure: sampleValue(res.body, "tollgate_config_reloads_total", { outcome: "failure" }),
  };
}

describe("reload on file change", () => {
  let gw: GatewayProcess;
  let one: Upstream;
  let two: Upstream;
  before(async () => {
    one = await startUpstream("one");
    two = await startUpstream("two");
    gw = await startGateway({
      config: gatewayConfig([{ name: "app", path: "/app", upstreamPort: one.port, responseHeader: { name: "x-plan", value: "first" } }]),
    });
  });
  after(async () => {
    await gw.stop();
    await one.close();
    await two.close();
  });

  it("swaps to a valid new config; a request in flight finishes on the old plan", { timeout: 60_000 }, async () => {
    one.hold();
    const inFlight = httpRequest(gw.url(8080, "/app/slow"));
    await one.heldCount(1);

    const from = gw.logs().length;
    await gw.writeConfig(
      gatewayConfig(
        [
          { name: "app", path: "/app", upstreamPort: two.port, responseHeader: { name: "x-plan", value: "second" } },
          { name: "extra", path: "/extra", upstreamPort: two.port },
        ],
        [8080, 9090],
      ),
    );
    const reloaded = await gw.waitForLog((l) => l.msg === "config reloaded", { from });
    assert.equal(reloaded["generation"], 2);
    assert.equal(reloaded["trigger"], "file-change");

    const fresh = await httpRequest(gw.url(8080, "/app/fast"));
    assert.equal(fresh.status, 200);
    assert.equal(fresh.body, "two /app/fast");
    assert.equal(fresh.headers["x-plan"], "second");
    const added = await httpRequest(gw.url(8080, "/extra/y"));
    assert.equal(added.body, "two /extra/y");
    // The port the new config added is bound and routes like the others.
    const onNewPort = await httpRequest(gw.url(9090, "/app/z"));
    assert.equal(onNewPort.body, "two /app/z");

    one.release();
    const old = await inFlight;
    assert.equal(old.status, 200);
    assert.equal(old.body, "one /app/slow");
    assert.equal(old.headers["x-plan"], "first", "the response filter of the plan the request started on");

    assert.deepEqual(JSON.parse((await httpRequest(gw.opsUrl("/readyz"))).body), { status: "ready", generation: 2 });
    assert.deepEqual(await reloadCounts(gw), { success: 1, failure: 0 });
  });

  it("keeps the old plan serving when the new file is invalid, and logs every error", { timeout: 60_000 }, async () => {
    const from = gw.logs().length;
    const broken = gatewayConfig([{ name: "app", path: "/app", upstreamPort: one.port }]).replace(
      "  gatewayClassName: tollgate\n",
      "  gatewayClassName: tollgate\n  colour: blue\n",
    );
    // A Service reference without a port (an unresolved Backend would only warn).
    const withBadRef = broken.replace("        - group: gateway.tollgate.dev\n          kind: Backend\n          name: app-backend\n", "        - name: missing-service\n");
    assert.notEqual(withBadRef, broken);
    await gw.writeConfig(withBadRef);
    const failed = await gw.waitForLog((l) => l.msg === "config reload failed; the previous config keeps serving", { from });
    assert.equal(failed["errors"], 2);
    assert.equal(failed["generation"], 2);
    const errors = gw
      .logs()
      .slice(from)
      .filter((l) => l.msg === "config error" && l.level === "error")
      .map((l) => String(l["diagnostic"]));
    assert.equal(errors.length, 2, errors.join("\n"));
    assert.ok(errors.some((e) => e.startsWith(`${gw.configPath}:8:3: spec.colour: unknown field "colour"`)), errors.join("\n"));
    assert.ok(errors.some((e) => /:\d+:\d+: spec\.rules\[0\]\.backendRefs\[0\]\.port: a Service reference needs a port/.test(e)), errors.join("\n"));

    const still = await httpRequest(gw.url(8080, "/app/after-bad-edit"));
    assert.equal(still.status, 200);
    assert.equal(still.body, "two /app/after-bad-edit");
    assert.equal((await httpRequest(gw.opsUrl("/readyz"))).status, 200);
    assert.equal((JSON.parse((await httpRequest(gw.adminUrl("/config"))).body) as { generation: number }).generation, 2);
    assert.deepEqual(await reloadCounts(gw), { success: 1, failure: 1 });
  });

  it("closes a port the config no longer declares", { timeout: 60_000 }, async () => {
    const port9090 = gw.port(9090);
    const from = gw.logs().length;
    await gw.writeConfig(gatewayConfig([{ name: "app", path: "/app", upstreamPort: one.port }], [8080]));
    await gw.waitForLog((l) => l.msg === "config reloaded", { from });
    await gw.waitForLog((l) => l.msg === "listener closed" && l["configPort"] === 9090, { from });
    await assert.rejects(httpRequest(`http://127.0.0.1:${port9090}/app/x`), { code: "ECONNREFUSED" });
    assert.equal((await httpRequest(gw.url(8080, "/app/x"))).body, "one /app/x");
    assert.deepEqual(await reloadCounts(gw), { success: 2, failure: 1 });
  });
});

describe("reload on SIGHUP", () => {
  let gw: GatewayProcess;
  let one: Upstream;
  before(async () => {
    one = await startUpstream("one");
    // No file watching: only the signal can make this gateway reload.
    gw = await startGateway({ config: gatewayConfig([{ name: "a", path: "/a", upstreamPort: one.port }]), env: { TOLLGATE_WATCH: "false" } });
  });
  after(async () => {
    await gw.stop();
    await one.close();
  });

  it("reloads the file when signalled", { timeout: 60_000 }, async () => {
    await gw.writeConfig(gatewayConfig([{ name: "b", path: "/b", upstreamPort: one.port }]));
    const from = gw.logs().length;
    gw.signal("SIGHUP");
    const reloaded = await gw.waitForLog((l) => l.msg === "config reloaded", { from });
    assert.equal(reloaded["trigger"], "SIGHUP");
    assert.equal(reloaded["generation"], 2);
    assert.equal((await httpRequest(gw.url(8080, "/b/1"))).body, "one /b/1");
    assert.equal((await httpRequest(gw.url(8080, "/a/1"))).status, 404);
    assert.deepEqual(await reloadCounts(gw), { success: 1, failure: 0 });
  });

  it("an empty file (one caught half-written) would close every port: the reload fails and the gateway keeps serving", { timeout: 60_000 }, async () => {
    await gw.writeConfig("");
    const from = gw.logs().length;
    gw.signal("SIGHUP");
    const error = await gw.waitForLog((l) => l.msg === "config error", { from });
    assert.match(String(error["diagnostic"]), /the new config has no Gateway listener, and applying it would close every port/);
    await gw.waitForLog((l) => l.msg === "config reload failed; the previous config keeps serving" && l["trigger"] === "SIGHUP", { from });
    assert.equal((await httpRequest(gw.url(8080, "/b/0"))).body, "one /b/0");
    assert.equal((await httpRequest(gw.opsUrl("/readyz"))).status, 200);
    assert.deepEqual(await reloadCounts(gw), { success: 1, failure: 1 });
    await gw.writeConfig(gatewayConfig([{ name: "b", path: "/b", upstreamPort: one.port }]));
  });

  it("a SIGHUP with an invalid file counts a failure and keeps serving", { timeout: 60_000 }, async () => {
    await gw.writeConfig("apiVersion: gateway.networking.k8s.io/v1\nkind: Gateway\nmetadata: [not, a, map]\n");
    const from = gw.logs().length;
    gw.signal("SIGHUP");
    await gw.waitForLog((l) => l.msg === "config reload failed; the previous config keeps serving" && l["trigger"] === "SIGHUP", { from });
    assert.equal((await httpRequest(gw.url(8080, "/b/2"))).body, "one /b/2");
    assert.deepEqual(await reloadCounts(gw), { success: 1, failure: 2 });
  });
});

describe("reload of a file that lives in another directory", () => {
  it("an in-place edit of a config symlinked from elsewhere (like a single-file bind mount) reloads", { timeout: 60_000 }, async () => {
    const one = await startUpstream("one");
    const root = await mkdtemp(join(tmpdir(), "tollgate-linked-"));
    await mkdir(join(root, "host"));
    await mkdir(join(root, "etc"));
    const real = join(root, "host", "gateway.yaml");
    await writeFile(real, gatewayConfig([{ name: "a", path: "/a", upstreamPort: one.port }]));
    await symlink(real, join(root, "etc", "gateway.yaml"));
    const gw = await startGateway({ configPath: join(root, "etc", "gateway.yaml") });
    try {
      const from = gw.logs().length;
      // In place, as VS Code or nano save: the same inode, no event in etc/.
      await writeFile(real, gatewayConfig([{ name: "b", path: "/b", upstreamPort: one.port }]));
      const reloaded = await gw.waitForLog((l) => l.msg === "config reloaded", { from });
      assert.equal(reloaded["trigger"], "file-change");
      assert.equal((await httpRequest(gw.url(8080, "/b/1"))).body, "one /b/1");
      // The watch is re-armed: a second edit reloads too.
      const again = gw.logs().length;
      await writeFile(real, gatewayConfig([{ name: "c", path: "/c", upstreamPort: one.port }]));
      await gw.waitForLog((l) => l.msg === "config reloaded", { from: again });
      assert.equal((await httpRequest(gw.url(8080, "/c/1"))).body, "one /c/1");
    } finally {
      await gw.stop();
      await one.close();
      await rm(root, { recursive: true, force: true });
    }
  });
});
