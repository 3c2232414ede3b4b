// kgateway TrafficPolicy `compression.requestDecompression` end to end, against a real
// upstream on 127.0.0.1 that records what it was sent: gzip, br and zstd bodies decoded with
// the head rewritten, codings the rule does not take and no-transform passed through, a body
// read whole by the buffer decoded too, and corrupt bodies and bombs refused with 400 and
// 413 before the upstream sees a whole request; the counters.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import http from "node:http";
import net from "node:net";
import { once } from "node:events";
import { randomBytes } from "node:crypto";
import { brotliCompressSync, deflateSync, gzipSync, zstdCompressSync } from "node:zlib";
import type { AddressInfo } from "node:net";
import { closedPort } from "../support/upstreams.ts";
import { type GatewayUnderTest, ask, backendYaml, catchAllOnYaml, hostGatewayYaml, startGateway, targetedTrafficPolicyYaml } from "./harness.ts";

const JSON_BODY = Buffer.from(JSON.stringify({ items: Array.from({ length: 200 }, (_, i) => ({ id: i, name: `item ${i}` })) }));

interface Received {
  readonly url: string;
  readonly headers: http.IncomingHttpHeaders;
  body: Buffer;
  /** The upstream read the body to its end. */
  whole: boolean;
}

/** Records each request as it comes, its body as it arrives. */
const received: Received[] = [];
let upstream: http.Server;
/** Answers the request held at `/hold`. */
let holding: (() => void) | undefined;
let gw: GatewayUnderTest;

const policy = (name: string, body: string): string => targetedTrafficPolicyYaml(name, "HTTPRoute", name, body);
const site = (name: string, body: string): string => hostGatewayYaml(name, `${name}.example`) + catchAllOnYaml(name, name, "app") + policy(name, body);

before(async () => {
  upstream = http.createServer((req, res) => {
    const entry: Received = { url: req.url ?? "", headers: req.headers, body: Buffer.alloc(0), whole: false };
    received.push(entry);
    if (entry.url === "/reset-mid-body") {
      req.once("data", () => req.socket.destroy());
      return;
    }
    req.on("data", (c: Buffer) => (entry.body = Buffer.concat([entry.body, c])));
    req.on("end", () => {
      entry.whole = true;
      const answer = (): void => void res.writeHead(200, { "content-type": "application/json" }).end('{"ok":true}');
      if (entry.url === "/hold") holding = answer;
      else answer();
    });
  });
  upstream.listen(0, "127.0.0.1");
  await once(upstream, "listening");
  gw = await startGateway(
    site("gz", "  compression: {requestDecompression: {}}\n") +
      site("all", "  compression: {requestDecompression: {libraries: [Gzip, Brotli, Zstd]}}\n") +
      site("retried", "  compression: {requestDecompression: {}}\n").replace("backendRefs: [", "retry: {codes: [503], attempts: 2}, backendRefs: [").replace("name: app}", "name: half-closed}") +
      site("buffered", "  compression: {requestDecompression: {libraries: [Zstd, Gzip]}}\n  buffer: {maxRequestSize: 1Mi}\n") +
      backendYaml("app", (upstream.address() as AddressInfo).port) +
      hostGatewayYaml("tight", "tight.example") +
      catchAllOnYaml("tight", "tight", "one-connection") +
      policy("tight", "  compression: {requestDecompression: {}}\n") +
      backendYaml("one-connection", (upstream.address() as AddressInfo).port) +
      "  connectionPool: {maxConnections: 1, maxPendingRequests: 0}\n" +
      backendYaml("half-closed", await closedPort(), (upstream.address() as AddressInfo).port),
  );
});

after(async () => {
  await gw.close();
  upstream.closeAllConnections();
  upstream.close();
});

const post = (host: string, path: string, body: Buffer, headers: http.OutgoingHttpHeaders) =>
  ask(gw.port, { method: "POST", path, body, headers: { host: `${host}.example`, "content-type": "application/json", ...headers } });
