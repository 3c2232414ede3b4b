// TrafficPolicy rateLimit.global end to end: a real rate limit service speaking Envoy's rls
// protocol (grpc-js, test/support/grpc-rls-service.ts) and real upstreams on 127.0.0.1. What
// the service is asked, how its verdicts reach the client and the upstream, and what a
// service that fails, hangs or answers nonsense means with failOpen on and off.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { once } from "node:events";
import net from "node:net";
import { WebSocket } from "ws";
import { closedPort } from "../support/otlp-receiver.ts";
import { type GrpcRlsService, startGrpcRlsService } from "../support/grpc-rls-service.ts";
import { type GrpcAuthzService, startGrpcAuthzService } from "../support/grpc-authz-service.ts";
import { headLines, upgradeHead } from "../support/raw-upgrade.ts";
import { type TestUpstream, startUpstream } from "../support/upstreams.ts";
import { GATEWAY_YAML, type GatewayUnderTest, ask, backendYaml, ref, routeYaml, startGateway, targetedTrafficPolicyYaml } from "./harness.ts";
import { RecordingTelemetry } from "./recording-telemetry.ts";

const LIMIT = 2;

const extension = (name: string, backend: string, extra = ""): string => `---
apiVersion: gateway.kgateway.dev/v1alpha1
kind: GatewayExtension
metadata: {name: ${name}, namespace: default}
spec:
  type: RateLimit
  rateLimit:
    grpcService:
      backendRef: {group: gateway.tollgate.dev, kind: Backend, name: ${backend}}
    domain: edge
${extra}`;

/** A policy on one rule of route `r`: a per-test descriptor, the client, the path, `x-user` and `x-scenario`. */
const policy = (name: string, rule: string, ext: string): string =>
  targetedTrafficPolicyYaml(name, "HTTPRoute", "r", `  rateLimit:
    global:
      extensionRef: {name: ${ext}}
      descriptors:
      - entries:
        - {type: Generic, generic: {key: rule, value: ${rule}}}
        - {type: RemoteAddress}
      - entries:
        - {type: Path}
      - entries:
        - {type: Header, header: X-User}
      - entries:
        - {type: Header, header: x-scenario}
      - entries:
        - {type: Header, header: __proto__}
`).replace("name: r}]", `name: r, sectionName: ${rule}}]`);

const rule = (name: string, prefix: string): string => `    - name: ${name}
      matches: [{path: {type: PathPrefix, value: ${prefix}}}]
      backendRefs: [${ref("app")}]
`;

let app: TestUpstream;
let rls: GrpcRlsService;
let authz: GrpcAuthzService;
/** An upstream that answers every upgrade with a 101 and keeps each request head it got. */
let heads: net.Server;
const upgradeHeads: string[] = [];
let gw: GatewayUnderTest;
const telemetry = new RecordingTelemetry();

