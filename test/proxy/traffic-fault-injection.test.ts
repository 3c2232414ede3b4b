// kgateway TrafficPolicy `faultInjection` end to end, against real upstreams on 127.0.0.1:
// aborts with Envoy's details and FI flag (an HTTP status; a gRPC status in gRPC's terms),
// delays with the DI flag that do not eat the route's request timeout, a delay then an abort,
// a client leaving during a delay, maxActiveFaults, a Gateway's faults and a route's
// `disable`, a zero percentage, a response slowed to its byte rate, and an upgrade aborted.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { once } from "node:events";
import http from "node:http";
import net from "node:net";
import { type RawUpgradeUpstream, startRawUpgradeUpstream, upgradeHead } from "../support/raw-upgrade.ts";
import { type TestUpstream, startUpstream } from "../support/upstreams.ts";
import { type GatewayUnderTest, ask, backendYaml, catchAllOnYaml, hostGatewayYaml, startGateway, targetedTrafficPolicyYaml } from "./harness.ts";
import { RecordingTelemetry, responseDetailsOf } from "./recording-telemetry.ts";

let app: TestUpstream;
let raw: RawUpgradeUpstream;
let gw: GatewayUnderTest;
const recorder = new RecordingTelemetry();

/**
 * A Gateway for `name`.example, a catch-all route of the same name to `backend` with the rule's
 * other `ruleFields`, and a route-level policy with `faults` (and `more` spec lines).
 */
const lab = (name: string, faults: string, { backend = "app", ruleFields = "", more = "" } = {}): string =>
  hostGatewayYaml(name, `${name}.example`) + catchAllOnYaml(name, name, backend, ruleFields) + targetedTrafficPolicyYaml(name, "HTTPRoute", name, `  faultInjection: ${faults}\n${more}`);

before(async () => {
  app = await startUpstream("app");
  raw = await startRawUpgradeUpstream();
  gw = await startGateway(
    lab("abort", "{abort: {httpStatus: 503}}") +
      lab("grpc", "{abort: {grpcStatus: 14, percentage: 100}}") +
      lab("both", "{delay: {fixedDelay: 200ms}, abort: {httpStatus: 429}}") +
      lab("max", "{delay: {fixedDelay: 700ms}, maxActiveFaults: 1}") +
      lab("slow", "{responseRateLimit: {kbitsPerSecond: 64}}") +
      lab("tail", "{responseRateLimit: {kbitsPerSecond: 1}}", { ruleFields: "timeouts: {request: 500ms}" }) +
      lab("ws", "{delay: {fixedDelay: 200ms}, maxActiveFaults: 1}", { backend: "raw" }) +
      lab("never", "{abort: {httpStatus: 500, percentage: 0}, delay: {fixedDelay: 1h, percentage: 0}}") +
      lab("delay", "{delay: {fixedDelay: 400ms}}", { ruleFields: "timeouts: {request: 250ms}", more: "  buffer: {maxRequestSize: 1Mi}\n" }) +
      hostGatewayYaml("gate", "gate.example") +
      catchAllOnYaml("gate", "gate", "app") +
      catchAllOnYaml("gate-open", "gate", "app", "matches: [{path: {type: PathPrefix, value: /open}}]") +
      targetedTrafficPolicyYaml("gate", "Gateway", "gate", "  faultInjection: {abort: {httpStatus: 502}}\n") +
      targetedTrafficPolicyYaml("gate-open", "HTTPRoute", "gate-open", "  faultInjection: {disable: {}}\n") +
      backendYaml("app", app.port) +
      backendYaml("raw", raw.port),
    recorder,
  );
});

after(async () => {
  await gw.close();
  await app.close();
  await raw.close();
});

const reached = (prefix: string): number => app.requests.filter((r) => r.url.startsWith(prefix)).length;
const injected = (policy: string): [string, number][] =>
  [...gw.stats.faultInjections!.entries()]
    .filter(([, , p]) => p === `default/${policy}`)
    .map(([, , , kind, n]): [string, number] => [kind, n])
    .sort();

test("an abort answers its status with Envoy's words, details and FI flag; the upstream never sees the request", async () => {
  const reply = await ask(gw.port, { method: "POST", path: "/a/1", headers: { host: "abort.example" }, body: "x" });
  assert.equal(reply.status, 503);
  assert.deepEqual(reply.json(), { error: "fault_filter_abort", message: "fault filter abort" });
  assert.equal(reached("/a/"), 0);
  const exchange = await recorder.endOf("/a/1");
  assert.equal(responseDetailsOf(exchange), "fault_filter_abort");
  assert.equal(exchange.responseFlags, "FI");
  assert.deepEqual(injected("abort"), [["abort", 1]]);
});

