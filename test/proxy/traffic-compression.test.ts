// kgateway TrafficPolicy `compression.responseCompression` end to end, against a real
// upstream on 127.0.0.1, decoded with node's zlib: the coding the client's Accept-Encoding
// picks among the offered ones, the head rewritten (Content-Length, Content-Encoding, Vary,
// ETag), every reason a response goes out as it was, a streamed answer flushed chunk by
// chunk, a large body through backpressure, a slowed body, and the counters.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import http from "node:http";
import type { AddressInfo } from "node:net";
import { once } from "node:events";
import { randomBytes } from "node:crypto";
import { setTimeout as sleep } from "node:timers/promises";
import { brotliDecompressSync, createGunzip, gunzipSync, gzipSync, zstdDecompressSync } from "node:zlib";
import { type GatewayUnderTest, appRouteYaml, ask, backendYaml, catchAllOnYaml, hostGatewayYaml, startGateway, targetedTrafficPolicyYaml } from "./harness.ts";

const PAGE = Buffer.from("<html><body>" + "tollgate compresses what the client accepts. ".repeat(100) + "</body></html>");
/** 3 MiB that compress, but not to nothing: lines with a counter. */
const BIG = Buffer.from(Array.from({ length: 60_000 }, (_, i) => `line ${i} of a large response body\n`).join("").slice(0, 3 * 1024 * 1024));

let upstream: http.Server;
let gw: GatewayUnderTest;
let releaseStream: (() => void) | undefined;
const NOISE = Buffer.from(randomBytes(24 * 1024 * 1024).toString("base64"));
let noiseSent = 0;

function serve(req: http.IncomingMessage, res: http.ServerResponse): void {
  const path = req.url ?? "/";
  const html = { "content-type": "text/html; charset=utf-8" };
  switch (path) {
    case "/page":
      res.writeHead(200, { ...html, "content-length": PAGE.length });
      res.end(req.method === "HEAD" ? undefined : PAGE);
      return;
    case "/chunked":
      res.writeHead(200, { "content-type": "application/json" });
      res.write('{"part": 1, "padding": "' + "x".repeat(500) + '"}\n');
      res.end('{"part": 2}\n');
      return;
    case "/small":
      res.writeHead(200, { "content-type": "text/plain", "content-length": 10 });
      res.end("0123456789");
      return;
    case "/png":
      res.writeHead(200, { "content-type": "image/png", "content-length": PAGE.length });
      res.end(PAGE);
      return;
    case "/no-transform":
      res.writeHead(200, { ...html, "cache-control": "public, No-Transform", "content-length": PAGE.length });
      res.end(PAGE);
      return;
    case "/encoded": {
      const gz = gzipSync(PAGE);
      res.writeHead(200, { ...html, "content-encoding": "gzip", "content-length": gz.length });
      res.end(gz);
      return;
    }
    case "/identity":
      res.writeHead(200, { ...html, "content-encoding": "identity", "content-length": PAGE.length });
      res.end(PAGE);
      return;
    case "/strong-etag":
      res.writeHead(200, { ...html, etag: '"v1"', vary: "Origin", "content-length": PAGE.length });
      res.end(PAGE);
      return;
    case "/weak-etag":
      res.writeHead(200, { ...html, etag: 'W/"v1"', "content-length": PAGE.length });
      res.end(PAGE);
      return;
    case "/empty":
      res.writeHead(200, { "content-type": "text/plain", "content-length": 0 });
      res.end();
      return;
    case "/noise-1m":
      res.writeHead(200, { "content-type": "text/plain" });
      writeWithBackpressure(res, NOISE.subarray(0, 1024 * 1024), () => {});
      return;
    case "/no-content":
      res.writeHead(204, html);
      res.end();
      return;
    case "/stream":
      res.writeHead(200, { "content-type": "text/plain" });
      res.write("first part of a streamed answer\n");
      releaseStream = () => res.end("second part, after the client saw the first\n");
      return;
    case "/big-etag":
      res.writeHead(200, { "content-type": "text/plain", etag: '"v2"' });
      res.end(BIG);
      return;
    case "/noise":
      // Barely compressible, so the compressed stream is as large as the sockets' buffers many times over.
      res.writeHead(200, { "content-type": "text/plain" });
      noiseSent = 0;
      writeWithBackpressure(res, NOISE, (sent) => (noiseSent = sent));
      return;
    case "/big":
      res.writeHead(200, { "content-type": "text/plain", "content-length": BIG.length });
      writeWithBackpressure(res, BIG, () => {});
      return;
    default:
      if (path.startsWith("/on/") || path.startsWith("/off/")) {
        res.writeHead(200, { ...html, "content-length": PAGE.length });
        res.end(PAGE);
        return;
      }
      res.writeHead(404).end();
  }
}