before(async () => {
  app = await startUpstream("app");
  rls = await startGrpcRlsService(LIMIT);
  authz = await startGrpcAuthzService();
  heads = net.createServer((socket) => {
    let head = "";
    socket.on("data", (chunk: Buffer) => {
      head += chunk.toString("latin1");
      if (!head.includes("\r\n\r\n")) return;
      upgradeHeads.push(head);
      socket.end("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n");
    });
    socket.on("error", () => {});
  });
  heads.listen(0, "127.0.0.1");
  await once(heads, "listening");
  const down = await closedPort();
  gw = await startGateway(
    GATEWAY_YAML +
      backendYaml("app", app.port) +
      backendYaml("rls", rls.port) +
      backendYaml("rls-down", down) +
      backendYaml("authz", authz.port) +
      backendYaml("heads", (heads.address() as net.AddressInfo).port) +
      // Time limits far above a loaded machine's round trip wherever a test expects a verdict;
      // the hang scenarios wait them out.
      extension("limits", "rls", "    xRateLimitHeaders: DraftVersion03\n    timeout: 10s\n") +
      extension("strict", "rls", "    failOpen: false\n    timeout: 2s\n") +
      extension("lenient", "rls", "    timeout: 2s\n") +
      extension("strict-down", "rls-down", "    failOpen: false\n") +
      extension("patient", "rls", "    failOpen: false\n    timeout: 10s\n") +
      routeYaml(
        rule("counted", "/counted") +
          rule("early", "/early") +
          rule("strict", "/strict") +
          rule("lenient", "/lenient") +
          rule("down", "/down") +
          rule("free", "/free") +
          rule("sockets", "/sockets") +
          rule("both", "/both") +
          rule("both-ws", "/both-ws") +
          `    - name: short
      matches: [{path: {type: PathPrefix, value: /short}}]
      timeouts: {request: 100ms}
      backendRefs: [${ref("app")}]
    - name: authed-ws
      matches: [{path: {type: PathPrefix, value: /authed-ws}}]
      filters:
      - type: ExternalAuth
        externalAuth: {protocol: GRPC, backendRef: ${ref("authz")}}
      backendRefs: [${ref("heads")}]
    - name: authed
      matches: [{path: {type: PathPrefix, value: /authed}}]
      filters:
      - type: ExternalAuth
        externalAuth: {protocol: GRPC, backendRef: ${ref("authz")}}
      backendRefs: [${ref("app")}]
`,
      ) +
      policy("counted", "counted", "limits") +
      targetedTrafficPolicyYaml("early", "HTTPRoute", "r", `  rateLimit:
    global:
      extensionRef: {name: lenient}
      descriptors:
      - entries: [{type: Generic, generic: {key: rule, value: early}}]
      - entries: [{type: Header, header: x-tier}]
      - entries: [{type: Header, header: x-edge}]
`).replace("name: r}]", "name: r, sectionName: early}]") +
      // The listener's early changes: what the descriptors see, as the upstream does.
      `---
apiVersion: gateway.kgateway.dev/v1alpha1
kind: HTTPListenerPolicy
metadata: {name: early, namespace: default}
spec:
  targetRefs: [{group: gateway.networking.k8s.io, kind: Gateway, name: edge}]
  earlyRequestHeaderModifier: {set: [{name: x-edge, value: "1"}], remove: [x-tier]}
` +
      policy("strict", "strict", "strict") +
      policy("lenient", "lenient", "lenient") +
      policy("down", "down", "strict-down") +
      policy("sockets", "sockets", "limits") +
      policy("short", "short", "patient") +
      policy("both", "both", "lenient").replace("  rateLimit:\n", "  rateLimit:\n    local: {tokenBucket: {maxTokens: 1, fillInterval: 1h}}\n") +
      policy("both-ws", "both-ws", "lenient").replace("  rateLimit:\n", "  rateLimit:\n    local: {tokenBucket: {maxTokens: 1, fillInterval: 1h}}\n") +
      targetedTrafficPolicyYaml("authed", "HTTPRoute", "r", `  rateLimit:
    global:
      extensionRef: {name: lenient}
      descriptors:
      - entries: [{type: Generic, generic: {key: rule, value: authed}}]
      - entries: [{type: Header, header: x-user-id}]
      - entries: [{type: Header, header: authorization}]
      - entries: [{type: Header, header: x-scenario}]
`).replace("name: r}]", "name: r, sectionName: authed}]") +
      targetedTrafficPolicyYaml("authed-ws", "HTTPRoute", "r", `  rateLimit:
    global:
      extensionRef: {name: lenient}
      descriptors:
      - entries: [{type: Generic, generic: {key: rule, value: authed-ws}}]
      - entries: [{type: Header, header: x-user-id}]
      - entries: [{type: Header, header: x-scenario}]
`).replace("name: r}]", "name: r, sectionName: authed-ws}]"),
    telemetry,
  );
});

after(async () => {
  await gw.close();
  await rls.close();
  await authz.close();
  await new Promise<void>((resolve) => heads.close(() => resolve()));
  await app.close();
});

const callsFor = (rule: string) => rls.seen.filter((c) => c.request.descriptors[0]?.entries[0]?.value === rule);

test("the service is asked with the policy's domain and each descriptor the request yields; a Header entry the request lacks leaves its descriptor out", async () => {
  const before = rls.seen.length;
  const reply = await ask(gw.port, { path: "/lenient/a?q=1", headers: { "X-USER": "José" } });
  assert.equal(reply.status, 200);
  const call = rls.seen[before]!;
  assert.equal(call.request.domain, "edge");
  assert.deepEqual(
    call.request.descriptors.map((d) => d.entries.map((e) => [e.key, e.value])),
    [
      [["rule", "lenient"], ["remote_address", "127.0.0.1"]],
      [["path", "/lenient/a?q=1"]],
      [["X-User", "José"]],
    ],
  );
  assert.match(call.metadata["traceparent"] ?? "", /^00-[0-9a-f]{32}-[0-9a-f]{16}-0[01]$/, "the call carries its own trace context");
  assert.ok(call.deadlineMs <= Date.now() + 2000, "the extension's timeout is the call's deadline");
  const attempt = telemetry.endedAttempts.find((a) => a.rateLimitCheck && a.rpcMethod === "envoy.service.ratelimit.v3.RateLimitService/ShouldRateLimit");
  assert.ok(attempt, "the check is an attempt of its own (its CLIENT span)");
  assert.equal(attempt.grpcStatus, 0);
});

