// Upstream answers the gateway cannot pass on as they are, and clients that leave mid-upload.
// The upstream here is a raw TCP server on 127.0.0.1 so it can send bytes no HTTP library
// would produce; each path picks one canned answer.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import net from "node:net";
import type { AddressInfo } from "node:net";
import { once } from "node:events";
import { RecordingTelemetry } from "./recording-telemetry.ts";
import { type GatewayUnderTest, ask, backendYaml, catchAllRouteYaml, GATEWAY_YAML, startGateway } from "./harness.ts";

const bigHeader = (bytes: number): string => `X-Big: ${"a".repeat(bytes)}\r\n`;

/** The bytes the raw upstream writes for each path; `null` reads the request and never answers. */
const ANSWERS: Record<string, string | null> = {
  "/ctl-in-header": "HTTP/1.1 200 OK\r\nX-A: a\x01b\r\nContent-Length: 2\r\n\r\nok",
  "/space-before-colon": "HTTP/1.1 200 OK\r\nX-A : b\r\nContent-Length: 2\r\n\r\nok",
  "/status-099": "HTTP/1.1 099 Odd\r\nContent-Length: 2\r\n\r\nok",
  "/gzip-chunked": "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\n2\r\nok\r\n0\r\n\r\n",
  "/gzip-only": "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\nConnection: close\r\n\r\nok",
  // RFC 9112 §6.1: a HEAD or 304 response may name the coding a GET would get; it has no body.
  "/head-gzip": "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\nX-Kept: yes\r\n\r\n",
  "/not-modified-gzip": "HTTP/1.1 304 Not Modified\r\nTransfer-Encoding: gzip, chunked\r\nETag: \"v1\"\r\n\r\n",
  // RFC 9112 §6.1-6.2: a 204 has no body, so it may name neither a coding nor a length above 0.
  "/no-content-chunked": "HTTP/1.1 204 No Content\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
  "/no-content-length": "HTTP/1.1 204 No Content\r\nContent-Length: 2\r\n\r\nok",
  "/no-content-zero": "HTTP/1.1 204 No Content\r\nContent-Length: 0 \r\nX-Kept: yes\r\n\r\n",
  "/chunked-upper": "HTTP/1.1 200 OK\r\nTransfer-Encoding: Chunked \r\n\r\n2\r\nok\r\n0\r\n\r\n",
  "/headers-40k": `HTTP/1.1 200 OK\r\n${bigHeader(40 * 1024)}Content-Length: 2\r\n\r\nok`,
  "/headers-70k": `HTTP/1.1 200 OK\r\n${bigHeader(70 * 1024)}Content-Length: 2\r\n\r\nok`,
  "/upgrade": "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade, X-Hop\r\nX-Hop: for-this-hop\r\nX-Kept: yes\r\n\r\n",
  "/upload": null,
};

let upstream: net.Server;
let gw: GatewayUnderTest;
const telemetry = new RecordingTelemetry();
const upstreamSockets = new Set<net.Socket>();
/** Paths of the request heads the upstream received, in order. */
const upstreamSaw: string[] = [];
/** The upstream connection that answered each path, last answer wins. */
const answeredOn = new Map<string, net.Socket>();

before(async () => {
  upstream = net.createServer((socket) => {
    upstreamSockets.add(socket);
    socket.on("close", () => upstreamSockets.delete(socket));
    socket.on("error", () => {});
    // The gateway keeps upstream connections alive: answer every request head that arrives.
    // Bodies are not read; only `/upload` sends one, and it is never answered.
    let head = "";
    socket.on("data", (chunk: Buffer) => {
      head += chunk.toString("latin1");
      if (!head.includes("\r\n\r\n")) return;
      const path = head.slice(head.indexOf(" ") + 1, head.indexOf(" ", head.indexOf(" ") + 1));
      head = "";
      upstreamSaw.push(path);
      answeredOn.set(path, socket);
      const answer = ANSWERS[path];
      if (answer === undefined) socket.end("HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n");
      else if (answer !== null) socket.write(answer);
    });
  });
  upstream.listen(0, "127.0.0.1");
  await once(upstream, "listening");
  gw = await startGateway(`${GATEWAY_YAML}${backendYaml("raw", (upstream.address() as AddressInfo).port)}${catchAllRouteYaml("raw")}`, telemetry);
});

after(async () => {
  await gw?.close();
  for (const s of upstreamSockets) s.destroy();
  await new Promise((resolve) => upstream.close(resolve));
});

async function expectProtocolError(path: string): Promise<void> {
  const reply = await ask(gw.port, { path });
  assert.equal(reply.status, 502, path);
  assert.equal(reply.json().error, "upstream_protocol_error", path);
  const exchange = await telemetry.endOf(path);
  assert.equal(exchange.responseFlags, "UPE", path);
  assert.equal(exchange.errorType, "upstream_protocol_error", path);
  assert.equal(exchange.attempts[0]!.errorType, "upstream_protocol_error", path);
}

/** Everything the gateway sends back on one connection for `request`, until it closes. */
async function rawAnswer(request: string): Promise<string> {
  const client = net.connect(gw.port, "127.0.0.1");
  client.write(request);
  let received = "";
  for await (const chunk of client) received += (chunk as Buffer).toString("latin1");
  return received;
}

