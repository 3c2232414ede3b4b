// The ops and admin listeners of a running gateway, and the default config that
// `npm start` serves.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { httpRequest, startGateway, type GatewayProcess } from "../support/gateway-process.ts";
import { gatewayConfig, sampleValue, startUpstream, type Upstream } from "./fixtures.ts";

describe("npm start on the default config", () => {
  let gw: GatewayProcess;
  before(async () => {
    // Exactly `npm start`'s command (`node src/cli/main.ts run`), run from the repo root.
    gw = await startGateway({ noConfigFlag: true });
  });
  after(() => gw.stop());

  it("answers / with a page explaining Tollgate and where to look", { timeout: 60_000 }, async () => {
    const res = await httpRequest(gw.url(8080, "/"));
    assert.equal(res.status, 200);
    assert.match(res.body, /Tollgate is running/);
    assert.match(res.body, /15020\/metrics/);
    assert.match(res.body, /15000\/routes/);
    assert.match(res.body, /docs\/operations\.md/);
  });

  it("loaded config/gateway.yaml from the working directory", { timeout: 60_000 }, async () => {
    const ready = await gw.waitForLog((l) => l.msg === "ready");
    assert.match(String(ready["config"]), /config\/gateway\.yaml$/);
  });

  it("answers an unrouted path with a JSON 404", { timeout: 60_000 }, async () => {
    const res = await httpRequest(gw.url(8080, "/no/such/route"));
    assert.equal(res.status, 404);
    assert.match(String(res.headers["content-type"]), /application\/json/);
  });
});