test("within the limit the request goes on with the service's headers; past it, 429 with x-envoy-ratelimited and the draft's X-RateLimit headers, and the upstream never sees it", async () => {
  const seenBefore = app.requests.length;
  for (let i = 0; i < LIMIT; i++) {
    const reply = await ask(gw.port, { path: "/counted/x" });
    assert.equal(reply.status, 200);
    assert.equal(reply.headers["x-rls-served"], "yes", "the service's response headers reach the client");
    assert.equal(reply.headers["x-ratelimit-remaining"], String(LIMIT - 1 - i));
  }
  const refused = await ask(gw.port, { path: "/counted/x" });
  assert.equal(refused.status, 429);
  assert.equal(refused.headers["x-envoy-ratelimited"], "true");
  assert.equal(refused.headers["x-rls-served"], "yes");
  // The least remaining names the limit; each descriptor's limit follows as a quota policy.
  assert.equal(refused.headers["x-ratelimit-limit"], `${LIMIT}, ${LIMIT};w=60;name="limit-0", ${2 * LIMIT};w=60;name="limit-1"`);
  assert.equal(refused.headers["x-ratelimit-remaining"], "0");
  assert.equal(refused.headers["x-ratelimit-reset"], "42");
  assert.deepEqual(refused.json(), { error: "request_rate_limited", message: "a global rate limit allows no more requests now" });
  assert.equal(app.requests.length - seenBefore, LIMIT, "the refused request never reached the upstream");
  assert.deepEqual(
    [...gw.stats.globalRateLimits!.entries()].filter(([, rule]) => rule === "counted"),
    [
      ["default/r", "counted", "default/counted", "ok", LIMIT],
      ["default/r", "counted", "default/counted", "over_limit", 1],
    ],
  );
});

test("a request that yields no descriptor is not checked", async () => {
  const before = rls.seen.length;
  assert.equal((await ask(gw.port, { path: "/free" })).status, 200);
  assert.equal(rls.seen.length, before);
});

test("an OK answer's request headers go upstream and its response headers to the client; an OVER_LIMIT body is relayed with its headers", async () => {
  const ok = await ask(gw.port, { path: "/lenient/h", headers: { "x-scenario": "headers" } });
  assert.equal(ok.status, 200);
  assert.equal(ok.headers["x-rls-note"], "counted,again", "the service's response headers are added, not replaced, as Envoy adds them");
  assert.equal(app.requests.at(-1)!.headers["x-rls-tier"], "gold");
  assert.equal(ok.headers["x-ratelimit-limit"], undefined, "X-RateLimit headers only where the extension asks for them");

  const over = await ask(gw.port, { path: "/lenient/b", headers: { "x-scenario": "body" } });
  assert.equal(over.status, 429);
  assert.equal(over.body.toString(), "slow down, please");
  assert.equal(over.headers["content-type"], "text/plain");
  assert.equal(over.headers["x-envoy-ratelimited"], "true");
  assert.equal(over.headers["x-rls-why"], "burst,daily");

  const typed = await ask(gw.port, { path: "/lenient/t", headers: { "x-scenario": "typed-over" } });
  assert.equal(typed.status, 429);
  assert.equal(typed.headers["content-type"], "application/json", "the gateway's own JSON refusal keeps its type: the service's described a body it did not send");
  assert.equal(typed.headers["x-rls-why"], "burst");
  assert.equal(typed.json()["error"], "request_rate_limited");
});