/** Writes `body` in 64 KiB chunks, each only once the previous one was taken; `progress` hears the bytes written so far. */
function writeWithBackpressure(res: http.ServerResponse, body: Buffer, progress: (sent: number) => void): void {
  let at = 0;
  const more = (): void => {
    while (at < body.length) {
      const chunk = body.subarray(at, at + 64 * 1024);
      at += chunk.length;
      progress(at);
      if (!res.write(chunk)) {
        res.once("drain", more);
        return;
      }
    }
    res.end();
  };
  more();
}

const policy = (name: string, body: string): string => targetedTrafficPolicyYaml(name, "HTTPRoute", name, body);
const site = (name: string, body: string | undefined): string =>
  hostGatewayYaml(name, `${name}.example`) + catchAllOnYaml(name, name, "app") + (body === undefined ? "" : policy(name, body));

before(async () => {
  upstream = http.createServer(serve);
  upstream.listen(0, "127.0.0.1");
  await once(upstream, "listening");
  gw = await startGateway(
    site("gz", "  compression: {responseCompression: {}}\n") +
      site("multi", "  compression: {responseCompression: {libraries: [Brotli, Zstd, Gzip]}}\n") +
      site("tuned", "  compression: {responseCompression: {minContentLengthBytes: 5000, contentTypes: [image/png, text/plain], weakenEtagOnCompress: true}}\n") +
      site("keep-etag", "  compression: {responseCompression: {disableOnEtag: true}}\n") +
      site("slow", "  compression: {responseCompression: {}}\n  faultInjection: {responseRateLimit: {kbitsPerSecond: 512}}\n") +
      site("plain", undefined) +
      hostGatewayYaml("wide", "wide.example") +
      appRouteYaml("wide-on", ["wide"], ["/on"]) +
      appRouteYaml("wide-off", ["wide"], ["/off"]) +
      targetedTrafficPolicyYaml("wide-gw", "Gateway", "wide", "  compression: {responseCompression: {}}\n") +
      targetedTrafficPolicyYaml("wide-off", "HTTPRoute", "wide-off", "  compression: {responseCompression: {disable: {}}}\n") +
      site("zero", "  compression: {responseCompression: {minContentLengthBytes: 0}}\n") +
      site("shared", '  compression: {responseCompression: {}}\n  cors: {allowOrigins: ["https://app.example"], allowCredentials: true, exposeHeaders: ["*"]}\n') +
      backendYaml("app", (upstream.address() as AddressInfo).port),
  );
});

after(async () => {
  await gw.close();
  upstream.closeAllConnections();
  upstream.close();
});

const get = (host: string, path: string, acceptEncoding?: string, method = "GET") =>
  ask(gw.port, { method, path, headers: { host: `${host}.example`, ...(acceptEncoding === undefined ? {} : { "accept-encoding": acceptEncoding }) } });

function countOf(route: string, outcome: string): number {
  return [...gw.stats.compressions!.entries()].filter(([r, , , o]) => r === `default/${route}` && o === outcome).reduce((n, [, , , , c]) => n + c, 0);
}

test("gzip by default: the body compressed, Content-Length dropped, Content-Encoding and Vary set, the outcome counted", async () => {
  const before = countOf("gz", "gzip");
  const reply = await get("gz", "/page", "gzip, deflate");
  assert.equal(reply.status, 200);
  assert.equal(reply.headers["content-encoding"], "gzip");
  assert.equal(reply.headers["content-length"], undefined);
  assert.equal(reply.headers["transfer-encoding"], "chunked");
  assert.equal(reply.headers.vary, "Accept-Encoding");
  assert.ok(reply.body.length < PAGE.length / 4, `compressed to ${reply.body.length} bytes`);
  assert.deepEqual(gunzipSync(reply.body), PAGE);
  assert.equal(countOf("gz", "gzip"), before + 1);
  const chunked = await get("gz", "/chunked", "gzip");
  assert.equal(chunked.headers["content-encoding"], "gzip");
  assert.equal(gunzipSync(chunked.body).toString(), '{"part": 1, "padding": "' + "x".repeat(500) + '"}\n{"part": 2}\n');
});

