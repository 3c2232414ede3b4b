// kgateway TrafficPolicy `retry` and `timeouts` end to end, against real upstreams on
// 127.0.0.1: which of Envoy's retryOn conditions retry what (statuses, refused connections,
// Envoy's rate limit mark, per-attempt timeouts), the policy's request timeout and its own
// stream idle limit, and the route's own settings taking precedence. Each rule has its own
// upstream path key, so the tests do not share counters.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import net from "node:net";
import { type HttpService, startHttpService } from "../support/http-service.ts";
import { type TestUpstream, closedPort, startUpstream } from "../support/upstreams.ts";
import { GATEWAY_YAML, type GatewayUnderTest, ask, backendYaml, ref, routeYaml, startGateway } from "./harness.ts";
import { RecordingTelemetry } from "./recording-telemetry.ts";

let up: TestUpstream;
let other: TestUpstream;
/** Answers 429 with Envoy's `x-envoy-ratelimited` to the first request of each path, 200 after. */
let limiter: HttpService;
let gw: GatewayUnderTest;
const recorder = new RecordingTelemetry();

const rule = (name: string, prefix: string, backend = "up", extra = ""): string => `    - name: ${name}
      matches: [{path: {type: PathPrefix, value: ${prefix}}}]
${extra}      backendRefs: [${ref(backend)}]
`;

/** A second route: a route holds at most 16 rules. */
const secondRouteYaml = (rules: string): string => routeYaml(rules).replace("metadata: {name: r,", "metadata: {name: r2,");

const policy = (name: string, rules: readonly string[], body: string, route = "r"): string => `---
apiVersion: gateway.kgateway.dev/v1alpha1
kind: TrafficPolicy
metadata: {name: ${name}, namespace: default}
spec:
  targetRefs:
${rules.map((r) => `  - {group: gateway.networking.k8s.io, kind: HTTPRoute, name: ${route}, sectionName: ${r}}`).join("\n")}
${body}`;

before(async () => {
  up = await startUpstream("up");
  other = await startUpstream("other");
  const dead = await closedPort();
  const seenPaths = new Set<string>();
  limiter = await startHttpService((req, res) => {
    if (req.url?.startsWith("/overloaded") === true) {
      req.resume();
      res.writeHead(503, { "x-envoy-overloaded": "true", "content-length": "0" }).end();
      return;
    }
    const first = !seenPaths.has(req.url ?? "");
    seenPaths.add(req.url ?? "");
    req.resume();
    if (first) res.writeHead(429, { "x-envoy-ratelimited": "true", "content-length": "0" }).end();
    else res.writeHead(200, { "content-length": "2" }).end("ok");
  });
  gw = await startGateway(
    GATEWAY_YAML +
      backendYaml("up", up.port) +
      backendYaml("dead", dead) +
      backendYaml("dead-then-live", dead, other.port) +
      backendYaml("limiter", limiter.port) +
      routeYaml(
        rule("ge", "/flaky/ge") +
          rule("ge-500", "/flaky/ge500") +
          rule("ge-failover", "/failover-ge", "dead-then-live") +
          rule("conflict", "/flaky/conflict") +
          rule("connect-only", "/flaky/connect") +
          rule("codes-only", "/codes-only", "dead") +
          rule("marked", "/marked", "limiter") +
          rule("unmarked", "/unmarked", "limiter") +
          rule("per-try", "/slow/2000") +
          rule("per-try-connect", "/slow/1500") +
          rule("overloaded", "/overloaded", "limiter") +
          rule("own-retry", "/flaky/own", "up", "      retry: {codes: [500], attempts: 1, backoff: 1ms}\n") +
          rule("own-retry-500", "/flaky/own500", "up", "      retry: {codes: [500], attempts: 1, backoff: 1ms}\n"),
      ) +
      secondRouteYaml(
        rule("deadline", "/hang/deadline") +
          rule("own-deadline", "/slow/600", "up", "      timeouts: {request: 5s}\n") +
          rule("idle", "/hang/idle") +
          rule("idle-upload", "/sink/idle") +
          rule("idle-socket", "/socket/idle") +
          rule("listener-idle", "/slow/400"),
      ) +
      policy("gateway-error", ["ge", "ge-500", "ge-failover", "own-retry", "own-retry-500"], "  retry: {retryOn: [gateway-error], attempts: 2, backoffBaseInterval: 1ms}\n") +
      policy("conflict", ["conflict"], "  retry: {retryOn: [retriable-4xx], backoffBaseInterval: 1ms}\n") +
      policy("connect-only", ["connect-only"], "  retry: {retryOn: [connect-failure], backoffBaseInterval: 1ms}\n") +
      policy("codes-only", ["codes-only"], "  retry: {statusCodes: [503], backoffBaseInterval: 1ms}\n") +
      policy("marked", ["marked"], "  retry: {retryOn: [envoy-ratelimited], backoffBaseInterval: 1ms}\n") +
      policy("unmarked", ["unmarked", "overloaded"], "  retry: {retryOn: [gateway-error], backoffBaseInterval: 1ms}\n") +
      policy("per-try", ["per-try"], "  retry: {retryOn: [reset], perTryTimeout: 150ms, backoffBaseInterval: 1ms}\n") +
      policy("per-try-connect", ["per-try-connect"], "  retry: {retryOn: [connect-failure], perTryTimeout: 150ms, backoffBaseInterval: 1ms}\n") +
      policy("deadline", ["deadline", "own-deadline"], "  timeouts: {request: 300ms}\n", "r2") +
      policy("idle", ["idle", "idle-upload", "idle-socket"], "  timeouts: {streamIdle: 200ms}\n", "r2"),
    recorder,
  );
});

