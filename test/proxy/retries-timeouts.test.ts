// Retries, timeouts and upstream failures, counted by real upstreams.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import http from "node:http";
import { type TestUpstream, closedPort, startUpstream } from "../support/upstreams.ts";
import { GATEWAY_YAML, type GatewayUnderTest, ask, backendYaml, ref, routeYaml, startGateway } from "./harness.ts";

let up: TestUpstream;
let other: TestUpstream;
let deadPort: number;
let gw: GatewayUnderTest;

before(async () => {
  up = await startUpstream("up");
  other = await startUpstream("other");
  deadPort = await closedPort();
  gw = await startGateway(`${GATEWAY_YAML}${backendYaml("up", up.port)}${backendYaml("dead", deadPort)}${backendYaml(
    "dead-then-live",
    deadPort,
    other.port,
  )}${routeYaml(`    - matches: [{path: {type: PathPrefix, value: /flaky}}]
      retry: {codes: [503], attempts: 2, backoff: 5ms}
      backendRefs: [${ref("up")}]
    - matches: [{path: {type: PathPrefix, value: /status}}]
      retry: {codes: [503], attempts: 2, backoff: 5ms}
      backendRefs: [${ref("up")}]
    - matches: [{path: {type: PathPrefix, value: /no-retry}}]
      filters:
        - type: URLRewrite
          urlRewrite: {path: {type: ReplacePrefixMatch, replacePrefixMatch: /flaky}}
      backendRefs: [${ref("up")}]
    - matches: [{path: {type: PathPrefix, value: /refused}}]
      backendRefs: [${ref("dead")}]
    - matches: [{path: {type: PathPrefix, value: /failover}}]
      retry: {attempts: 1, backoff: 1ms}
      backendRefs: [${ref("dead-then-live")}]
    - matches: [{path: {type: PathPrefix, value: /hang}}]
      timeouts: {request: 300ms}
      backendRefs: [${ref("up")}]
    - matches: [{path: {type: PathPrefix, value: /slow}}]
      timeouts: {request: 5s, backendRequest: 150ms}
      retry: {codes: [503], attempts: 1, backoff: 1ms}
      backendRefs: [${ref("up")}]
    - matches: [{path: {type: PathPrefix, value: /patient}}]
      timeouts: {request: 99999h, backendRequest: 600h}
      filters:
        - type: URLRewrite
          urlRewrite: {path: {type: ReplacePrefixMatch, replacePrefixMatch: /slow}}
      backendRefs: [${ref("up")}]
    - matches: [{path: {type: PathPrefix, value: /reset-mid-body}}]
      backendRefs: [${ref("up")}]
    - matches: [{path: {type: PathPrefix, value: /abort}}]
      filters:
        - type: URLRewrite
          urlRewrite: {path: {type: ReplacePrefixMatch, replacePrefixMatch: /hang}}
      backendRefs: [${ref("up")}]
`)}`);
});

after(async () => {
  await gw?.close();
  await up?.close();
  await other?.close();
});

const seen = (u: TestUpstream, prefix: string): number => u.requests.filter((r) => r.url.startsWith(prefix)).length;