test("no verdict (an error, a hang past the timeout, an unwritable header, a body too large to relay) lets the request through with failOpen and is a 500 without; UNKNOWN is OK, as in Envoy", async () => {
  const scenarios = ["unavailable", "hang", "crlf", "proto", "huge-body"];
  for (const scenario of scenarios) {
    const lenient = await ask(gw.port, { path: "/lenient/f", headers: { "x-scenario": scenario } });
    assert.equal(lenient.status, 200, `${scenario}: failOpen lets the request through`);
    assert.equal(app.requests.at(-1)!.headers["x-injected"], undefined);
    const strict = await ask(gw.port, { path: "/strict/f", headers: { "x-scenario": scenario } });
    assert.equal(strict.status, 500, `${scenario}: without failOpen the request is refused`);
    assert.equal(strict.json()["error"], "rate_limiter_error");
  }
  const timedOut = await ask(gw.port, { path: "/strict/t", headers: { "x-scenario": "hang" } });
  assert.deepEqual(timedOut.json(), { error: "rate_limiter_error", message: "the rate limit service did not answer in time" });
  const proto = await ask(gw.port, { path: "/strict/p", headers: { "x-scenario": "proto" } });
  assert.deepEqual(proto.json(), { error: "rate_limiter_error", message: 'the rate limit service set a header named "__proto__", which is not a valid header name' });
  const huge = await ask(gw.port, { path: "/strict/b", headers: { "x-scenario": "huge-body" } });
  assert.deepEqual(huge.json(), { error: "rate_limiter_error", message: "the rate limit service's body is larger than 65536 bytes" });
  const unknown = await ask(gw.port, { path: "/strict/u", headers: { "x-scenario": "unknown" } });
  assert.equal(unknown.status, 200, "overall code UNKNOWN lets the request through, as a release Envoy reads it");
  const down = await ask(gw.port, { path: "/down" });
  assert.equal(down.status, 500);
  assert.equal(down.json()["message"], "the rate limit service failed the check (gRPC UNAVAILABLE)");
  const outcomes = [...gw.stats.globalRateLimits!.entries()].filter(([, rule]) => rule === "strict" || rule === "lenient").map(([, rule, , outcome, n]) => `${rule} ${outcome} ${n}`);
  assert.ok(outcomes.includes(`strict error_refused ${scenarios.length + 3}`), outcomes.join("; "));
  assert.ok(outcomes.includes(`lenient error_allowed ${scenarios.length}`), outcomes.join("; "));
});

test("headers the gateway frames or owns are never taken from the service; the others are", async () => {
  const reply = await ask(gw.port, { path: "/lenient/o", headers: { "x-scenario": "owned", host: "shop.example" } });
  assert.equal(reply.status, 200);
  assert.equal(reply.headers["x-rls-note"], "kept");
  assert.equal(reply.headers["transfer-encoding"], undefined);
  assert.notEqual(reply.headers["content-length"], "999");
  const seen = app.requests.at(-1)!;
  assert.equal(seen.headers["x-rls-tier"], "gold");
  assert.equal(seen.headers["host"], "shop.example");
  assert.equal(seen.headers["content-length"], undefined);
  assert.equal(seen.headers["transfer-encoding"], undefined);
});

test("Header entries see the request as the ExternalAuth check left it, and the upstream gets both services' headers", async () => {
  const before = rls.seen.length;
  const reply = await ask(gw.port, { path: "/authed/x", headers: { authorization: "Bearer good", "x-user-id": "mallory", "x-scenario": "headers" } });
  assert.equal(reply.status, 200);
  const call = rls.seen[before]!;
  assert.deepEqual(
    call.request.descriptors.map((d) => d.entries.map((e) => [e.key, e.value])),
    [[["rule", "authed"]], [["x-user-id", "mallory,alice"]], [["x-scenario", "headers"]]],
    "the service's appended user id, and no Authorization (the check removed it)",
  );
  const seen = app.requests.at(-1)!;
  assert.equal(seen.headers["x-user-id"], "mallory,alice");
  assert.equal(seen.headers["x-rls-tier"], "gold");
  assert.equal(seen.headers["authorization"], undefined);
  assert.equal(reply.headers["x-auth-served"], "yes", "the ExternalAuth check's response header");
  assert.equal(reply.headers["x-rls-note"], "counted,again", "and the rate limit service's");
});

test("the global limit is asked before the local one: a request the service refuses takes no local token", async () => {
  const refused = await ask(gw.port, { path: "/both/1", headers: { "x-scenario": "body" } });
  assert.equal(refused.status, 429);
  assert.equal(refused.body.toString(), "slow down, please");
  assert.equal((await ask(gw.port, { path: "/both/2" })).status, 200, "the one local token is still there");
  const local = await ask(gw.port, { path: "/both/3" });
  assert.equal(local.status, 429);
  assert.equal(local.json()["error"], "local_rate_limited");
});