test("a gRPC abort answers a gRPC request with HTTP 200 and grpc-status in the head; any other request gets 200 and the JSON body", async () => {
  const grpc = await ask(gw.port, { method: "POST", path: "/pkg.Svc/Call", headers: { host: "grpc.example", "content-type": "application/grpc+proto", te: "trailers" }, body: Buffer.alloc(5) });
  assert.equal(grpc.status, 200);
  assert.deepEqual([grpc.headers["content-type"], grpc.headers["grpc-status"], grpc.headers["grpc-message"], grpc.body.length], ["application/grpc", "14", "fault filter abort", 0]);
  assert.equal((await recorder.endOf("/pkg.Svc/Call")).responseFlags, "FI");
  const plain = await ask(gw.port, { path: "/plain", headers: { host: "grpc.example" } });
  assert.equal(plain.status, 200);
  assert.equal(plain.json()["error"], "fault_filter_abort");
  assert.equal(reached("/pkg.Svc/") + reached("/plain"), 0);
});

test("a delay holds the request, flagged DI, and the route's request timeout (which covers a body read) starts after it", async () => {
  const started = performance.now();
  const reply = await ask(gw.port, { method: "POST", path: "/slow/100", headers: { host: "delay.example" }, body: "buffered after the delay" });
  const took = performance.now() - started;
  // 400 ms of delay, the body buffered, then a 100 ms upstream, against a 250 ms request timeout: not a 504.
  assert.equal(reply.status, 200);
  assert.ok(took >= 495, `the delay and the upstream's 100 ms passed, not ${took} ms`);
  const exchange = await recorder.endOf("/slow/100");
  assert.equal(exchange.responseFlags, "DI");
  // The timeout still applies after the delay.
  assert.equal((await ask(gw.port, { path: "/slow/600", headers: { host: "delay.example" } })).status, 504);
});

test("a delay then an abort: the abort's status after the delay, flagged DI,FI, counted once each", async () => {
  const started = performance.now();
  const reply = await ask(gw.port, { path: "/b/1", headers: { host: "both.example" } });
  assert.equal(reply.status, 429);
  assert.ok(performance.now() - started >= 195);
  assert.equal((await recorder.endOf("/b/1")).responseFlags, "DI,FI");
  assert.equal(reached("/b/"), 0);
  assert.deepEqual(injected("both"), [
    ["abort", 1],
    ["delay", 1],
  ]);
  // As in Envoy, the abort is decided after the delay: a client gone by then is not counted as aborted.
  const gone = http.request({ host: "127.0.0.1", port: gw.port, path: "/b/2", headers: { host: "both.example" }, agent: false });
  gone.on("error", () => {});
  gone.end();
  await new Promise((resolve) => setTimeout(resolve, 50));
  gone.destroy();
  assert.equal((await recorder.endOf("/b/2")).responseFlags, "DI,DC");
  await new Promise((resolve) => setTimeout(resolve, 250));
  assert.deepEqual(injected("both"), [
    ["abort", 1],
    ["delay", 2],
  ]);
});

test("maxActiveFaults: while one request holds its delay another gets no fault (overflow); the slot frees when the client leaves", async () => {
  const first = http.request({ host: "127.0.0.1", port: gw.port, path: "/m/1", headers: { host: "max.example" }, agent: false });
  first.on("error", () => {});
  first.end();
  await new Promise((resolve) => setTimeout(resolve, 100));
  assert.equal((await ask(gw.port, { path: "/m/2", headers: { host: "max.example" } })).status, 200);
  assert.equal((await recorder.endOf("/m/2")).responseFlags, "", "the second request was not delayed");
  first.destroy();
  const left = await recorder.endOf("/m/1");
  assert.equal(left.responseFlags, "DI,DC");
  assert.equal(reached("/m/1"), 0, "a client that left during its delay never reaches the upstream");
  const third = performance.now();
  assert.equal((await ask(gw.port, { path: "/m/3", headers: { host: "max.example" } })).status, 200);
  assert.ok(performance.now() - third >= 695, "the slot came free: the third request was delayed");
  assert.equal(reached("/m/1"), 0, "the left request's delay was cancelled, not merely outwaited");
  assert.deepEqual(injected("max"), [
    ["delay", 2],
    ["overflow", 1],
  ]);
});

