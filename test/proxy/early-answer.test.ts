// An upstream that answers before it read the request body (413, 401): the client gets the
// whole answer and the connection ends after it. Kept alive, the next request on it was never
// read: undici drops the rest of the body and node stops reading the socket. A full-duplex
// exchange whose upload completes while its answer streams keeps its connection.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { once } from "node:events";
import http from "node:http";
import { type AddressInfo, connect } from "node:net";
import { setTimeout as delay } from "node:timers/promises";
import { pausedConnection, readAfterLateUpload } from "../support/late-upload.ts";
import { GATEWAY_YAML, type GatewayUnderTest, ask, backendYaml, ref, routeYaml, startGateway } from "./harness.ts";

const BODY_BYTES = 3 * 1024 * 1024;
let upstream: http.Server;
/** Every request the upstream got, as `METHOD path`. */
const served: string[] = [];
let gw: GatewayUnderTest;

before(async () => {
  upstream = http.createServer((req, res) => {
    served.push(`${req.method} ${req.url}`);
    if (req.url === "/duplex") {
      // The head goes out at once; the body echoes the upload and ends with it.
      res.writeHead(200, { "content-type": "text/plain" });
      res.flushHeaders();
      req.pipe(res);
      return;
    }
    if (req.url === "/slow") {
      req.resume();
      setTimeout(() => res.end("slow"), 300);
      return;
    }
    if (req.url === "/too-large") {
      res.writeHead(413, { "content-type": "text/plain", "content-length": "9" });
      res.end("too large");
      return;
    }
    req.resume();
    req.on("end", () => res.end(`read ${req.url}`));
  });
  await new Promise<void>((resolve) => upstream.listen(0, "127.0.0.1", resolve));
  // A long idle limit: a connection the gateway failed to end would stay open past the test's timeout.
  // Nothing listens there: the gateway answers 502 itself, before reading the body.
  const closed = http.createServer();
  await new Promise<void>((resolve) => closed.listen(0, "127.0.0.1", resolve));
  const closedPort = (closed.address() as AddressInfo).port;
  await new Promise((resolve) => closed.close(resolve));
  const rules = `    - matches: [{path: {type: PathPrefix, value: /down}}]
      backendRefs: [${ref("down")}]
    - backendRefs: [${ref("up")}]
`;
  gw = await startGateway(`${GATEWAY_YAML}${backendYaml("up", (upstream.address() as AddressInfo).port)}${backendYaml("down", closedPort)}${routeYaml(rules)}---
apiVersion: gateway.kgateway.dev/v1alpha1
kind: HTTPListenerPolicy
metadata: {name: limits, namespace: default}
spec:
  targetRefs: [{group: gateway.networking.k8s.io, kind: Gateway, name: edge}]
  idleTimeout: 10m
`);
});

after(async () => {
  await gw?.close();
  upstream?.closeAllConnections();
  await new Promise((resolve) => upstream?.close(resolve));
});

test("an answer that comes before the upload is complete closes the connection after it", { timeout: 30_000 }, async () => {
  const socket = connect(gw.port, "127.0.0.1");
  socket.on("error", () => {}); // the rest of the upload may meet a closed connection
  let received = "";
  socket.setEncoding("latin1");
  socket.on("data", (chunk: string) => (received += chunk));
  const closed = new Promise<void>((resolve) => socket.on("close", () => resolve()));
  socket.write(`POST /too-large HTTP/1.1\r\nhost: x\r\ncontent-length: ${BODY_BYTES}\r\n\r\n`);
  const chunk = Buffer.alloc(64 * 1024, 97);
  for (let sent = 0; sent < BODY_BYTES && !socket.destroyed; sent += chunk.length) {
    if (!socket.write(chunk)) {
      await new Promise<void>((resolve) => {
        socket.once("drain", resolve);
        socket.once("close", resolve);
      });
    }
    if (received.includes("too large")) break;
  }
  // The connection must end on its own; kept alive, it would sit here until an idle limit.
  await closed;
  assert.match(received, /^HTTP\/1\.1 413 /);
  assert.ok(received.endsWith("too large"), "the whole answer arrived");
  assert.equal((await ask(gw.port, { method: "POST", path: "/after", body: "x".repeat(1000) })).body.toString(), "read /after");
});

