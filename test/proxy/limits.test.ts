// Listener limits from HTTPListenerPolicy, checked over raw TCP where HTTP clients would
// refuse to misbehave: 431, CL+TE 400, slowloris 408, slow body 408, keep-alive timeout,
// max connections, requests per connection and the header count.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import net from "node:net";
import { once } from "node:events";
import { pausedConnection, readAfterLateUpload } from "../support/late-upload.ts";
import { until } from "../support/until.ts";
import { type TestUpstream, startUpstream } from "../support/upstreams.ts";
import { GATEWAY_YAML, type GatewayUnderTest, ask, backendYaml, catchAllRouteYaml, compileYaml, startGateway } from "./harness.ts";
import { RecordingTelemetry, responseDetailsOf } from "./recording-telemetry.ts";

let up: TestUpstream;
let tight: GatewayUnderTest;
let capped: GatewayUnderTest;
let counted: GatewayUnderTest;

const route = (): string => catchAllRouteYaml("up");
const recorder = new RecordingTelemetry();

const policy = (fields: string): string => `---
apiVersion: gateway.kgateway.dev/v1alpha1
kind: HTTPListenerPolicy
metadata: {name: limits, namespace: default}
spec:
  targetRefs: [{group: gateway.networking.k8s.io, kind: Gateway, name: edge}]
${fields}`;

before(async () => {
  up = await startUpstream("up");
  tight = await startGateway(
    `${GATEWAY_YAML}${backendYaml("up", up.port)}${route()}${policy(
      "  maxRequestHeadersKb: 2\n  requestHeadersTimeout: 300ms\n  requestTimeout: 600ms\n  idleTimeout: 1s\n",
    )}`,
  );
  capped = await startGateway(`${GATEWAY_YAML}${backendYaml("up", up.port)}${route()}${policy("  maxConnections: 2\n")}`);
  counted = await startGateway(`${GATEWAY_YAML}${backendYaml("up", up.port)}${route()}${policy("  maxRequestsPerConnection: 2\n  maxHeadersCount: 5\n")}`, recorder);
});

after(async () => {
  await tight?.close();
  await capped?.close();
  await counted?.close();
  await up?.close();
});

/** Writes raw bytes, then collects everything the server sends until it closes. */
async function raw(port: number, text: string): Promise<string> {
  const socket = net.connect(port, "127.0.0.1");
  socket.on("error", () => {});
  let received = "";
  socket.setEncoding("utf8");
  socket.on("data", (c: string) => (received += c));
  socket.write(text);
  await once(socket, "close");
  return received;
}

function parse(response: string): { status: number; headers: string; body: Record<string, unknown> } {
  const [head, body] = response.split("\r\n\r\n", 2) as [string, string];
  return { status: Number(head.split(" ")[1]), headers: head.toLowerCase(), body: JSON.parse(body) as Record<string, unknown> };
}