test("the rule's request timeout bounds the check when it is shorter than the extension's", async () => {
  const reply = await ask(gw.port, { path: "/short/x", headers: { "x-scenario": "hang" } });
  const receivedAt = Date.now();
  assert.deepEqual(reply.json(), { error: "rate_limiter_error", message: "the rate limit service did not answer in time" });
  const call = callsFor("short").at(-1)!;
  assert.ok(call.deadlineMs <= receivedAt + 100, `the call's deadline is the rule's 100ms, not the extension's 10s (${call.deadlineMs - receivedAt} ms after the answer)`);
});

/** A POST on a kept-alive connection that announces a body it has not sent yet: what the gateway answers, once it closes the connection. */
async function answerToUnsentBody(path: string, scenario: string): Promise<string> {
  const socket = net.connect(gw.port, "127.0.0.1");
  socket.write(`POST ${path} HTTP/1.1\r\nHost: a.example\r\nx-scenario: ${scenario}\r\nContent-Length: 67108864\r\n\r\n` + "x".repeat(1024));
  const chunks: Buffer[] = [];
  socket.on("data", (chunk: Buffer) => chunks.push(chunk));
  socket.on("error", () => {});
  await once(socket, "close");
  return Buffer.concat(chunks).toString("latin1");
}

test("a refusal leaves an unread body unread: the answer says Connection: close and the connection ends", { timeout: 30_000 }, async () => {
  const over = await answerToUnsentBody("/lenient/post", "body");
  assert.match(over, /^HTTP\/1\.1 429 /);
  assert.match(over, /\r\nconnection: close\r\n/i);
  const failed = await answerToUnsentBody("/strict/post", "unavailable");
  assert.match(failed, /^HTTP\/1\.1 500 /);
  assert.match(failed, /\r\nconnection: close\r\n/i);
  assert.equal(app.requests.some((r) => r.url.endsWith("/post")), false);
});

test("a Header entry takes a repeated header's first value, and any header name, __proto__ included", async () => {
  const before = rls.seen.length;
  const socket = net.connect(gw.port, "127.0.0.1");
  socket.write("GET /lenient/raw HTTP/1.1\r\nHost: a.example\r\nX-User: first\r\nx-user: second\r\n__proto__: p\r\nx-scenario: headers\r\nConnection: close\r\n\r\n");
  const chunks: Buffer[] = [];
  socket.on("data", (chunk: Buffer) => chunks.push(chunk));
  await once(socket, "close");
  assert.match(Buffer.concat(chunks).toString("latin1"), /^HTTP\/1\.1 200 /);
  const entries = rls.seen[before]!.request.descriptors.slice(2).map((d) => d.entries.map((e) => [e.key, e.value]));
  assert.deepEqual(entries, [[["X-User", "first"]], [["x-scenario", "headers"]], [["__proto__", "p"]]]);
});

test("concurrent checks each ask about their own request", async () => {
  const paths = Array.from({ length: 20 }, (_, i) => `/lenient/concurrent-${i}`);
  const before = rls.seen.length;
  // The `headers` scenario answers OK without counting, so only what each check asked about matters.
  const replies = await Promise.all(paths.map((path) => ask(gw.port, { path, headers: { "x-scenario": "headers" } })));
  assert.deepEqual(replies.map((r) => r.status), paths.map(() => 200));
  const asked = rls.seen.slice(before).map((c) => c.request.descriptors.find((d) => d.entries[0]!.key === "path")!.entries[0]!.value);
  assert.deepEqual(asked.sort(), [...paths].sort());
  const served = app.requests.slice(-paths.length).map((r) => r.url);
  assert.deepEqual(served.sort(), [...paths].sort());
});

test("a hung check is given up at its deadline, and the service sees the call end", async () => {
  const before = callsFor("strict").length;
  await ask(gw.port, { path: "/strict/c", headers: { "x-scenario": "hang" } });
  const call = callsFor("strict")[before]!;
  assert.ok(call, "the service was asked");
  // grpc-js cancels the call on the server side once its deadline passes.
  for (let i = 0; i < 100 && !call.cancelled; i++) await new Promise((r) => setTimeout(r, 20));
  assert.equal(call.cancelled, true);
});

function upgradeStatus(path: string, headers: Record<string, string> = {}): Promise<number> {
  return new Promise<number>((resolve) => {
    const ws = new WebSocket(`ws://127.0.0.1:${gw.port}${path}`, { headers });
    ws.on("open", () => {
      ws.close();
      resolve(101);
    });
    ws.on("unexpected-response", (_req, res) => {
      resolve(res.statusCode ?? 0);
      res.resume();
    });
    ws.on("error", () => resolve(-1));
  });
}