test("the client's Accept-Encoding picks among the offered codings: highest q, then the client's order; * and identity", async () => {
  const notAccepted = countOf("multi", "not_accepted");
  const noHeader = countOf("multi", "no_accept_encoding");
  const cases: [string | undefined, string | undefined][] = [
    ["gzip, br;q=0.9, zstd;q=0.8", "gzip"],
    ["br, zstd", "br"],
    ["zstd, br", "zstd"],
    ["ZSTD;q=1, br;q=0.5", "zstd"],
    ["*", "br"],
    ["br;q=0, *;q=0.5", "zstd"],
    ["identity, gzip;q=0.5", undefined],
    ["deflate, compress", undefined],
    ["gzip;q=0", undefined],
    ["gzip;q=2", undefined],
    [undefined, undefined],
  ];
  for (const [accept, coding] of cases) {
    const reply = await get("multi", "/page", accept);
    assert.equal(reply.headers["content-encoding"], coding, `Accept-Encoding: ${accept}`);
    assert.equal(reply.headers.vary, "Accept-Encoding", `Accept-Encoding: ${accept}`);
    const body = coding === "br" ? brotliDecompressSync(reply.body) : coding === "zstd" ? zstdDecompressSync(reply.body) : coding === "gzip" ? gunzipSync(reply.body) : reply.body;
    assert.deepEqual(body, PAGE, `Accept-Encoding: ${accept}`);
    if (coding === undefined) assert.equal(reply.headers["content-length"], String(PAGE.length));
  }
  assert.equal(countOf("multi", "not_accepted"), notAccepted + 4);
  assert.equal(countOf("multi", "no_accept_encoding"), noHeader + 1);
});

test("responses that go out as they were, each with its reason; Vary only once the request could decide", async () => {
  const cases: [host: string, path: string, method: string, reason: string, vary: string | undefined][] = [
    ["gz", "/small", "GET", "too_small", undefined],
    ["tuned", "/page", "GET", "too_small", undefined],
    ["gz", "/png", "GET", "content_type", undefined],
    ["gz", "/no-transform", "GET", "no_transform", undefined],
    ["gz", "/encoded", "GET", "already_encoded", undefined],
    ["gz", "/identity", "GET", "already_encoded", undefined],
    ["keep-etag", "/strong-etag", "GET", "etag", "Origin"],
    ["gz", "/page", "HEAD", "no_body", "Accept-Encoding"],
    ["gz", "/no-content", "GET", "no_body", "Accept-Encoding"],
    ["zero", "/empty", "GET", "no_body", "Accept-Encoding"],
  ];
  for (const [host, path, method, reason, vary] of cases) {
    const before = countOf(host, reason);
    const reply = await get(host, path, "gzip", method);
    const what = `${method} ${host} ${path}`;
    assert.equal(reply.headers["content-encoding"], path === "/encoded" ? "gzip" : path === "/identity" ? "identity" : undefined, what);
    assert.equal(reply.headers.vary, vary, what);
    assert.equal(countOf(host, reason), before + 1, what);
    if (method === "HEAD") assert.equal(reply.headers["content-length"], String(PAGE.length), "a HEAD answer keeps the length a GET would have");
  }
  const encoded = await get("gz", "/encoded", "gzip");
  assert.deepEqual(gunzipSync(encoded.body), PAGE, "an upstream's own gzip passes untouched");
  const plain = await get("plain", "/page", "gzip");
  assert.equal(plain.headers["content-encoding"], undefined);
  assert.equal(plain.headers.vary, undefined, "a rule without compression adds no Vary");
});

test("ETags: a strong one is dropped, a weak one kept, weakenEtagOnCompress weakens; Vary joins the upstream's", async () => {
  const strong = await get("gz", "/strong-etag", "gzip");
  assert.equal(strong.headers["content-encoding"], "gzip");
  assert.equal(strong.headers.etag, undefined);
  assert.equal(strong.headers.vary, "Origin, Accept-Encoding");
  const weak = await get("gz", "/weak-etag", "gzip");
  assert.equal(weak.headers["content-encoding"], "gzip");
  assert.equal(weak.headers.etag, 'W/"v1"');
  const tuned = await get("tuned", "/big", "gzip");
  assert.equal(tuned.headers["content-encoding"], "gzip", "text/plain is listed, and 3 MiB is over 5000 bytes");
  const weakened = await get("tuned", "/big-etag", "gzip");
  assert.equal(weakened.headers["content-encoding"], "gzip");
  assert.equal(weakened.headers.etag, 'W/"v2"');
  const small = await get("tuned", "/png", "gzip");
  assert.equal(small.headers["content-encoding"], undefined, `image/png at ${PAGE.length} bytes is under 5000`);
});

