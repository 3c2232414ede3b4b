// BackendConfigPolicy commonHttpProtocolOptions.maxStreamDuration end to end, against real
// upstreams on 127.0.0.1: an upstream silent past the limit (504), a response still streaming
// (cut), a client still uploading (408), a retry that rides over it, a WebSocket tunnel
// closed at the limit, an upgrade never answered, and backends without the policy unbounded.
// Each outcome is checked as the access log and spans see it (flag UMSDR, Envoy's details).
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import http from "node:http";
import net, { type AddressInfo } from "node:net";
import { once } from "node:events";
import { WebSocket } from "ws";
import { type TestUpstream, startUpstream } from "../support/upstreams.ts";
import { type HttpService, startHttpService } from "../support/http-service.ts";
import { rawExchange } from "../support/raw-exchange.ts";
import { type GatewayUnderTest, ask, backendYaml, catchAllOnYaml, hostGatewayYaml, startGateway } from "./harness.ts";
import { RecordingTelemetry, responseDetailsOf } from "./recording-telemetry.ts";

const LIMIT = "300ms";

let up: TestUpstream;
/** Never answers the first request of each path; answers 200 at once after that. */
let firstHangs: HttpService;
/** Accepts connections, reads and never answers: an upgrade gets no 101. */
let silent: net.Server;
/** Answers any request, an upgrade too, with a 200 whose chunked body never ends. */
let streamer: net.Server;
const silentSockets = new Set<net.Socket>();
let gw: GatewayUnderTest;
const recorder = new RecordingTelemetry();

const limitPolicy = (backend: string, duration = LIMIT): string => `---
apiVersion: gateway.kgateway.dev/v1alpha1
kind: BackendConfigPolicy
metadata: {name: ${backend}, namespace: default}
spec:
  targetRefs: [{group: gateway.tollgate.dev, kind: Backend, name: ${backend}}]
  commonHttpProtocolOptions: {maxStreamDuration: ${duration}}
`;

/** A Gateway for `NAME.example` with one route to the Backend `NAME`. */
const site = (name: string, fields = ""): string => hostGatewayYaml(name, `${name}.example`) + catchAllOnYaml(name, name, name, fields);

before(async () => {
  up = await startUpstream("up");
  const seen = new Set<string>();
  firstHangs = await startHttpService((req, res) => {
    req.resume();
    const first = !seen.has(req.url ?? "");
    seen.add(req.url ?? "");
    if (!first) res.writeHead(200, { "content-type": "text/plain", "content-length": "2" }).end("ok");
    // A 503 whose body stops short: read away for the retry until the limit cuts it.
    else if (req.url === "/partial-503") res.writeHead(503, { "content-length": "10" }).write("ab");
  });
  streamer = net.createServer((socket) => {
    silentSockets.add(socket);
    socket.on("close", () => silentSockets.delete(socket));
    socket.once("data", () => socket.write("HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\ntransfer-encoding: chunked\r\n\r\n5\r\nfirst\r\n"));
  });
  streamer.listen(0, "127.0.0.1");
  await once(streamer, "listening");
  silent = net.createServer((socket) => {
    // Read (and drop) what comes, so the gateway's close is seen.
    socket.resume();
    silentSockets.add(socket);
    socket.on("close", () => silentSockets.delete(socket));
  });
  silent.listen(0, "127.0.0.1");
  await once(silent, "listening");
  gw = await startGateway(
    backendYaml("capped", up.port) +
      limitPolicy("capped") +
      site("capped") +
      backendYaml("free", up.port) +
      site("free") +
      backendYaml("retried", firstHangs.port) +
      limitPolicy("retried") +
      site("retried", "retry: {attempts: 2, codes: [503]}") +
      backendYaml("streamer", (streamer.address() as AddressInfo).port) +
      limitPolicy("streamer") +
      site("streamer") +
      backendYaml("nobody", (silent.address() as AddressInfo).port) +
      limitPolicy("nobody") +
      site("nobody"),
    recorder,
  );
});

after(async () => {
  await gw.close();
  for (const socket of silentSockets) socket.destroy();
  silent.close();
  streamer.close();
  await Promise.all([up.close(), firstHangs.close()]);
});