test("an answer after the whole body was read keeps the connection alive", { timeout: 30_000 }, async () => {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  try {
    const post = (path: string): Promise<{ status: number; connection: string | undefined; body: string; socket: unknown }> =>
      new Promise((resolve, reject) => {
        const req = http.request({ host: "127.0.0.1", port: gw.port, method: "POST", path, agent }, (res) => {
          let body = "";
          res.setEncoding("utf8");
          res.on("data", (c: string) => (body += c));
          res.on("end", () => resolve({ status: res.statusCode ?? 0, connection: res.headers.connection, body, socket: req.socket }));
        });
        req.on("error", reject);
        req.end("y".repeat(10_000));
      });
    const first = await post("/one");
    const second = await post("/two");
    assert.deepEqual([first.body, second.body], ["read /one", "read /two"]);
    assert.equal(first.connection, "keep-alive");
    assert.equal(first.socket, second.socket, "the second request reused the connection");
  } finally {
    agent.destroy();
  }
});

test("a full-duplex exchange whose upload completes while the answer streams keeps its connection", { timeout: 30_000 }, async () => {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  try {
    const exchange = (path: string): Promise<{ body: string; connection: string | undefined; socket: unknown }> =>
      new Promise((resolve, reject) => {
        const req = http.request({ host: "127.0.0.1", port: gw.port, method: "POST", path, agent, headers: { "transfer-encoding": "chunked" } }, (res) => {
          let body = "";
          res.setEncoding("utf8");
          res.on("data", (c: string) => {
            body += c;
            // The second half of the upload goes only once the first came back: the answer is streaming.
            if (body === "ping ") req.end("pong");
          });
          res.on("end", () => resolve({ body, connection: res.headers.connection, socket: req.socket }));
        });
        req.on("error", reject);
        req.write("ping ");
      });
    const first = await exchange("/duplex");
    assert.equal(first.body, "ping pong");
    assert.equal(first.connection, "keep-alive");
    const second = await exchange("/duplex");
    assert.equal(second.body, "ping pong");
    assert.equal(second.socket, first.socket, "the connection was reused");
  } finally {
    agent.destroy();
  }
});

test("an early answer behind a pipelined one still ends the connection after it", { timeout: 30_000 }, async () => {
  const socket = connect(gw.port, "127.0.0.1");
  socket.on("error", () => {});
  let received = "";
  socket.setEncoding("latin1");
  socket.on("data", (chunk: string) => (received += chunk));
  const closed = new Promise<void>((resolve) => socket.on("close", () => resolve()));
  // The 413's 'finish' comes only after the slow answer ahead of it, when undici has let go of the request.
  socket.write(`GET /slow HTTP/1.1\r\nhost: x\r\n\r\nPOST /too-large HTTP/1.1\r\nhost: x\r\ncontent-length: 100000\r\n\r\n${"a".repeat(1000)}`);
  // Kept alive, the connection would stay open past the test's timeout (idleTimeout: 10m).
  await closed;
  assert.match(received, /^HTTP\/1\.1 200 [\s\S]*slow[\s\S]*HTTP\/1\.1 413 [\s\S]*too large$/);
});

/** The head of a POST whose body never completes. */
function uploadHead(path: string, connection = "keep-alive"): string {
  return `POST ${path} HTTP/1.1\r\nhost: x\r\nconnection: ${connection}\r\ncontent-length: ${BODY_BYTES}\r\n\r\n`;
}

const earlyAnswers = [
  { what: "the upstream's answer to a request that asked for Connection: close", path: "/too-large", connection: "close", answer: /^HTTP\/1\.1 413 [\s\S]*\r\n\r\ntoo large$/ },
  { what: "the upstream's answer that went out keep-alive", path: "/too-large", connection: "keep-alive", answer: /^HTTP\/1\.1 413 [\s\S]*\r\n\r\ntoo large$/ },
  { what: "the gateway's own answer", path: "/down", connection: "keep-alive", answer: /^HTTP\/1\.1 502 [\s\S]*\r\nconnection: close\r\n[\s\S]*\{"error":"upstream_connect_failed"[^\n]*\}\n$/i },
];

for (const early of earlyAnswers) {
  test(`a client that goes on uploading after an early answer it has not read yet still reads it whole: ${early.what}`, { timeout: 30_000 }, async () => {
    // The client reads nothing until its upload went out, as a client writing before it
    // reads does. Closed at once after the answer, the connection met the later upload bytes
    // with a reset, and the reset threw the unread answer away on the client's side.
    const socket = await pausedConnection(gw.port);
    const { received, failure } = await readAfterLateUpload(socket, [uploadHead(early.path, early.connection), Buffer.alloc(64 * 1024, 97)]);
    assert.equal(failure, undefined);
    assert.match(received, early.answer);
  });
}

