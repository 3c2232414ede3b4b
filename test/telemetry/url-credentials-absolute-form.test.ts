// Credentials in an absolute-form request target (`GET http://user:pass@host/...`) and the
// semconv's sensitive query parameters never reach exported spans or logs.
import { test } from "node:test";
import assert from "node:assert/strict";
import { connect } from "node:net";
import { get } from "./harness.ts";
import { startRig } from "./rig.ts";

const FAST = { OTEL_BSP_SCHEDULE_DELAY: "20", OTEL_BLRP_SCHEDULE_DELAY: "20", OTEL_METRICS_EXPORTER: "none", OTEL_LOGS_EXPORTER: "none" };
const CLIENT = 3;

/** Sends a raw HTTP/1.1 request line (absolute-form targets included) and returns the status. */
function rawRequest(port: number, requestLine: string, headers: Record<string, string>): Promise<number> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, "127.0.0.1");
    let data = "";
    socket.on("data", (d: Buffer) => {
      data += d.toString("latin1");
      const m = /^HTTP\/1\.1 (\d{3})/.exec(data);
      if (m && data.includes("\r\n\r\n")) {
        resolve(Number(m[1]));
        socket.destroy();
      }
    });
    socket.on("error", reject);
    const head = Object.entries({ ...headers, connection: "close" })
      .map(([k, v]) => `${k}: ${v}\r\n`)
      .join("");
    socket.write(`${requestLine}\r\n${head}\r\n`);
  });
}

test("no exported span or log carries URL credentials or sensitive query values, even from an absolute-form request target", async (t) => {
  const { rx, upstream, gw } = await startRig(t, {
    transport: "http",
    env: (rx) => ({ ...FAST, OTEL_LOGS_EXPORTER: "otlp", OTEL_EXPORTER_OTLP_ENDPOINT: rx.url }),
  });
  const port = Number(new URL(gw.url(8080, "/")).port);
  assert.equal(await rawRequest(port, `GET http://alice:hunter2@127.0.0.1:${port}/api/abs?sig=s3cret&keep=1 HTTP/1.1`, { host: `127.0.0.1:${port}` }), 200);
  assert.equal((await get(gw.url(8080, "/api/rel?X-Goog-Signature=g00g&keep=2"))).status, 200);
  const spans = await rx.waitForSpans((s) => s.filter((x) => x.kind === CLIENT).length >= 2);
  const logs = await rx.waitForLogs((l) => l.length >= 2);
  const clients = spans.filter((s) => s.kind === CLIENT);
  const fullUrls = clients.map((s) => String(s.attributes["url.full"])).sort();
  assert.deepEqual(fullUrls, [`http://127.0.0.1:${upstream.port}/api/abs?sig=REDACTED&keep=1`, `http://127.0.0.1:${upstream.port}/api/rel?X-Goog-Signature=REDACTED&keep=2`]);
  const text = JSON.stringify({ spans, logs }, (_k, v) => (typeof v === "bigint" ? String(v) : v));
  for (const secret of ["hunter2", "alice", "s3cret", "g00g"]) {
    const at = text.indexOf(secret);
    assert.ok(at < 0, `${secret} must not be exported; found in …${text.slice(Math.max(0, at - 300), at + 60)}`);
  }
  assert.ok(text.includes("keep=1") && text.includes("keep=2"), "other query parameters are kept");
  const absServer = spans.find((s) => s.kind === 2 && s.attributes["url.path"] === "/api/abs")!;
  assert.equal(absServer.attributes["server.address"], "127.0.0.1", "the target's host, without userinfo");
  assert.equal(absServer.attributes["server.port"], port);
});