describe("listener limits", () => {
  test("headers over the limit get 431 with a JSON body", async () => {
    const r = parse(await raw(tight.port, `GET / HTTP/1.1\r\nHost: x\r\nX-Big: ${"a".repeat(4096)}\r\n\r\n`));
    assert.equal(r.status, 431);
    assert.match(r.headers, /content-type: application\/json/);
    assert.equal(r.body.error, "header_too_large");
  });

  test("a 431 reaches a client that goes on sending before it reads: the gateway lingers instead of resetting", async () => {
    // Closed at once after the answer, the connection met the later bytes with a reset, which
    // threw the unread 431 away.
    const socket = await pausedConnection(tight.port);
    const { received, failure } = await readAfterLateUpload(socket, [`GET / HTTP/1.1\r\nHost: x\r\nX-Big: ${"a".repeat(100_000)}`]);
    assert.equal(failure, undefined);
    const r = parse(received);
    assert.equal(r.status, 431);
    assert.equal(r.body.error, "header_too_large");
  });

  test("a connection lingering after an early answer is not cut by the listener's requestTimeout", async () => {
    // The request is still unfinished when its timeout (600 ms) runs out, but its answer is
    // out and the connection lingers: cut then, the late upload would draw the reset that
    // loses the unread answer.
    const socket = await pausedConnection(tight.port);
    const { received, failure } = await readAfterLateUpload(socket, ["POST /a%2Fb;x HTTP/1.1\r\nHost: x\r\nContent-Length: 100000000\r\n\r\nabc"], undefined, { beforeLateMs: 900, afterLateMs: 100 });
    assert.equal(failure, undefined);
    const r = parse(received);
    assert.equal(r.status, 400);
  });

  test("headers under the limit pass", async () => {
    const reply = await ask(tight.port, { path: "/ok", headers: { "x-fine": "a".repeat(1000) } });
    assert.equal(reply.status, 200);
  });

  test("Content-Length together with Transfer-Encoding gets 400 with a JSON body", async () => {
    const before = up.requests.length;
    const r = parse(
      await raw(tight.port, "POST /smuggle HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n"),
    );
    assert.equal(r.status, 400);
    assert.equal(r.body.error, "invalid_framing");
    assert.equal(up.requests.length, before, "nothing reaches the upstream");
  });

  test("a slowloris request (headers never finish) gets 408", async () => {
    const r = parse(await raw(tight.port, "GET / HTTP/1.1\r\nHost: x\r\nX-Slow: "));
    assert.equal(r.status, 408);
    assert.equal(r.body.error, "request_timeout");
  });

  test("a request body that stalls past the request timeout gets 408 and the upstream request is cancelled", async () => {
    const aborted = up.waitForAbort("/sink/stalled");
    const r = parse(await raw(tight.port, "POST /sink/stalled HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\nhalf"));
    assert.equal(r.status, 408);
    await aborted;
  });

  test("an idle keep-alive connection is closed after the keep-alive timeout", async () => {
    const socket = net.connect(tight.port, "127.0.0.1");
    let received = "";
    let closed = false;
    socket.setEncoding("utf8");
    socket.on("data", (c: string) => (received += c));
    socket.on("close", () => (closed = true));
    const answers = (): number => received.match(/HTTP\/1\.1 200 /g)?.length ?? 0;
    socket.write("GET /first HTTP/1.1\r\nHost: x\r\n\r\n");
    await until(() => answers() === 1 || closed);
    // Kept alive after the answer: a second request on the same socket is answered.
    assert.equal(closed, false, "the connection stays open after its first answer");
    socket.write("GET /second HTTP/1.1\r\nHost: x\r\n\r\n");
    await until(() => answers() === 2 || closed);
    assert.equal(answers(), 2, received);
    if (!closed) await once(socket, "close");
    assert.match(received.toLowerCase(), /\r\nkeep-alive: timeout=1\r\n/);
    assert.equal(answers(), 2, "nothing more came before the idle close");
  });

  test("connections beyond maxConnections are refused; capacity returns when they close", async () => {
    const held = [net.connect(capped.port, "127.0.0.1"), net.connect(capped.port, "127.0.0.1")];
    await Promise.all(held.map((s) => once(s, "connect")));
    await waitForConnections(capped, 2);
    const refused = await raw(capped.port, "GET / HTTP/1.1\r\nHost: x\r\n\r\n");
    assert.equal(refused, "", "the excess connection is closed without an answer");
    for (const s of held) s.destroy();
    await waitForConnections(capped, 0);
    assert.equal((await ask(capped.port, { path: "/again" })).status, 200);
  });
});