describe("ops and admin listeners", () => {
  let gw: GatewayProcess;
  let upstream: Upstream;
  before(async () => {
    upstream = await startUpstream("one");
    gw = await startGateway({
      config: gatewayConfig([
        { name: "api", path: "/api", upstreamPort: upstream.port, requestHeader: { name: "Authorization", value: "Bearer very-secret-token" } },
      ]),
    });
  });
  after(async () => {
    await gw.stop();
    await upstream.close();
  });

  it("GET /healthz says alive", { timeout: 60_000 }, async () => {
    const res = await httpRequest(gw.opsUrl("/healthz"));
    assert.equal(res.status, 200);
    assert.deepEqual(JSON.parse(res.body), { status: "alive" });
  });

  it("GET /readyz is 200 with the serving generation", { timeout: 60_000 }, async () => {
    const res = await httpRequest(gw.opsUrl("/readyz"));
    assert.equal(res.status, 200);
    assert.deepEqual(JSON.parse(res.body), { status: "ready", generation: 1 });
  });

  it("GET /metrics is a Prometheus text exposition", { timeout: 60_000 }, async () => {
    const res = await httpRequest(gw.opsUrl("/metrics"));
    assert.equal(res.status, 200);
    assert.match(String(res.headers["content-type"]), /^text\/plain; version=0\.0\.4/);
    assert.match(res.body, /^# (HELP|TYPE) /m);
    assert.equal(sampleValue(res.body, "tollgate_build_info"), 1);
    assert.ok(!res.body.includes("# EOF"));
  });

  it("GET /metrics is OpenMetrics when the scraper asks for it", { timeout: 60_000 }, async () => {
    const res = await httpRequest(gw.opsUrl("/metrics"), {
      headers: { accept: "application/openmetrics-text;version=1.0.0,text/plain;version=0.0.4;q=0.5,*/*;q=0.1" },
    });
    assert.equal(res.status, 200);
    assert.match(String(res.headers["content-type"]), /^application\/openmetrics-text; version=1\.0\.0/);
    assert.ok(res.body.endsWith("# EOF\n"), "an OpenMetrics exposition ends with # EOF");
  });

  it("GET /config is the effective config with secrets redacted", { timeout: 60_000 }, async () => {
    const res = await httpRequest(gw.adminUrl("/config"));
    assert.equal(res.status, 200);
    const body = JSON.parse(res.body) as { generation: number; files: string[]; config: { gateways: unknown[]; routes: unknown[] } };
    assert.equal(body.generation, 1);
    assert.deepEqual(body.files, [gw.configPath]);
    assert.equal(body.config.gateways.length, 1);
    assert.equal(body.config.routes.length, 1);
    assert.ok(!res.body.includes("very-secret-token"), "the Authorization value is redacted");
    assert.ok(res.body.includes("[REDACTED]"));
  });

  it("GET /routes is the compiled route table", { timeout: 60_000 }, async () => {
    const res = await httpRequest(gw.adminUrl("/routes"));
    assert.equal(res.status, 200);
    const body = JSON.parse(res.body) as { generation: number; listeners: { port: number; boundPort: number; entries: number; routes: unknown }[] };
    assert.equal(body.generation, 1);
    assert.equal(body.listeners.length, 1);
    assert.equal(body.listeners[0]?.port, 8080);
    assert.equal(body.listeners[0]?.boundPort, gw.port(8080));
    assert.equal(body.listeners[0]?.entries, 1);
    assert.ok(JSON.stringify(body.listeners[0]?.routes).includes("/api"));
  });

  it("the route really proxies to the upstream", { timeout: 60_000 }, async () => {
    const res = await httpRequest(gw.url(8080, "/api/x"));
    assert.equal(res.status, 200);
    assert.equal(res.body, "one /api/x");
  });

  it("unknown paths are JSON 404s naming the endpoints that exist", { timeout: 60_000 }, async () => {
    const ops = await httpRequest(gw.opsUrl("/config"));
    assert.equal(ops.status, 404);
    assert.deepEqual(JSON.parse(ops.body).endpoints, ["/metrics", "/healthz", "/readyz"]);
    const admin = await httpRequest(gw.adminUrl("/nope"));
    assert.equal(admin.status, 404);
    const body = JSON.parse(admin.body) as { error: string; message: string; endpoints: string[] };
    assert.equal(body.error, "not_found");
    assert.equal(body.message, "GET /nope is not an admin endpoint");
    assert.deepEqual(body.endpoints, ["/config", "/routes"]);
  });

  it("a method an endpoint does not take is a JSON 405 with Allow", { timeout: 60_000 }, async () => {
    const post = await httpRequest(gw.opsUrl("/healthz"), { method: "POST", body: "{}", headers: { "content-type": "application/json" } });
    assert.equal(post.status, 405);
    assert.equal(post.headers.allow, "GET, HEAD");
    assert.deepEqual(JSON.parse(post.body), {
      error: "method_not_allowed",
      message: "/healthz takes GET, HEAD, not POST",
    });
    const del = await httpRequest(gw.adminUrl("/config?x=1"), { method: "DELETE" });
    assert.equal(del.status, 405);
    assert.equal(del.headers.allow, "GET, HEAD");
    assert.equal(JSON.parse(del.body).error, "method_not_allowed");
    const head = await httpRequest(gw.opsUrl("/readyz"), { method: "HEAD" });
    assert.equal(head.status, 200, "HEAD is derived from GET");
    const unknown = await httpRequest(gw.opsUrl("/nope"), { method: "POST" });
    assert.equal(unknown.status, 404, "an unknown path stays a 404 whatever the method");
  });

  it("writes the bound ports to TOLLGATE_PORTS_FILE", { timeout: 60_000 }, async () => {
    const { readFile } = await import("node:fs/promises");
    const ports = JSON.parse(await readFile(`${gw.dir}/ports.json`, "utf8")) as {
      pid: number;
      ops: { port: number };
      admin: { port: number };
      listeners: { configPort: number; port: number }[];
    };
    assert.equal(ports.pid, gw.pid);
    assert.equal(ports.ops.port, gw.opsPort);
    assert.equal(ports.admin.port, gw.adminPort);
    assert.deepEqual(
      ports.listeners.map((l) => [l.configPort, l.port]),
      [[8080, gw.port(8080)]],
    );
  });
});