describe("retries", () => {
  test("a configured status is retried until an attempt succeeds; the upstream sees every attempt", async () => {
    const r = await ask(gw.port, { path: "/flaky/two/2/503" });
    assert.equal(r.status, 200);
    assert.equal(r.json().attempt, 3);
    assert.equal(seen(up, "/flaky/two/"), 3);
    assert.equal(gw.stats.retries.get("default/up"), 2);
  });

  test("attempts are bounded: the last upstream answer goes to the client", async () => {
    const r = await ask(gw.port, { path: "/flaky/always/10/503" });
    assert.equal(r.status, 503);
    assert.equal(r.json().attempt, 3);
    assert.equal(seen(up, "/flaky/always/"), 3);
  });

  test("codes not listed are not retried", async () => {
    const r = await ask(gw.port, { path: "/status/500" });
    assert.equal(r.status, 500);
    assert.equal(seen(up, "/status/500"), 1);
  });

  test("non-idempotent methods are never retried", async () => {
    const r = await ask(gw.port, { method: "POST", path: "/flaky/post/5/503", body: "x" });
    assert.equal(r.status, 503);
    assert.equal(seen(up, "/flaky/post/"), 1);
  });

  test("a PUT with a body is not repeated once an upstream has answered", async () => {
    const r = await ask(gw.port, { method: "PUT", path: "/flaky/put/5/503", body: "payload" });
    assert.equal(r.status, 503);
    assert.equal(seen(up, "/flaky/put/"), 1);
  });

  test("rules without retry send one attempt", async () => {
    const r = await ask(gw.port, { path: "/no-retry/none/5/503" });
    assert.equal(r.status, 503);
    assert.equal(seen(up, "/flaky/none/"), 1);
  });

  test("a refused connection is retried on the next endpoint, even with a PUT body not yet sent", async () => {
    const r = await ask(gw.port, { method: "PUT", path: "/failover/put", body: "abc" });
    assert.equal(r.status, 200);
    const body = r.json() as { upstream: string; bodyBytes: number };
    assert.equal(body.upstream, "other");
    assert.equal(body.bodyBytes, 3);
  });
});

describe("upstream failures", () => {
  test("a refused connection answers 502 with a JSON cause", async () => {
    const r = await ask(gw.port, { path: "/refused" });
    assert.equal(r.status, 502);
    assert.equal(r.headers["content-type"], "application/json");
    assert.deepEqual(r.json(), { error: "upstream_connect_failed", message: "the upstream refused the connection" });
  });

  test("the route's request timeout answers 504 and cancels the upstream request", async () => {
    const aborted = up.waitForAbort("/hang");
    const r = await ask(gw.port, { path: "/hang" });
    assert.equal(r.status, 504);
    assert.equal(r.json().error, "request_timeout");
    await aborted;
  });

  test("timeouts past what node's timers hold (2^31-1 ms) are read as that, not as a timer that fires at once", async () => {
    const res = await ask(gw.port, { path: "/patient/50" });
    assert.equal(res.status, 200);
    assert.equal(res.json()["slow"], 50);
  });

  test("the backend request timeout is per attempt and retryable", async () => {
    const before = seen(up, "/slow/2000");
    const r = await ask(gw.port, { path: "/slow/2000" });
    assert.equal(r.status, 504);
    assert.equal(r.json().error, "upstream_timeout");
    assert.equal(seen(up, "/slow/2000") - before, 2);
  });

  test("an upstream reset mid-body cuts the client response short without crashing", async () => {
    const outcome = await new Promise<{ status: number; received: number; error: string }>((resolve) => {
      const req = http.get({ host: "127.0.0.1", port: gw.port, path: "/reset-mid-body", agent: false }, (res) => {
        let received = 0;
        res.on("data", (c: Buffer) => (received += c.length));
        res.on("error", (err) => resolve({ status: res.statusCode ?? 0, received, error: (err as NodeJS.ErrnoException).code ?? err.message }));
        res.on("end", () => resolve({ status: res.statusCode ?? 0, received, error: "none" }));
      });
      req.on("error", (err) => resolve({ status: 0, received: 0, error: err.message }));
    });
    assert.equal(outcome.status, 200);
    assert.equal(outcome.received, 1000);
    assert.equal(outcome.error, "ECONNRESET");
    // The proxy keeps serving.
    assert.equal((await ask(gw.port, { path: "/status/200" })).status, 200);
  });

  test("a client abort cancels the upstream request (the route has no timeout)", async () => {
    const aborted = up.waitForAbort("/hang/client-abort");
    const req = http.get({ host: "127.0.0.1", port: gw.port, path: "/abort/client-abort", agent: false });
    req.on("error", () => {});
    await up.waitFor("/hang/client-abort");
    req.destroy();
    const observed = await aborted;
    assert.equal(observed.aborted, true);
  });
});