test("an upstream silent past maxStreamDuration: 504 upstream_max_stream_duration, flag UMSDR, Envoy's details", async () => {
  const reply = await ask(gw.port, { path: "/hang?silent", headers: { host: "capped.example" } });
  assert.equal(reply.status, 504);
  assert.equal(reply.json()["error"], "upstream_max_stream_duration");
  const exchange = await recorder.endOf("/hang");
  assert.equal(exchange.responseFlags, "UMSDR");
  assert.equal(exchange.errorType, "timeout");
  assert.equal(responseDetailsOf(exchange), "upstream_max_stream_duration_reached");
  assert.equal(exchange.attempts.length, 1);
  assert.equal(exchange.attempts[0]!.errorType, "timeout");
  // The upstream saw its request cut.
  await up.waitForAbort("/hang?silent");
});

test("a response still streaming at the limit is cut; one that ends in time, or a backend without the policy, is not", async () => {
  const cut = await new Promise<{ status: number; complete: boolean; bytes: number }>((resolve, reject) => {
    const req = http.get({ host: "127.0.0.1", port: gw.port, path: "/burst/10/5000", headers: { host: "capped.example" }, agent: false }, (res) => {
      let bytes = 0;
      res.on("data", (chunk: Buffer) => (bytes += chunk.length));
      res.on("error", () => undefined);
      res.on("close", () => resolve({ status: res.statusCode ?? 0, complete: res.complete, bytes }));
    });
    req.on("error", reject);
  });
  assert.equal(cut.status, 200);
  assert.equal(cut.complete, false);
  assert.ok(cut.bytes >= 10, `the burst went through before the cut (${cut.bytes} bytes)`);
  const exchange = await recorder.endOf("/burst/10/5000");
  assert.equal(exchange.responseFlags, "UMSDR");
  assert.equal(exchange.errorType, "timeout");
  assert.equal(responseDetailsOf(exchange), "upstream_max_stream_duration_reached");

  const quick = await ask(gw.port, { path: "/quick", headers: { host: "capped.example" } });
  assert.equal(quick.status, 200);
  assert.equal((await recorder.endOf("/quick")).responseFlags, "");
  // Twice the limit, on a backend no policy bounds.
  const free = await ask(gw.port, { path: "/slow/600", headers: { host: "free.example" } });
  assert.equal(free.status, 200);
  assert.equal(free.json()["slow"], 600);
  assert.equal((await recorder.endOf("/slow/600")).responseFlags, "");
});

test("a client still sending its body at the limit gets 408, as Envoy answers then", async () => {
  const text = await rawExchange(gw.port, "POST /sink HTTP/1.1\r\nhost: capped.example\r\ncontent-length: 100\r\n\r\n" + "x".repeat(10));
  assert.match(text, /^HTTP\/1\.1 408 /);
  assert.match(text, /"error":"upstream_max_stream_duration"/);
  const exchange = await recorder.endOf("/sink");
  assert.equal(exchange.responseFlags, "UMSDR");
  assert.equal(exchange.status, 408);
  assert.equal(responseDetailsOf(exchange), "upstream_max_stream_duration_reached");
  assert.equal(exchange.attempts[0]!.errorType, "timeout");
});

test("a retry policy retries an attempt reset at the limit, as a reset: the answer of the next one goes out, unflagged", async () => {
  const reply = await ask(gw.port, { path: "/again", headers: { host: "retried.example" } });
  assert.equal(reply.status, 200);
  assert.equal(reply.body.toString(), "ok");
  const exchange = await recorder.endOf("/again");
  assert.equal(exchange.responseFlags, "");
  assert.deepEqual(
    exchange.attempts.map((a) => [a.status, a.errorType]),
    [
      [0, "timeout"],
      [200, undefined],
    ],
  );
});

