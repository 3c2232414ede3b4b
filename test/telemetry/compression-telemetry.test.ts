// TrafficPolicy compression in the exported telemetry, decoded from OTLP: responses counted
// by outcome (tollgate.compression.responses), body bytes in and out (tollgate.compression.bytes),
// decoded request bodies (tollgate.decompression.requests), access log body sizes as they
// crossed the wire; and the same counts on /metrics without a metrics exporter, which
// promtool accepts.
import { test } from "node:test";
import assert from "node:assert/strict";
import { request as httpRequest } from "node:http";
import { once } from "node:events";
import { gunzipSync, gzipSync } from "node:zlib";
import { fallbackMetrics } from "../../src/admin/fallback-metrics.ts";
import { ProcessStats } from "../../src/server/stats.ts";
import { detailsLogPolicy, gatewayYaml, get, namedRule, rulePolicy, startCountingGateway, startPolicyLab, sumPoints } from "./harness.ts";
import { assertPromtoolAccepts } from "../support/promtool.ts";

const NS = "kgateway-system";
const TEXT = "an answer worth compressing, ".repeat(40);
const UPLOAD = Buffer.from("a request body sent compressed, ".repeat(50));

test("compressed responses and decoded request bodies are counted; access logs give the bytes on the wire", async (t) => {
  const { rx, upstream } = await startPolicyLab(t, (req, res) => {
    res.writeHead(200, { "content-type": "text/plain", "content-length": Buffer.byteLength(TEXT) }).end(TEXT);
  });
  const yaml = gatewayYaml({
    upstreamPort: upstream.port,
    rules: namedRule("zipped", "/zipped") + namedRule("inflated", "/inflated"),
    extra:
      rulePolicy(NS, "zip", "zipped", "  compression: {responseCompression: {}}\n") +
      rulePolicy(NS, "unzip", "inflated", "  compression: {requestDecompression: {}}\n") +
      detailsLogPolicy(NS, "http"),
  });
  const gw = await startCountingGateway(t, yaml, rx);

  const zipped = await new Promise<Buffer>((resolve, reject) => {
    const req = httpRequest(gw.url(8080, "/zipped/1"), { headers: { "accept-encoding": "gzip" }, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (c: Buffer) => chunks.push(c));
      res.on("end", () => resolve(Buffer.concat(chunks)));
    });
    req.on("error", reject);
    req.end();
  });
  assert.equal(gunzipSync(zipped).toString(), TEXT);
  assert.equal((await get(gw.url(8080, "/zipped/2"))).status, 200);
  const gz = gzipSync(UPLOAD);
  const post = httpRequest(gw.url(8080, "/inflated/1"), { method: "POST", headers: { "content-encoding": "gzip", "content-length": gz.length }, agent: false });
  post.end(gz);
  const [answer] = await once(post, "response");
  answer.resume();
  await once(answer, "end");
  assert.equal(answer.statusCode, 200);

  await gw.telemetry.flush(5000);
  const metrics = await rx.waitForMetrics((m) => ["tollgate.compression.responses", "tollgate.compression.bytes", "tollgate.decompression.requests"].every((n) => m.some((x) => x.name === n)));
  const where = (rule: string, policy: string) => ({ "tollgate.route.name": `${NS}/httpbin`, "tollgate.rule.name": rule, "tollgate.compression.policy": `${NS}/${policy}` });
  const byName = (name: string) => metrics.find((m) => m.name === name)!;
  const outcome = (p: { attributes: Record<string, unknown> }) => String(p.attributes["tollgate.compression.outcome"] ?? p.attributes["tollgate.compression.stage"]);
  assert.equal(byName("tollgate.compression.responses").unit, "{response}");
  assert.deepEqual(
    sumPoints(byName("tollgate.compression.responses")).sort((a, b) => outcome(a).localeCompare(outcome(b))),
    [
      { attributes: { ...where("zipped", "zip"), "tollgate.compression.outcome": "gzip" }, value: 1 },
      { attributes: { ...where("zipped", "zip"), "tollgate.compression.outcome": "no_accept_encoding" }, value: 1 },
    ],
  );
  assert.equal(byName("tollgate.compression.bytes").unit, "By");
  assert.deepEqual(
    sumPoints(byName("tollgate.compression.bytes")).sort((a, b) => outcome(a).localeCompare(outcome(b))),
    [
      { attributes: { ...where("zipped", "zip"), "tollgate.compression.stage": "compressed" }, value: zipped.length },
      { attributes: { ...where("zipped", "zip"), "tollgate.compression.stage": "uncompressed" }, value: Buffer.byteLength(TEXT) },
    ],
  );
  assert.deepEqual(sumPoints(byName("tollgate.decompression.requests")), [
    { attributes: { ...where("inflated", "unzip"), "tollgate.decompression.encoding": "gzip", "tollgate.decompression.outcome": "decompressed" }, value: 1 },
  ]);
  const logs = await rx.waitForLogs((l) => l.filter((r) => r.attributes["url.path"] !== undefined).length >= 3);
  const log = (path: string) => logs.find((r) => r.attributes["url.path"] === path)!;
  assert.equal(log("/zipped/1").attributes["http.response.body.size"], zipped.length);
  assert.equal(log("/zipped/2").attributes["http.response.body.size"], Buffer.byteLength(TEXT));
  assert.equal(log("/inflated/1").attributes["http.request.body.size"], gz.length, "the request body as the client sent it");
});

test("without a metrics exporter, /metrics serves the compression counters, which promtool accepts", async () => {
  const stats = new ProcessStats();
  const key = { route: "shop/store", rule: "catalog", policy: "shop/zip" };
  stats.compressions.count("br", key);
  stats.compressions.count("br", key);
  stats.compressions.count("too_small", key);
  stats.compressionBytes.count("uncompressed", key, 5000);
  stats.compressionBytes.count("compressed", key, 900);
  stats.decompressions.count("zstd invalid", key);
  const body = (await fallbackMetrics(stats, { version: "0.0.0-test" }, () => 1).render(undefined)).body;
  assert.match(body, /^# TYPE tollgate_compression_responses_total counter$/m);
  assert.match(body, /^tollgate_compression_responses_total\{route="shop\/store",rule="catalog",policy="shop\/zip",outcome="br"\} 2$/m);
  assert.match(body, /^tollgate_compression_responses_total\{route="shop\/store",rule="catalog",policy="shop\/zip",outcome="too_small"\} 1$/m);
  assert.match(body, /^tollgate_compression_bytes_total\{route="shop\/store",rule="catalog",policy="shop\/zip",stage="uncompressed"\} 5000$/m);
  assert.match(body, /^tollgate_compression_bytes_total\{route="shop\/store",rule="catalog",policy="shop\/zip",stage="compressed"\} 900$/m);
  assert.match(body, /^tollgate_decompression_requests_total\{route="shop\/store",rule="catalog",policy="shop\/zip",encoding="zstd",outcome="invalid"\} 1$/m);
  assertPromtoolAccepts(body);
});