describe("upstream answers the gateway cannot forward", () => {
  test("malformed response heads are 502 UPE upstream_protocol_error, not a connect failure", async () => {
    await expectProtocolError("/ctl-in-header");
    await expectProtocolError("/space-before-colon");
    await expectProtocolError("/status-099");
  });

  test("a transfer coding other than chunked is 502 UPE instead of a body still coded but undeclared", async () => {
    await expectProtocolError("/gzip-chunked");
    await expectProtocolError("/gzip-only");
    const plain = await ask(gw.port, { path: "/chunked-upper" });
    assert.equal(plain.status, 200, "chunked alone, in any case and with spaces, is forwarded");
    assert.equal(plain.body.toString(), "ok");
  });

  test("a 204 that frames a body (Transfer-Encoding, or a Content-Length above 0) is 502 UPE, as in Envoy; one with Content-Length 0 is forwarded", async () => {
    for (const path of ["/no-content-chunked", "/no-content-length"]) {
      await expectProtocolError(path);
      assert.equal((await telemetry.endOf(path)).attempts[0]!.peerAddress, "127.0.0.1", "the refused attempt still names its peer");
      const connection = answeredOn.get(path)!;
      // Not reused: where that response ends is in doubt.
      if (!connection.closed) await once(connection, "close");
    }
    const empty = await ask(gw.port, { path: "/no-content-zero" });
    assert.equal(empty.status, 204);
    assert.equal(empty.headers["x-kept"], "yes");
    assert.equal(empty.headers["content-length"], undefined, "a 204 carries no Content-Length, not even 0");
    assert.equal(empty.body.length, 0);
    const exchange = await telemetry.endOf("/no-content-zero");
    assert.equal(exchange.responseFlags, "");
    assert.equal(exchange.errorType, undefined);
    assert.equal(answeredOn.get("/no-content-zero")!.closed, false, "a clean 204 keeps its connection");
  });

  test("a HEAD or 304 response naming a transfer coding carries no body, so it is forwarded", async () => {
    const head = await ask(gw.port, { method: "HEAD", path: "/head-gzip" });
    assert.equal(head.status, 200);
    assert.equal(head.headers["x-kept"], "yes");
    assert.equal((await telemetry.endOf("/head-gzip")).responseFlags, "");
    const notModified = await ask(gw.port, { path: "/not-modified-gzip", headers: { "if-none-match": '"v1"' } });
    assert.equal(notModified.status, 304);
    assert.equal(notModified.headers.etag, '"v1"');
    assert.equal((await telemetry.endOf("/not-modified-gzip")).responseFlags, "");
  });

  test("response heads up to 60 KiB are forwarded (undici alone stops at 16 KiB); larger ones are 502 UPE", async () => {
    // Read raw: node's own HTTP client would stop at 16 KiB.
    const large = await rawAnswer("GET /headers-40k HTTP/1.1\r\nHost: raw.example\r\nConnection: close\r\n\r\n");
    assert.match(large, /^HTTP\/1\.1 200 /);
    assert.match(large, new RegExp(`\r\nx-big: a{${40 * 1024}}\r\n`, "i"));
    assert.ok(large.endsWith("\r\n\r\nok"), "the body follows the large head");
    await expectProtocolError("/headers-70k");
  });

  test("a 101 relays Upgrade and Connection but not the headers the upstream's Connection names", async () => {
    const client = net.connect(gw.port, "127.0.0.1");
    client.write("GET /upgrade HTTP/1.1\r\nHost: raw.example\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n");
    let received = "";
    for await (const chunk of client) {
      received += (chunk as Buffer).toString("latin1");
      if (received.includes("\r\n\r\n")) break;
    }
    client.destroy();
    const lines = received.split("\r\n").map((l) => l.toLowerCase());
    assert.equal(lines[0], "http/1.1 101 switching protocols");
    assert.ok(lines.includes("upgrade: websocket"), received);
    assert.ok(lines.includes("x-kept: yes"), received);
    assert.ok(!lines.some((l) => l.startsWith("x-hop:")), `X-Hop is for the upstream's hop only:\n${received}`);
  });
});

describe("a client that leaves mid-upload", () => {
  test("a FIN before the body is whole ends as 0 DC client_aborted, with no 400 written", async () => {
    const client = net.connect({ port: gw.port, host: "127.0.0.1", allowHalfOpen: true });
    let received = "";
    client.on("data", (chunk: Buffer) => (received += chunk.toString("latin1")));
    client.on("error", () => {});
    await once(client, "connect");
    client.write("POST /upload HTTP/1.1\r\nHost: raw.example\r\nContent-Length: 1000\r\n\r\nabc");
    const exchangeEnded = telemetry.endOf("/upload");
    // The request reaches the upstream before the client half-closes, so a request is in flight.
    while (!upstreamSaw.includes("/upload")) await new Promise((resolve) => setTimeout(resolve, 5));
    client.end();
    const exchange = await exchangeEnded;
    await once(client, "close");
    assert.equal(received, "", "nobody is left to read an answer");
    assert.equal(exchange.status, 0);
    assert.equal(exchange.responseFlags, "DC");
    assert.equal(exchange.errorType, "client_aborted");
    assert.equal(exchange.clientAborted, true);
  });
});