const seen = (path: string): Received | undefined => received.find((r) => r.url === path);
function countOf(route: string, kind: string): number {
  return [...gw.stats.decompressions!.entries()].filter(([r, , , k]) => r === `default/${route}` && k === kind).reduce((n, [, , , , c]) => n + c, 0);
}

test("gzip, br and zstd bodies reach the upstream decoded; Content-Encoding and Content-Length go; the outcome is counted", async () => {
  const encoded: [string, Buffer][] = [
    ["gzip", gzipSync(JSON_BODY)],
    ["br", brotliCompressSync(JSON_BODY)],
    ["zstd", zstdCompressSync(JSON_BODY)],
  ];
  for (const [coding, body] of encoded) {
    const before = countOf("all", `${coding} decompressed`);
    const path = `/all/${coding}`;
    const reply = await post("all", path, body, { "content-encoding": coding === "gzip" ? "GZIP" : coding });
    assert.equal(reply.status, 200, coding);
    const got = seen(path)!;
    assert.deepEqual(got.body, JSON_BODY, coding);
    assert.equal(got.headers["content-encoding"], undefined, coding);
    assert.equal(got.headers["content-length"], undefined, coding);
    assert.equal(got.headers["transfer-encoding"], "chunked", coding);
    assert.equal(got.headers["content-type"], "application/json", coding);
    assert.equal(countOf("all", `${coding} decompressed`), before + 1, coding);
  }
});

test("only the outermost coding is undone; other codings, no-transform and bodiless requests pass as they are", async () => {
  const layered = await post("gz", "/layered", gzipSync(deflateSync(JSON_BODY)), { "content-encoding": "deflate, gzip" });
  assert.equal(layered.status, 200);
  assert.equal(seen("/layered")!.headers["content-encoding"], "deflate");
  assert.deepEqual(seen("/layered")!.body, deflateSync(JSON_BODY));
  const br = brotliCompressSync(JSON_BODY);
  const untouched = await post("gz", "/br-untouched", br, { "content-encoding": "br" });
  assert.equal(untouched.status, 200);
  assert.equal(seen("/br-untouched")!.headers["content-encoding"], "br");
  assert.equal(seen("/br-untouched")!.headers["content-length"], String(br.length));
  const gz = gzipSync(JSON_BODY);
  const noTransform = await post("gz", "/no-transform", gz, { "content-encoding": "gzip", "cache-control": "no-transform" });
  assert.equal(noTransform.status, 200);
  assert.equal(seen("/no-transform")!.headers["content-encoding"], "gzip");
  assert.equal(seen("/no-transform")!.headers["content-length"], String(gz.length));
  const get = await ask(gw.port, { path: "/get-encoded", headers: { host: "gz.example", "content-encoding": "gzip" } });
  assert.equal(get.status, 200);
  assert.equal(seen("/get-encoded")!.headers["content-encoding"], "gzip", "no body, nothing to decode");
});

test("a body the buffer read whole is decoded whole, and sent with its decoded length", async () => {
  const before = countOf("buffered", "zstd decompressed");
  const reply = await post("buffered", "/buffered", zstdCompressSync(JSON_BODY), { "content-encoding": "zstd" });
  assert.equal(reply.status, 200);
  assert.deepEqual(seen("/buffered")!.body, JSON_BODY);
  assert.equal(seen("/buffered")!.headers["content-length"], String(JSON_BODY.length));
  assert.equal(seen("/buffered")!.headers["content-encoding"], undefined);
  assert.equal(countOf("buffered", "zstd decompressed"), before + 1);
});