test("a streamed answer is flushed chunk by chunk: the client reads the first part before the upstream sends the second", { timeout: 20_000 }, async () => {
  const req = http.request({ host: "127.0.0.1", port: gw.port, path: "/stream", headers: { host: "gz.example", "accept-encoding": "gzip" }, agent: false });
  req.end();
  const [res] = (await once(req, "response")) as [http.IncomingMessage];
  assert.equal(res.headers["content-encoding"], "gzip");
  const gunzip = createGunzip();
  res.pipe(gunzip);
  let text = "";
  gunzip.setEncoding("utf8");
  for await (const piece of gunzip) {
    text += piece as string;
    if (text === "first part of a streamed answer\n") releaseStream!();
  }
  assert.equal(text, "first part of a streamed answer\nsecond part, after the client saw the first\n");
});

test("a 3 MiB body through backpressure arrives whole, and the bytes in and out are counted", async () => {
  const byteCount = (stage: string): number => [...gw.stats.compressionBytes!.entries()].filter(([r, , , s]) => r === "default/gz" && s === stage).reduce((n, [, , , , c]) => n + c, 0);
  const inBefore = byteCount("uncompressed");
  const outBefore = byteCount("compressed");
  const reply = await get("gz", "/big", "gzip");
  assert.equal(reply.headers["content-encoding"], "gzip");
  assert.deepEqual(gunzipSync(reply.body), BIG);
  assert.equal(byteCount("uncompressed") - inBefore, BIG.length);
  assert.equal(byteCount("compressed") - outBefore, reply.body.length);
});

test("compressed and slowed by a fault injection's response rate limit, the body still arrives whole", { timeout: 30_000 }, async () => {
  const reply = await get("slow", "/page", "gzip");
  assert.equal(reply.headers["content-encoding"], "gzip");
  assert.deepEqual(gunzipSync(reply.body), PAGE);
  // Over the throttle's second's worth (512 KiB) compressed: the throttle holds the compressor back.
  const noisy = await get("slow", "/noise-1m", "gzip");
  assert.ok(noisy.body.length > 512 * 1024, `compressed to ${noisy.body.length} bytes`);
  assert.deepEqual(gunzipSync(noisy.body), NOISE.subarray(0, 1024 * 1024));
});

test("a client that stops reading holds the upstream back through the compressor; once it reads, the body arrives whole", { timeout: 60_000 }, async () => {
  const req = http.request({ host: "127.0.0.1", port: gw.port, path: "/noise", headers: { host: "gz.example", "accept-encoding": "gzip" }, agent: false });
  req.end();
  const [res] = (await once(req, "response")) as [http.IncomingMessage];
  assert.equal(res.headers["content-encoding"], "gzip");
  res.pause();
  // Wait until the upstream makes no more progress: its writes are held back.
  let last = -1;
  while (noiseSent !== last) {
    last = noiseSent;
    await sleep(200);
  }
  assert.ok(noiseSent < NOISE.length / 2, `the upstream wrote ${noiseSent} of ${NOISE.length} bytes to a client that read none`);
  const gunzip = createGunzip();
  res.pipe(gunzip);
  const parts: Buffer[] = [];
  for await (const part of gunzip) parts.push(part as Buffer);
  assert.deepEqual(Buffer.concat(parts), NOISE);
});

test("CORS exposes the head the client gets: Content-Encoding, not the ETag compression removed", async () => {
  const reply = await ask(gw.port, { path: "/strong-etag", headers: { host: "shared.example", origin: "https://app.example", "accept-encoding": "gzip" } });
  assert.equal(reply.headers["content-encoding"], "gzip");
  assert.equal(reply.headers.etag, undefined);
  const exposed = String(reply.headers["access-control-expose-headers"]).split(",").map((h) => h.trim());
  assert.ok(exposed.includes("content-encoding"), exposed.join());
  assert.ok(!exposed.includes("etag"), exposed.join());
});

test("a Gateway's compression covers its routes' rules, under the Gateway's policy; a route's disable turns it off", async () => {
  const counted = (): number => [...gw.stats.compressions!.entries()].filter(([r, , p, o]) => r === "default/wide-on" && p === "default/wide-gw" && o === "gzip").reduce((n, [, , , , c]) => n + c, 0);
  const before = counted();
  const on = await get("wide", "/on/page", "gzip");
  assert.equal(on.headers["content-encoding"], "gzip");
  assert.deepEqual(gunzipSync(on.body), PAGE);
  assert.equal(counted(), before + 1);
  const off = await get("wide", "/off/page", "gzip");
  assert.equal(off.headers["content-encoding"], undefined);
  assert.equal(off.headers.vary, undefined);
  assert.deepEqual(off.body, PAGE);
});