test("a WebSocket tunnel is closed at the limit: the upgrade stands (101, no error), flag UMSDR", async () => {
  const ws = new WebSocket(`ws://127.0.0.1:${gw.port}/ws/capped`, { headers: { host: "capped.example" } });
  const greeting = await new Promise<string>((resolve, reject) => {
    ws.once("message", (data: Buffer) => resolve(data.toString()));
    ws.once("error", reject);
  });
  assert.match(greeting, /^hello \/ws\/capped/);
  // The session is live until the limit.
  ws.send("ping");
  const echo = await new Promise<string>((resolve) => ws.once("message", (data: Buffer) => resolve(data.toString())));
  assert.equal(echo, "echo: ping");
  const [code] = (await once(ws, "close")) as [number];
  // The gateway closes the connection without a close frame.
  assert.equal(code, 1006);
  const exchange = await recorder.endOf("/ws/capped");
  assert.equal(exchange.status, 101);
  assert.equal(exchange.responseFlags, "UMSDR");
  assert.equal(exchange.errorType, undefined);
  assert.equal(responseDetailsOf(exchange), "upstream_max_stream_duration_reached");
  assert.equal(exchange.attempts[0]!.errorType, undefined);
});

const upgradeRequest = (path: string, host: string): string =>
  `GET ${path} HTTP/1.1\r\nhost: ${host}\r\nconnection: upgrade\r\nupgrade: websocket\r\nsec-websocket-version: 13\r\nsec-websocket-key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n`;

test("an upgrade the upstream never answers: 408 at the limit, as Envoy, whose upgrade request never ends; the upstream request is cut", async () => {
  const upstreamClosed = new Promise<void>((resolve) => silent.once("connection", (socket: net.Socket) => socket.once("close", () => resolve())));
  const text = await rawExchange(gw.port, upgradeRequest("/never", "nobody.example"));
  assert.match(text, /^HTTP\/1\.1 408 /);
  assert.match(text, /"error":"upstream_max_stream_duration"/);
  const exchange = await recorder.endOf("/never");
  assert.equal(exchange.responseFlags, "UMSDR");
  // A 408 is not the server's error; the attempt's is the timeout.
  assert.equal(exchange.errorType, undefined);
  assert.equal(responseDetailsOf(exchange), "upstream_max_stream_duration_reached");
  assert.equal(exchange.attempts[0]!.errorType, "timeout");
  await upstreamClosed;
});

test("a refusal of an upgrade still streaming at the limit is cut: error.type timeout, flag UMSDR, not a client abort", async () => {
  const text = await rawExchange(gw.port, upgradeRequest("/refused-stream", "streamer.example"));
  assert.match(text, /^HTTP\/1\.1 200 /);
  assert.match(text, /first/);
  const exchange = await recorder.endOf("/refused-stream");
  assert.equal(exchange.status, 200);
  assert.equal(exchange.responseFlags, "UMSDR");
  assert.equal(exchange.errorType, "timeout");
  assert.equal(exchange.clientAborted, false);
  assert.equal(exchange.attempts[0]!.errorType, "timeout");
});

test("a POST whose body came whole is the upstream's delay: 504", async () => {
  const reply = await ask(gw.port, { method: "POST", path: "/hang/post", headers: { host: "capped.example" }, body: "whole body" });
  assert.equal(reply.status, 504);
  assert.equal((await recorder.endOf("/hang/post")).responseFlags, "UMSDR");
});

test("an attempt that ended in time is left alone after the limit passes", async () => {
  const reply = await ask(gw.port, { path: "/in-time", headers: { host: "capped.example" } });
  assert.equal(reply.status, 200);
  await new Promise((resolve) => setTimeout(resolve, 500));
  const exchange = await recorder.endOf("/in-time");
  assert.equal(exchange.attempts[0]!.errorType, undefined);
  assert.equal(exchange.responseFlags, "");
  assert.deepEqual(
    recorder.eventsFor("/in-time").filter((e) => e.startsWith("attemptEnd")),
    ["attemptEnd /in-time #0 status=200 error=-"],
  );
});

test("an answer read away for a retry and cut at the limit keeps its status as the attempt's error", async () => {
  const reply = await ask(gw.port, { path: "/partial-503", headers: { host: "retried.example" } });
  assert.equal(reply.status, 200);
  const exchange = await recorder.endOf("/partial-503");
  assert.equal(exchange.responseFlags, "");
  assert.deepEqual(
    exchange.attempts.map((a) => [a.status, a.errorType]),
    [
      [503, "503"],
      [200, undefined],
    ],
  );
});