test("a body that is not valid gzip is refused with 400; one inflating past 100x and 1 MiB with 413; both counted", async () => {
  const corrupt = Buffer.concat([gzipSync(JSON_BODY).subarray(0, 20), Buffer.from("this is not deflate data at all")]);
  for (const host of ["gz", "buffered"]) {
    const before = countOf(host, "gzip invalid");
    const reply = await post(host, `/corrupt-${host}`, corrupt, { "content-encoding": "gzip" });
    assert.equal(reply.status, 400, host);
    assert.equal(reply.json()["error"], "invalid_request_body", host);
    assert.equal(reply.json()["message"], "the request body is not valid gzip data", host);
    assert.equal(countOf(host, "gzip invalid"), before + 1, host);
    assert.equal(seen(`/corrupt-${host}`)?.whole ?? false, false, `${host}: the upstream never got a whole request`);
  }
  const bomb = gzipSync(Buffer.alloc(8 * 1024 * 1024, 0x20));
  assert.ok(bomb.length * 100 < 8 * 1024 * 1024);
  for (const host of ["gz", "buffered"]) {
    const before = countOf(host, "gzip inflate_limit");
    const reply = await post(host, `/bomb-${host}`, bomb, { "content-encoding": "gzip" });
    assert.equal(reply.status, 413, host);
    assert.equal(reply.json()["error"], "request_body_too_large", host);
    if (host === "buffered") assert.equal(reply.json()["message"], "the decoded request body is larger than 1048576 bytes", "the buffer's limit bounds the decoded body");
    assert.equal(countOf(host, "gzip inflate_limit"), before + 1, host);
    const got = seen(`/bomb-${host}`);
    assert.ok(got === undefined || !got.whole, `${host}: the upstream never got a whole request`);
  }
});

test("a client that stops mid-body leaves the decoding abandoned and counted so", async () => {
  const before = countOf("gz", "gzip abandoned");
  const gz = gzipSync(Buffer.alloc(256 * 1024, 0x41));
  const socket = net.connect(gw.port, "127.0.0.1");
  await once(socket, "connect");
  socket.write(`POST /abandoned HTTP/1.1\r\nhost: gz.example\r\ncontent-encoding: gzip\r\ncontent-length: ${gz.length}\r\n\r\n`);
  socket.write(gz.subarray(0, gz.length >> 1));
  // Once the upstream has the request, the decoding is under way.
  while (seen("/abandoned") === undefined) await new Promise((r) => setTimeout(r, 20));
  socket.destroy();
  while (countOf("gz", "gzip abandoned") === before) await new Promise((r) => setTimeout(r, 20));
  assert.equal(countOf("gz", "gzip abandoned"), before + 1);
});

test("an upstream that fails mid-upload is an upstream failure (502), not a body the gateway refuses", async () => {
  const before = countOf("gz", "gzip abandoned");
  const gz = gzipSync(Buffer.from(randomBytes(6 * 1024 * 1024).toString("base64")));
  const reply = await post("gz", "/reset-mid-body", gz, { "content-encoding": "gzip" });
  assert.equal(reply.status, 502);
  assert.notEqual(reply.json()["error"], "invalid_request_body");
  while (countOf("gz", "gzip abandoned") === before) await new Promise((r) => setTimeout(r, 20));
  assert.equal(countOf("gz", "gzip abandoned"), before + 1);
});

test("a decoded body is retried when the first attempt never connected: the body is only read once an upstream reads it", async () => {
  for (const n of [1, 2]) {
    const reply = await ask(gw.port, { method: "PUT", path: `/retried/${n}`, body: gzipSync(JSON_BODY), headers: { host: "retried.example", "content-encoding": "gzip" } });
    assert.equal(reply.status, 200, `request ${n}`);
    assert.deepEqual(seen(`/retried/${n}`)!.body, JSON_BODY, `request ${n}`);
  }
});

test("a decoded body whose request never reached an upstream (503 overflow) is counted abandoned", async () => {
  const before = countOf("tight", "gzip abandoned");
  const held = ask(gw.port, { path: "/hold", headers: { host: "tight.example" } });
  while (holding === undefined) await new Promise((r) => setTimeout(r, 20));
  const refused = await post("tight", "/overflow", gzipSync(JSON_BODY), { "content-encoding": "gzip" });
  assert.equal(refused.status, 503);
  holding();
  assert.equal((await held).status, 200);
  assert.equal(countOf("tight", "gzip abandoned"), before + 1);
});