after(async () => {
  await gw.close();
  await up.close();
  await other.close();
  await limiter.close();
});

const seen = (u: TestUpstream, prefix: string): number => u.requests.filter((r) => r.url.startsWith(prefix)).length;

test("gateway-error retries a 503 and a refused connection, not a 500", async () => {
  const retried = await ask(gw.port, { path: "/flaky/ge/1/503" });
  assert.equal(retried.status, 200);
  assert.equal(retried.json()["attempt"], 2);

  const kept = await ask(gw.port, { path: "/flaky/ge500/1/500" });
  assert.equal(kept.status, 500);
  assert.equal(seen(up, "/flaky/ge500/"), 1);

  // One endpoint refuses: whichever the rotation starts at, both requests get the live one.
  for (const path of ["/failover-ge/1", "/failover-ge/2"]) assert.equal((await ask(gw.port, { path })).status, 200, path);
  assert.equal(seen(other, "/failover-ge/"), 2);
  // Each attempt moves the rotation on, so the second request may meet the refusing one too.
  assert.ok([1, 2].includes(gw.stats.retries.get("default/dead-then-live") ?? 0), String(gw.stats.retries.get("default/dead-then-live")));
});

test("retriable-4xx retries a 409; connect-failure alone retries no status; statusCodes alone retry no refused connection", async () => {
  const conflict = await ask(gw.port, { path: "/flaky/conflict/1/409" });
  assert.equal(conflict.status, 200);
  assert.equal(conflict.json()["attempt"], 2, "kgateway's default attempts: one retry");

  const status = await ask(gw.port, { path: "/flaky/connect/1/503" });
  assert.equal(status.status, 503);
  assert.equal(seen(up, "/flaky/connect/"), 1);

  const refused = await ask(gw.port, { path: "/codes-only/x" });
  assert.equal(refused.status, 502);
  assert.equal(gw.stats.retries.get("default/dead"), undefined);
  assert.equal((await recorder.endOf("/codes-only/x")).attempts.length, 1);
});