test("a WebSocket upgrade without a verdict opens with failOpen and is refused 500 without", async () => {
  assert.equal(await upgradeStatus("/lenient/socket", { "x-scenario": "unavailable" }), 101);
  assert.equal(await upgradeStatus("/strict/socket", { "x-scenario": "unavailable" }), 500);
  assert.equal(await upgradeStatus("/lenient/socket", { "x-scenario": "body" }), 429);
});

test("an upgrade is asked about before the local limit, sees the ExternalAuth check's headers, and gets both services' answer headers", async () => {
  const refused = (await upgradeHead(gw.port, "/both-ws/1", { "x-scenario": "body" })).toString("latin1");
  assert.match(refused, /^HTTP\/1\.1 429 /);
  assert.equal(await upgradeStatus("/both-ws/2"), 101, "the one local token is still there");
  const local = await upgradeHead(gw.port, "/both-ws/3");
  assert.match(local.toString("latin1"), /^HTTP\/1\.1 429 /);
  assert.ok(headLines(local).some((line) => /^retry-after: /.test(line)), "the local limit's refusal, which says when a token is back");

  const before = rls.seen.length;
  const answerHeaders = await new Promise<Record<string, string | string[] | undefined>>((resolve, reject) => {
    const ws = new WebSocket(`ws://127.0.0.1:${gw.port}/authed/socket`, { headers: { authorization: "Bearer good", "x-user-id": "mallory", "x-scenario": "headers" } });
    ws.on("upgrade", (res) => resolve(res.headers));
    ws.on("open", () => ws.close());
    ws.on("error", reject);
  });
  assert.deepEqual(
    rls.seen[before]!.request.descriptors.map((d) => d.entries.map((e) => [e.key, e.value])),
    [[["rule", "authed"]], [["x-user-id", "mallory,alice"]], [["x-scenario", "headers"]]],
  );
  assert.equal(answerHeaders["x-auth-served"], "yes");
  assert.equal(answerHeaders["x-rls-note"], "counted,again");

  const raw = await upgradeHead(gw.port, "/authed-ws/x", { authorization: "Bearer good", "x-user-id": "mallory", "x-scenario": "headers" });
  assert.match(raw.toString("latin1"), /^HTTP\/1\.1 101 /);
  const forwarded = upgradeHeads.at(-1)!.toLowerCase();
  assert.match(forwarded, /\r\nx-rls-tier: gold\r\n/, "the rate limit service's request header reaches the upstream");
  assert.match(forwarded, /\r\nx-user-id: mallory,alice\r\n/, "beside the ExternalAuth check's");
  assert.doesNotMatch(forwarded, /\r\nauthorization:/);
});

test("concurrent upgrades each open the tunnel they asked about", async () => {
  const paths = Array.from({ length: 10 }, (_, i) => `/lenient/ws-${i}`);
  const greetings = await Promise.all(
    paths.map(
      (path) =>
        new Promise<string>((resolve, reject) => {
          const ws = new WebSocket(`ws://127.0.0.1:${gw.port}${path}`, { headers: { "x-scenario": "headers" } });
          ws.once("message", (data) => {
            resolve(String(data).split(" ")[1]!);
            ws.close();
          });
          ws.on("error", reject);
        }),
    ),
  );
  assert.deepEqual(greetings, paths, "each upstream greeting names its own path");
});

test("a WebSocket upgrade is limited as any request of the rule", async () => {
  const opened: number[] = [];
  for (let i = 0; i < LIMIT + 1; i++) opened.push(await upgradeStatus("/sockets/echo"));
  assert.deepEqual(opened, [...Array(LIMIT).fill(101), 429]);
});

test("descriptors read the request as the listener's earlyRequestHeaderModifier left it: a header it removed yields none, one it set does", async () => {
  const before = rls.seen.length;
  const reply = await ask(gw.port, { path: "/early", headers: { "x-tier": "premium", "x-edge": "client" } });
  assert.equal(reply.status, 200);
  assert.equal((reply.json()["headers"] as Record<string, string>)["x-tier"], undefined);
  const call = rls.seen[before]!;
  assert.deepEqual(
    call.request.descriptors.map((d) => d.entries.map((e) => [e.key, e.value])),
    [[["rule", "early"]], [["x-edge", "1"]]],
  );
});