test("a Gateway's faults reach every route without its own; a route's disable turns them off", async () => {
  assert.equal((await ask(gw.port, { path: "/g/1", headers: { host: "gate.example" } })).status, 502);
  assert.equal((await ask(gw.port, { path: "/open/1", headers: { host: "gate.example" } })).status, 200);
  assert.equal(reached("/open/1"), 1);
  assert.deepEqual(injected("gate"), [["abort", 1]]);
});

test("percentage 0 injects nothing and counts nothing", async () => {
  assert.equal((await ask(gw.port, { path: "/n/1", headers: { host: "never.example" } })).status, 200);
  assert.deepEqual(injected("never"), []);
});

test("a response rate limit slows the upstream's body to its rate, in many small writes, whole", async () => {
  // kbitsPerSecond 64 is 64 KiB/s as Envoy reads it: 100 KiB take about 1.5 s, released every
  // 50 ms; past 64 KiB waiting the upstream is paused, and resumed (the body ends whole).
  const chunks: number[] = [];
  const started = performance.now();
  const body = await new Promise<Buffer>((resolve, reject) => {
    http
      .get({ host: "127.0.0.1", port: gw.port, path: "/bytes/102400", headers: { host: "slow.example" }, agent: false }, (res) => {
        const parts: Buffer[] = [];
        res.on("data", (c: Buffer) => {
          parts.push(c);
          chunks.push(c.length);
        });
        res.on("end", () => resolve(Buffer.concat(parts)));
        res.on("error", reject);
      })
      .on("error", reject);
  });
  const took = performance.now() - started;
  assert.equal(body.length, 102400);
  assert.ok(took >= 1450, `100 KiB at 64 KiB/s took ${took} ms`);
  assert.ok(Math.max(...chunks) <= 3277, `no write exceeds one 50 ms tick's worth (3276.8 bytes): ${Math.max(...chunks)}`);
  const exchange = await recorder.endOf("/bytes/102400");
  assert.equal(exchange.bytesSent, 102400);
  assert.deepEqual(injected("slow"), [["response_rate_limit", 1]]);
});

test("once the upstream's body is whole, the request timeout no longer cuts the slowed rest", async () => {
  // 1 KiB/s: 1500 bytes take about 1.4 s, well past the route's 500 ms request timeout.
  const reply = await ask(gw.port, { path: "/bytes/1500", headers: { host: "tail.example" } });
  assert.equal(reply.status, 200);
  assert.equal(reply.body.length, 1500);
  const exchange = await recorder.endOf("/bytes/1500");
  assert.equal(exchange.responseFlags, "");
  assert.equal(exchange.errorType, undefined);
});

test("an upgrade offer waits out the delay (DI) and then opens, never slowed, its slot back after the delay", async () => {
  const started = performance.now();
  // The first tunnel stays open while the second is offered.
  const first = net.connect(gw.port, "127.0.0.1");
  first.on("error", () => {});
  first.write("GET /switch/1 HTTP/1.1\r\nHost: ws.example\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n");
  const [firstHead] = (await once(first, "data")) as [Buffer];
  assert.match(firstHead.toString("latin1"), /^HTTP\/1\.1 101 /);
  assert.ok(performance.now() - started >= 195);
  // maxActiveFaults 1: had the open tunnel kept its slot past its delay, this one would get no delay (overflow).
  const second = await upgradeHead(gw.port, "/switch/2", {}, "ws.example");
  assert.match(second.toString("latin1"), /^HTTP\/1\.1 101 /);
  assert.equal((await recorder.endOf("/switch/2")).responseFlags, "DI");
  first.destroy();
  assert.equal((await recorder.endOf("/switch/1")).responseFlags, "DI");
  assert.deepEqual(injected("ws"), [["delay", 2]]);
});

test("an upgrade offer gets the abort's status raw", async () => {
  const head = await upgradeHead(gw.port, "/ws", {}, "abort.example");
  assert.match(head.toString("latin1"), /^HTTP\/1\.1 503 Service Unavailable\r\n/);
  const exchange = await recorder.endOf("/ws");
  assert.equal(responseDetailsOf(exchange), "fault_filter_abort");
  assert.equal(exchange.responseFlags, "FI");
  assert.deepEqual(injected("abort"), [["abort", 2]], "the request earlier and this upgrade");
});