test("envoy-ratelimited retries an answer Envoy's rate limit marked; without it the marked 429 goes to the client", async () => {
  assert.equal((await ask(gw.port, { path: "/marked/a" })).status, 200);
  assert.equal((await recorder.endOf("/marked/a")).attempts.length, 2);
  assert.equal((await ask(gw.port, { path: "/unmarked/a" })).status, 429);
  assert.equal((await recorder.endOf("/unmarked/a")).attempts.length, 1);
});

test("perTryTimeout bounds each attempt, and reset retries one that ran out", async () => {
  const before = seen(up, "/slow/2000");
  const reply = await ask(gw.port, { path: "/slow/2000" });
  assert.equal(reply.status, 504);
  assert.equal(reply.json()["error"], "upstream_timeout");
  assert.equal(seen(up, "/slow/2000") - before, 2);
});

test("a per-attempt timeout is not retried under connect-failure alone; an answer marked x-envoy-overloaded never is", async () => {
  const before = seen(up, "/slow/1500");
  assert.equal((await ask(gw.port, { path: "/slow/1500" })).status, 504);
  assert.equal(seen(up, "/slow/1500") - before, 1);
  // gateway-error lists 503, but an Envoy behind the gateway said it is overloaded.
  assert.equal((await ask(gw.port, { path: "/overloaded/a" })).status, 503);
  assert.equal((await recorder.endOf("/overloaded/a")).attempts.length, 1);
});

test("a route's own retry takes precedence over the policy's", async () => {
  // The policy (gateway-error) would retry a 503; the rule's own retry lists 500 only.
  const reply = await ask(gw.port, { path: "/flaky/own/1/503" });
  assert.equal(reply.status, 503);
  assert.equal(seen(up, "/flaky/own/"), 1);
  const own = await ask(gw.port, { path: "/flaky/own500/1/500" });
  assert.equal(own.status, 200, "the rule's own code is retried");
});

test("the policy's request timeout answers 504; a route's own request timeout takes precedence", async () => {
  const reply = await ask(gw.port, { path: "/hang/deadline" });
  assert.equal(reply.status, 504);
  assert.equal(reply.json()["error"], "request_timeout");
  // 600 ms is past the policy's 300 ms but well within the rule's own 5 s.
  assert.equal((await ask(gw.port, { path: "/slow/600" })).status, 200);
});

test("the policy's streamIdle limits its rule's silent upstream; the listener's limit still holds for the other rules", { timeout: 20_000 }, async () => {
  const reply = await ask(gw.port, { path: "/hang/idle" });
  assert.equal(reply.status, 504);
  assert.equal(reply.json()["error"], "upstream_timeout");
  assert.equal((await recorder.endOf("/hang/idle")).responseFlags, "SI");
  // The listener's limit is its default 5 minutes: a 400 ms pause passes.
  assert.equal((await ask(gw.port, { path: "/slow/400" })).status, 200);
});

test("the rule's streamIdle also bounds a stalled upload and an idle WebSocket tunnel", { timeout: 20_000 }, async () => {
  const socket = net.connect(gw.port, "127.0.0.1");
  socket.on("error", () => {});
  let answer = "";
  socket.setEncoding("latin1");
  socket.on("data", (chunk: string) => (answer += chunk));
  const closed = new Promise<void>((resolve) => socket.on("close", () => resolve()));
  socket.write("POST /sink/idle HTTP/1.1\r\nHost: idle.example\r\nContent-Length: 1000\r\n\r\n0123456789");
  await closed;
  assert.match(answer, /^HTTP\/1\.1 408 /, answer);
  assert.match(answer, /"error":"stream_idle_timeout"/);

  const ws = new WebSocket(`ws://127.0.0.1:${gw.port}/socket/idle`);
  const code = new Promise<number>((resolve) => ws.addEventListener("close", (event) => resolve(event.code)));
  // 1006: the connection ended without a close frame, which is the gateway's cut of a quiet tunnel.
  assert.equal(await code, 1006);
  assert.equal((await recorder.endOf("/socket/idle")).responseFlags, "SI");
});