/**
 * A client that never closes its side: sends `first`, reads the answer up to the gateway's
 * FIN, then sends `after` and keeps writing until the gateway, its linger run out, cuts the
 * connection (the listener's idle limit is 10 minutes, past the tests' timeouts). What it
 * read, and how many requests the upstream got once the answer was in.
 */
async function halfOpenClient(first: readonly (string | Buffer)[], after: string): Promise<{ received: string; servedAfter: string[] }> {
  const socket = connect({ port: gw.port, host: "127.0.0.1", allowHalfOpen: true });
  socket.on("error", () => {});
  await once(socket, "connect");
  let received = "";
  socket.setEncoding("latin1");
  socket.on("data", (chunk: string) => (received += chunk));
  const ended = once(socket, "end");
  // Not events.once: the reset's error would reject it.
  const closed = new Promise<void>((resolve) => socket.once("close", () => resolve()));
  for (const part of first) socket.write(part);
  await ended;
  const before = served.length;
  socket.write(after);
  // The gateway reads and drops what comes while it lingers; once it gave up, more bytes
  // meet a closed connection and the client's side is reset.
  while (!socket.destroyed) {
    socket.write("\r\n");
    await Promise.race([delay(200), closed]);
  }
  await closed;
  return { received, servedAfter: served.slice(before) };
}

test("a client that never closes its side after an early answer is closed by the gateway", { timeout: 30_000 }, async () => {
  const { received } = await halfOpenClient([uploadHead("/down"), Buffer.alloc(1024, 97)], "c".repeat(1024));
  assert.match(received, /^HTTP\/1\.1 502 [\s\S]*upstream_connect_failed/);
});

const behindClose = [
  { what: "the rest of a body the gateway answered before reading", first: "POST /down HTTP/1.1\r\nhost: x\r\ncontent-length: 100\r\n\r\nabc", rest: "x".repeat(97), answer: /^HTTP\/1\.1 502 / },
  { what: "an answer that said Connection: close to a request without a body", first: "GET /a%2Fb;x HTTP/1.1\r\nhost: x\r\n\r\n", rest: "", answer: /^HTTP\/1\.1 400 / },
  { what: "the upstream's early answer to an upload", first: "POST /too-large HTTP/1.1\r\nhost: x\r\ncontent-length: 100\r\n\r\nabc", rest: "x".repeat(97), answer: /^HTTP\/1\.1 413 / },
];

for (const behind of behindClose) {
  test(`a request sent behind a connection's last answer is not served while the gateway lingers: ${behind.what}`, { timeout: 30_000 }, async () => {
    // Its answer could never go out: served, it would run upstream while the client, seeing
    // the connection close unanswered, may send it again elsewhere.
    const { received, servedAfter } = await halfOpenClient([behind.first], `${behind.rest}DELETE /side-effect HTTP/1.1\r\nhost: x\r\n\r\nGET /after HTTP/1.1\r\nhost: x\r\ncontent-length: 3\r\n\r\nabc`);
    assert.match(received, behind.answer);
    assert.equal(received.match(/HTTP\/1\.1 /g)?.length, 1, "one answer on the connection");
    // The gateway closed 2 s after its answer: a request served would have reached the upstream.
    assert.deepEqual(servedAfter, []);
  });
}

test("requests pipelined behind a connection's last answer are never parsed, however many", { timeout: 30_000 }, async () => {
  // Parsed and left unanswered, each would sit in node's pipelining queues until the close,
  // which then empties them one by one: a flood held the event loop for seconds.
  let dispatched = 0;
  const count = (): void => {
    dispatched++;
  };
  gw.server.on("request", count);
  gw.server.on("connect", count);
  gw.server.on("upgrade", count);
  try {
    const flood = "GET /flood HTTP/1.1\r\nhost: x\r\n\r\n".repeat(20_000);
    const { received, servedAfter } = await halfOpenClient(["GET /a%2Fb;x HTTP/1.1\r\nhost: x\r\n\r\n"], `${flood}CONNECT x:443 HTTP/1.1\r\nhost: x:443\r\n\r\n`);
    assert.match(received, /^HTTP\/1\.1 400 /);
    assert.deepEqual(servedAfter, []);
    assert.equal(dispatched, 1, "only the first request reached the gateway");
  } finally {
    gw.server.off("request", count);
    gw.server.off("connect", count);
    gw.server.off("upgrade", count);
  }
});