async function waitForConnections(gw: GatewayUnderTest, count: number): Promise<void> {
  for (;;) {
    const n = await new Promise<number>((resolve, reject) => gw.server.getConnections((err, c) => (err ? reject(err) : resolve(c))));
    if (n === count) return;
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

describe("requests per connection and header fields", () => {
  test("maxRequestsPerConnection: the last request allowed is answered with Connection: close, and the connection ends", async () => {
    const socket = net.connect(counted.port, "127.0.0.1");
    socket.setEncoding("utf8");
    let received = "";
    socket.on("data", (c: string) => (received += c));
    await once(socket, "connect");
    socket.write("GET /first HTTP/1.1\r\nHost: x\r\n\r\n");
    await until(() => received.includes("/first"));
    assert.doesNotMatch(received, /connection: close/i);
    socket.write("GET /second HTTP/1.1\r\nHost: x\r\n\r\n");
    await once(socket, "close");
    const answers = received.split(/(?=HTTP\/1\.1 )/);
    assert.equal(answers.length, 2);
    assert.match(answers[1]!, /^HTTP\/1\.1 200 /);
    assert.match(answers[1]!, /connection: close/i);
    assert.match(answers[1]!, /"url":"\/second"/);
  });

  test("maxHeadersCount: a request with more header fields gets 431 too_many_headers, as Envoy's http1.too_many_headers, however many more; at the count it passes", async () => {
    /** `n` header fields: Host and n - 1 others. */
    const fields = (n: number): string => Array.from({ length: n - 1 }, (_, i) => `X-F${i}: ${i}\r\n`).join("");
    const atCount = await raw(counted.port, `GET /exactly HTTP/1.1\r\nHost: x\r\n${fields(5)}Connection: close\r\n\r\n`.replace(`X-F3: 3\r\n`, ""));
    assert.match(atCount, /^HTTP\/1\.1 200 /);
    for (const [path, count] of [["/one-over", 6], ["/two-over", 7], ["/lots", 40], ["/past-node-default", 2100]] as const) {
      const over = parse(await raw(counted.port, `GET ${path} HTTP/1.1\r\nHost: x\r\n${fields(count)}\r\n`));
      assert.equal(over.status, 431, path);
      assert.equal(over.body.error, "too_many_headers", path);
      const exchange = await recorder.endOf(path);
      assert.equal(exchange.status, 431);
      assert.equal(exchange.attempts.length, 0);
      assert.equal(responseDetailsOf(exchange), "http1.too_many_headers");
    }
    // An upgrade is counted too: Host, Connection, Upgrade and three more.
    const upgrade = parse(await raw(counted.port, `GET /ws-many HTTP/1.1\r\nHost: x\r\nConnection: upgrade\r\nUpgrade: websocket\r\n${fields(4)}\r\n`));
    assert.equal(upgrade.status, 431);
    assert.equal(upgrade.body.error, "too_many_headers");
    assert.equal(responseDetailsOf(await recorder.endOf("/ws-many")), "http1.too_many_headers");
  });

  test("maxHeadersCount is the one in force: a reload that lifts it lets a kept-alive connection send more", async (t) => {
    const plan = counted.plan;
    t.after(() => (counted.plan = plan));
    const socket = net.connect(counted.port, "127.0.0.1");
    t.after(() => socket.destroy());
    socket.setEncoding("latin1");
    let received = "";
    socket.on("data", (c: string) => (received += c));
    await once(socket, "connect");
    socket.write("GET /before-reload HTTP/1.1\r\nHost: x\r\n\r\n");
    await until(() => received.includes("/before-reload"));
    counted.plan = compileYaml(`${GATEWAY_YAML}${backendYaml("up", up.port)}${route()}${policy("  maxRequestsPerConnection: 2\n")}`, 2);
    const many = Array.from({ length: 13 }, (_, i) => `X-F${i}: ${i}\r\n`).join("");
    socket.write(`GET /after-reload HTTP/1.1\r\nHost: x\r\n${many}\r\n`);
    await once(socket, "close");
    const answers = received.split(/(?=HTTP\/1\.1 )/);
    assert.equal(answers.length, 2);
    assert.match(answers[1]!, /^HTTP\/1\.1 200 /);
    assert.match(answers[1]!, /"url":"\/after-reload"/);
  });

  test("maxRequestsPerConnection: an upgrade pipelined past the last allowed request is not served either", async () => {
    const before = up.requests.length;
    // The last allowed answer is slow: the upgrade behind it is parsed while it is pending.
    const answer = await raw(counted.port, "GET /pipe-a HTTP/1.1\r\nHost: x\r\n\r\nGET /slow/300 HTTP/1.1\r\nHost: x\r\n\r\nGET /pipe-ws HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n");
    const answers = answer.split(/(?=HTTP\/1\.1 )/);
    assert.deepEqual(answers.map((a) => a.slice(0, 12)), ["HTTP/1.1 200", "HTTP/1.1 200"]);
    assert.deepEqual(up.requests.slice(before).map((r) => r.url), ["/pipe-a", "/slow/300"]);
  });

  test("maxRequestsPerConnection: requests pipelined past the last allowed one are neither served nor forwarded", async () => {
    const before = up.requests.length;
    const answer = await raw(counted.port, "GET /pipe-1 HTTP/1.1\r\nHost: x\r\n\r\nGET /pipe-2 HTTP/1.1\r\nHost: x\r\n\r\nPOST /pipe-3 HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\nhi");
    const answers = answer.split(/(?=HTTP\/1\.1 )/);
    assert.equal(answers.length, 2);
    assert.match(answers[1]!, /connection: close/i);
    assert.deepEqual(up.requests.slice(before).map((r) => r.url), ["/pipe-1", "/pipe-2"]);
  });
});
