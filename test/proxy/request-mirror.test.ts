// HTTPRoute RequestMirror end to end, against real upstreams: the shapes of the Gateway API
// conformance tests (HTTPRouteRequestMirror, ...MultipleMirrors, ...PercentageMirror: Service
// refs with port 8080, which the Backends of the same name serve here), then what a copy must
// never do to the original: wait for a connection, hold its body back, or change its answer.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import http from "node:http";
import net from "node:net";
import type { Exchange, UpstreamAttempt } from "../../src/proxy/exchange.ts";
import { MIRROR_BODY_LIMIT_BYTES, shadowHost } from "../../src/proxy/mirror.ts";
import { noopTelemetry, type OutgoingHeaders, type RequestTelemetry } from "../../src/telemetry/hooks.ts";
import { closedPort } from "../support/otlp-receiver.ts";
import { type TestUpstream, startUpstream } from "../support/upstreams.ts";
import { until } from "../support/until.ts";
import { CONFORMANCE_GATEWAY, GATEWAY_YAML, type GatewayUnderTest, ask, backendYaml, conformanceBackend, ref, routeYaml, startGateway } from "./harness.ts";

const NS = "gateway-conformance-infra";

/** What the proxy told telemetry about each mirrored copy. */
interface CopySeen {
  readonly path: string;
  readonly backend: string;
  readonly attempt: UpstreamAttempt;
  readonly headers: OutgoingHeaders;
  ended: boolean;
}

class MirrorRecorder {
  readonly copies: CopySeen[] = [];
  readonly attempts: { path: string; attempt: UpstreamAttempt; headers: OutgoingHeaders }[] = [];
  readonly ended: Exchange[] = [];
  readonly telemetry: RequestTelemetry = {
    ...noopTelemetry,
    onAttemptStart: (exchange, attempt, headers) => {
      // As the tracer does: each upstream request gets its own parent id.
      headers["traceparent"] = `00-0af7651916cd43dd8448eb211c80319c-${String(this.copies.length + this.attempts.length + 1).padStart(16, "0")}-01`;
      if (attempt.mirror) this.copies.push({ path: exchange.path, backend: attempt.backend.displayName, attempt, headers, ended: false });
      else this.attempts.push({ path: exchange.path, attempt, headers });
    },
    onAttemptEnd: (_exchange, attempt) => {
      const copy = this.copies.find((c) => c.attempt === attempt);
      if (copy !== undefined) copy.ended = true;
    },
    onRequestEnd: (exchange) => void this.ended.push(exchange),
  };

  async endedCopies(path: string, count: number): Promise<CopySeen[]> {
    await until(() => this.copies.filter((c) => c.path === path && c.ended).length >= count);
    return this.copies.filter((c) => c.path === path);
  }
}

let v1: TestUpstream;
let v2: TestUpstream;
let v3: TestUpstream;
/** Accepts connections and reads nothing: a mirror backend that never keeps up. */
let stuck: net.Server;
let stuckPort: number;
const stuckSockets = new Set<net.Socket>();
let gw: GatewayUnderTest;
const recorder = new MirrorRecorder();

const mirrorTo = (name: string, share = ""): string => `
    - type: RequestMirror
      requestMirror:
        backendRef: {name: ${name}, namespace: ${NS}, port: 8080}${share}`;

const headerModifier = `
    - type: RequestHeaderModifier
      requestHeaderModifier:
        set: [{name: X-Header-Set, value: set-overwrites-values}]
        add: [{name: X-Header-Add, value: header-val-1}, {name: X-Header-Add-Append, value: header-val-2}]
        remove: [X-Header-Remove]`;

const rule = (prefix: string, filters: string, extra = ""): string => `
  - matches: [{path: {type: PathPrefix, value: ${prefix}}}]
    filters:${filters}
    backendRefs: [{name: infra-backend-v1, namespace: ${NS}, port: 8080}]${extra}`;

function manifests(refusedPort: number): string {
  return `${CONFORMANCE_GATEWAY}${conformanceBackend("infra-backend-v1", v1.port)}${conformanceBackend("infra-backend-v2", v2.port)}${conformanceBackend("infra-backend-v3", v3.port)}${conformanceBackend(
    "stuck",
    stuckPort,
    "  connectionPool: {maxConnections: 1}\n",
  )}${conformanceBackend("refused", refusedPort)}---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: request-mirror, namespace: ${NS}}
spec:
  parentRefs: [{name: same-namespace}]
  rules:${rule("/mirror", mirrorTo("infra-backend-v2"))}${rule("/mirror-and-modify-headers", headerModifier + mirrorTo("infra-backend-v2"))}${rule(
    "/multi-mirror",
    mirrorTo("infra-backend-v2") + mirrorTo("infra-backend-v3"),
  )}${rule("/multi-mirror-and-modify-request-headers", headerModifier + mirrorTo("infra-backend-v2") + mirrorTo("infra-backend-v3"))}${rule(
    "/percent-mirror",
    mirrorTo("infra-backend-v2", "\n        percent: 20"),
  )}${rule("/percent-mirror-fraction", mirrorTo("infra-backend-v2", "\n        fraction: {numerator: 25, denominator: 50}"))}${rule(
    "/never-mirror",
    mirrorTo("infra-backend-v2", "\n        percent: 0"),
  )}${rule("/to-stuck", mirrorTo("stuck"), "\n    timeouts: {request: 500ms}")}${rule("/overflow", mirrorTo("stuck"))}${rule("/to-refused", mirrorTo("refused"))}${rule(
    "/flaky",
    mirrorTo("infra-backend-v2"),
  )}
  - matches: [{path: {type: PathPrefix, value: /per-backend}}]
    backendRefs:
    - name: infra-backend-v1
      namespace: ${NS}
      port: 8080
      filters:
      - type: RequestMirror
        requestMirror: {backendRef: {name: infra-backend-v3, namespace: ${NS}, port: 8080}}
`;
}

before(async () => {
  [v1, v2, v3] = await Promise.all([startUpstream("v1"), startUpstream("v2"), startUpstream("v3")]);
  stuck = net.createServer((socket) => {
    stuckSockets.add(socket);
    socket.on("close", () => stuckSockets.delete(socket));
    socket.on("error", () => {});
    socket.pause();
  });
  await new Promise<void>((resolve) => stuck.listen(0, "127.0.0.1", resolve));
  stuckPort = (stuck.address() as net.AddressInfo).port;
  gw = await startGateway(manifests(await closedPort()), recorder.telemetry);
});

after(async () => {
  await gw?.close();
  for (const s of stuckSockets) s.destroy();
  await new Promise<void>((resolve) => stuck?.close(() => resolve()));
  await Promise.all([v1?.close(), v2?.close(), v3?.close()]);
});

/** The HTTPRoute `r` on the test Gateway: every request to `backend`, a copy to `mirror` (both YAML flow maps); `extra` adds rule fields. */
const mirrorRoute = (mirror: string, backend: string, extra = ""): string =>
  routeYaml(`    - filters:
      - type: RequestMirror
        requestMirror: {backendRef: ${mirror}}
      backendRefs: [${backend}]
${extra}`);

function seenBy(up: TestUpstream, path: string) {
  return up.requests.filter((r) => r.url === path);
}

test("HTTPRouteRequestMirror: the request goes to v1, a copy to v2 with the same path and a -shadow host, and only v1 answers", async () => {
  const path = "/mirror?X-Request-Id=1";
  const reply = await ask(gw.port, { path, headers: { host: "example.com" } });
  assert.equal(reply.status, 200);
  assert.equal(reply.headers["x-upstream"], "v1");
  const copy = await v2.waitFor(path);
  assert.equal(copy.method, "GET");
  assert.equal(copy.headers["host"], "example.com-shadow");
  assert.equal(seenBy(v1, path).length, 1);
  assert.equal(seenBy(v1, path)[0]!.headers["host"], "example.com");
  const copies = await recorder.endedCopies("/mirror", 1);
  assert.deepEqual(
    copies.map((c) => c.backend),
    [`${NS}/infra-backend-v2`],
    "one copy, to v2 only",
  );
});

test("HTTPRouteRequestMirror: the copy carries the request as modified by the rule's RequestHeaderModifier", async () => {
  const path = "/mirror-and-modify-headers?X-Request-Id=2";
  const reply = await ask(gw.port, { path, headers: { host: "example.com:8080", "x-header-remove": "remove-val", "x-header-add-append": "append-val-1" } });
  assert.equal(reply.status, 200);
  for (const seen of [seenBy(v1, path)[0]!, await v2.waitFor(path)]) {
    assert.equal(seen.headers["x-header-add"], "header-val-1");
    assert.equal(seen.headers["x-header-add-append"], "append-val-1,header-val-2");
    assert.equal(seen.headers["x-header-set"], "set-overwrites-values");
    assert.equal(seen.headers["x-header-remove"], undefined);
  }
  assert.equal((await v2.waitFor(path)).headers["host"], "example.com-shadow:8080", "-shadow goes before the port, as Envoy writes it");
});

test("HTTPRouteRequestMultipleMirrors: v2 and v3 each get one copy, with or without a header modifier", async () => {
  for (const path of ["/multi-mirror?X-Request-Id=3", "/multi-mirror-and-modify-request-headers?X-Request-Id=4"]) {
    const reply = await ask(gw.port, { path, headers: { "x-header-remove": "gone" } });
    assert.equal(reply.headers["x-upstream"], "v1");
    await v2.waitFor(path);
    await v3.waitFor(path);
    await recorder.endedCopies(path.split("?")[0]!, 2);
    assert.equal(seenBy(v2, path).length, 1);
    assert.equal(seenBy(v3, path).length, 1);
  }
  assert.equal(seenBy(v3, "/multi-mirror-and-modify-request-headers?X-Request-Id=4")[0]!.headers["x-header-remove"], undefined);
});

test("HTTPRoutePercentageMirror: percent 20 and fraction 25/50 mirror about that share; percent 0 mirrors nothing", async () => {
  const n = 400;
  for (const [prefix, share] of [
    ["/percent-mirror", 0.2],
    ["/percent-mirror-fraction", 0.5],
    ["/never-mirror", 0],
  ] as const) {
    for (let i = 0; i < n; i++) assert.equal((await ask(gw.port, { path: `${prefix}/${i}` })).status, 200);
    await until(() => recorder.copies.filter((c) => c.path.startsWith(`${prefix}/`)).every((c) => c.ended));
    const mirrored = v2.requests.filter((r) => r.url.startsWith(`${prefix}/`)).length;
    // Binomial(400, p): five standard deviations either side, so only a broken share fails.
    const spread = 5 * Math.sqrt(n * share * (1 - share));
    assert.ok(Math.abs(mirrored - n * share) <= spread, `${prefix}: ${mirrored} of ${n} mirrored, expected ${n * share} ± ${spread.toFixed(1)}`);
    assert.equal(v1.requests.filter((r) => r.url.startsWith(`${prefix}/`)).length, n);
  }
});

test("a RequestMirror on a backendRef mirrors the requests sent to that backendRef", async () => {
  const reply = await ask(gw.port, { path: "/per-backend/a" });
  assert.equal(reply.headers["x-upstream"], "v1");
  await v3.waitFor("/per-backend/a");
  assert.equal(seenBy(v2, "/per-backend/a").length, 0);
});

test("a request body reaches the mirror whole, with the Content-Length the original sent", async () => {
  const body = Buffer.alloc(300 * 1024, "m");
  const reply = await ask(gw.port, { method: "POST", path: "/mirror/sink", body });
  assert.equal(reply.json()["bodyBytes"], body.length);
  assert.equal(reply.json()["upstream"], "v1");
  const [copy] = await recorder.endedCopies("/mirror/sink", 1);
  assert.equal(copy!.attempt.status, 200);
  assert.equal(copy!.attempt.errorType, undefined);
  assert.equal(seenBy(v2, "/mirror/sink")[0]!.bodyBytes, body.length);
  assert.equal(seenBy(v2, "/mirror/sink")[0]!.headers["content-length"], String(body.length));
});

test("a chunked request body reaches the mirror whole, framed chunked or by its exact length", async () => {
  const status = await new Promise<number>((resolve, reject) => {
    const req = http.request({ host: "127.0.0.1", port: gw.port, method: "PUT", path: "/mirror/chunked", agent: false }, (res) => {
      res.resume();
      res.on("end", () => resolve(res.statusCode ?? 0));
    });
    req.on("error", reject);
    for (let i = 0; i < 5; i++) req.write(Buffer.alloc(10_000, i));
    req.end();
  });
  assert.equal(status, 200);
  await recorder.endedCopies("/mirror/chunked", 1);
  const copy = seenBy(v2, "/mirror/chunked")[0]!;
  // Framing is per hop (RFC 9112 §6): undici frames a body already whole when the copy's
  // connection is ready by its length, one still arriving as chunked.
  assert.ok(
    (copy.headers["transfer-encoding"] === "chunked" && copy.headers["content-length"] === undefined) ||
      (copy.headers["content-length"] === "50000" && copy.headers["transfer-encoding"] === undefined),
    JSON.stringify(copy.headers),
  );
  assert.equal(copy.bodyBytes, 50_000);
});

test("the mirror's answer is ignored: a copy answered 500 leaves the client the original's 200", async () => {
  // /flaky/KEY/1/500 answers 500 once per upstream, then 200: v1 has had its 500 already.
  const path = "/flaky/ignored/1/500";
  assert.equal((await ask(v1.port, { path })).status, 500);
  const reply = await ask(gw.port, { path });
  assert.equal(reply.status, 200);
  assert.equal(reply.headers["x-upstream"], "v1");
  const [copy] = await recorder.endedCopies(path, 1);
  assert.equal(copy!.attempt.status, 500);
  const exchange = recorder.ended.find((e) => e.path === path)!;
  assert.equal(exchange.status, 200);
  assert.equal(exchange.attempts.length, 1, "a copy is not an attempt of the request");
  assert.equal(exchange.attempts[0]!.backend.displayName, `${NS}/infra-backend-v1`);
});

test("a refused mirror backend costs the original nothing; the copy ends as connection_refused", async () => {
  const reply = await ask(gw.port, { path: "/to-refused/x" });
  assert.equal(reply.status, 200);
  assert.equal(reply.headers["x-upstream"], "v1");
  const [copy] = await recorder.endedCopies("/to-refused/x", 1);
  assert.equal(copy!.attempt.errorType, "connection_refused");
});

test("each copy gets its own propagation headers, never the original attempt's", async () => {
  await ask(gw.port, { path: "/mirror/trace" });
  const [copy] = await recorder.endedCopies("/mirror/trace", 1);
  const original = recorder.attempts.find((a) => a.path === "/mirror/trace")!;
  const upstreamCopy = seenBy(v2, "/mirror/trace")[0]!;
  assert.equal(upstreamCopy.headers["traceparent"], copy!.headers["traceparent"]);
  assert.notEqual(upstreamCopy.headers["traceparent"], original.headers["traceparent"]);
  assert.equal(seenBy(v1, "/mirror/trace")[0]!.headers["traceparent"], original.headers["traceparent"]);
});

test("a copy never waits for a connection: with the mirror backend's one connection held, the next copy is dropped and counted", async () => {
  const dropsBefore = dropped("no_free_connection");
  // The first copy takes the stuck backend's only connection and holds it until its timeout.
  const first = await ask(gw.port, { path: "/to-stuck/1" });
  assert.equal(first.status, 200);
  const second = await ask(gw.port, { path: "/to-stuck/2" });
  assert.equal(second.status, 200);
  assert.equal(second.headers["x-upstream"], "v1");
  assert.equal(dropped("no_free_connection"), dropsBefore + 1);
  assert.equal(recorder.copies.filter((c) => c.path === "/to-stuck/2").length, 0, "a dropped copy starts no span");
  // The held copy ends at the rule's 500 ms request timeout, which frees the connection.
  const [held] = await recorder.endedCopies("/to-stuck/1", 1);
  assert.equal(held!.attempt.errorType, "timeout");
});

test("a mirror backend that falls more than 1 MiB behind loses its copy; the original's body goes through whole", async () => {
  await until(() => gw.pools.entry(`http://127.0.0.1:${stuckPort}`, 1).active === 0);
  const dropsBefore = dropped("body_overflow");
  // More than the loopback socket buffers can take from a peer that reads nothing.
  const body = Buffer.alloc(MIRROR_BODY_LIMIT_BYTES * 24, "b");
  const reply = await ask(gw.port, { method: "POST", path: "/overflow/sink", body });
  assert.equal(reply.status, 200);
  assert.equal(reply.json()["bodyBytes"], body.length);
  const [copy] = await recorder.endedCopies("/overflow/sink", 1);
  assert.equal(copy!.attempt.errorType, "mirror_overflow");
  assert.equal(dropped("body_overflow"), dropsBefore + 1);
});

test("a client that goes away mid-body takes the copy with it: request_incomplete", async () => {
  const socket = net.connect(gw.port, "127.0.0.1");
  await new Promise((resolve) => socket.once("connect", resolve));
  socket.write("POST /mirror/sink-abort HTTP/1.1\r\nhost: a\r\ncontent-length: 100000\r\n\r\n" + "x".repeat(1000));
  await v2.waitFor("/mirror/sink-abort");
  socket.destroy();
  const [copy] = await recorder.endedCopies("/mirror/sink-abort", 1);
  assert.equal(copy!.attempt.errorType, "request_incomplete");
  await v2.waitForAbort("/mirror/sink-abort");
});

function dropped(reason: string): number {
  let total = 0;
  for (const [, r, n] of gw.stats.mirrorDrops!.entries()) if (r === reason) total += n;
  return total;
}

test("a copy to the original's own pool never goes before it: with one connection, the original takes it and the copy is dropped", async () => {
  const recorder = new MirrorRecorder();
  const up = await startUpstream("shared");
  const own = await startGateway(
    `${GATEWAY_YAML}${backendYaml("app", up.port)}  connectionPool: {maxConnections: 1}\n${mirrorRoute(ref("app"), ref("app"))}`,
    recorder.telemetry,
  );
  try {
    const body = Buffer.alloc(100_000, "p");
    const reply = await ask(own.port, { method: "POST", path: "/sink", body });
    assert.equal(reply.status, 200);
    assert.equal(reply.json()["bodyBytes"], body.length);
    assert.equal(up.requests.length, 1, "the original only: its copy found no free connection");
    assert.deepEqual(recorder.copies, [], "no copy started: it did not take the connection first and give it back");
    assert.deepEqual([...own.stats.mirrorDrops!.entries()], [["default/app", "no_free_connection", 1]]);
  } finally {
    await own.close();
    await up.close();
  }
});

test("copies leave the originals' round robin alone: two endpoints still take turns", async () => {
  const [a, b] = await Promise.all([startUpstream("a"), startUpstream("b")]);
  const own = await startGateway(
    `${GATEWAY_YAML}${backendYaml("pair", a.port, b.port)}${mirrorRoute(ref("pair"), ref("pair"))}`,
  );
  try {
    const answeredBy: string[] = [];
    for (let i = 0; i < 20; i++) answeredBy.push(String((await ask(own.port, { path: `/turn/${i}` })).headers["x-upstream"]));
    assert.deepEqual(
      answeredBy.filter((_, i) => i % 2 === 0).every((u) => u === answeredBy[0]) && answeredBy.filter((_, i) => i % 2 === 1).every((u) => u !== answeredBy[0]),
      true,
      `originals alternate: ${answeredBy.join(" ")}`,
    );
    await until(() => a.requests.length + b.requests.length === 40);
  } finally {
    await own.close();
    await Promise.all([a.close(), b.close()]);
  }
});

test("closing the pools (the drain) cuts copies in flight: nobody waits for their answers", async () => {
  const own = new MirrorRecorder();
  const up = await startUpstream("app");
  const gateway = await startGateway(
    `${GATEWAY_YAML}${backendYaml("app", up.port)}${backendYaml("stuck", stuckPort)}${mirrorRoute(ref("stuck"), ref("app"))}`,
    own.telemetry,
  );
  try {
    assert.equal((await ask(gateway.port, { path: "/draining" })).status, 200);
    assert.equal(own.copies.length, 1);
    assert.equal(own.copies[0]!.ended, false, "the stuck backend holds the copy");
    await gateway.pools.close();
    const [copy] = await own.endedCopies("/draining", 1);
    assert.equal(copy!.attempt.errorType, "gateway_shutdown");
    assert.equal(gateway.pools.detached.size, 0);
  } finally {
    await gateway.close();
    await up.close();
  }
});

test("a retry that must queue where its own copy holds the only connection takes it from the copy", async () => {
  const own = new MirrorRecorder();
  const refused = await closedPort();
  const up = await startUpstream("up");
  // `app` tries the refused endpoint first; `shadow` names the other endpoint with the same
  // limit, so copy and retry share one pool of one connection.
  const gateway = await startGateway(
    `${GATEWAY_YAML}${backendYaml("app", refused, up.port)}  connectionPool: {maxConnections: 1}\n${backendYaml("shadow", up.port)}  connectionPool: {maxConnections: 1}\n${mirrorRoute(ref("shadow"), ref("app"), `      retry: {attempts: 2, backoff: 5ms}\n      timeouts: {request: 10s}\n`)}`,
    own.telemetry,
  );
  try {
    const body = Buffer.alloc(1000, "r");
    const reply = await ask(gateway.port, { method: "PUT", path: "/sink", body });
    assert.equal(reply.status, 200);
    assert.equal(reply.json()["bodyBytes"], body.length);
    const [copy] = await own.endedCopies("/sink", 1);
    assert.equal(copy!.attempt.errorType, "mirror_yielded");
    assert.deepEqual([...gateway.stats.mirrorDrops!.entries()], [["default/shadow", "no_free_connection", 1]]);
  } finally {
    await gateway.close();
    await up.close();
  }
});

test("a request the gateway refuses itself (503 upstream_overflow) is not mirrored", async () => {
  const own = new MirrorRecorder();
  const up = await startUpstream("app");
  const gateway = await startGateway(
    `${GATEWAY_YAML}${backendYaml("app", up.port)}  connectionPool: {maxConnections: 1, maxPendingRequests: 0}\n${conformanceBackend("infra-backend-v2", v2.port)}${mirrorRoute(`{name: infra-backend-v2, namespace: ${NS}, port: 8080}`, ref("app"))}---
apiVersion: gateway.networking.k8s.io/v1beta1
kind: ReferenceGrant
metadata: {name: mirror, namespace: ${NS}}
spec:
  from: [{group: gateway.networking.k8s.io, kind: HTTPRoute, namespace: default}]
  to: [{group: "", kind: Service}]
`,
    own.telemetry,
  );
  try {
    // /sse holds the only connection until released.
    const held = ask(gateway.port, { path: "/sse" });
    await up.waitFor("/sse");
    const refusedReply = await ask(gateway.port, { path: "/overflowing" });
    assert.equal(refusedReply.status, 503);
    assert.equal(refusedReply.json()["error"], "upstream_overflow");
    up.releaseSse();
    assert.equal((await held).status, 200);
    // The copy's /sse at v2 holds too, until released.
    await v2.waitFor("/sse");
    v2.releaseSse();
    await own.endedCopies("/sse", 1);
    assert.deepEqual(
      own.copies.map((c) => c.path),
      ["/sse"],
      "only the answered request was mirrored",
    );
  } finally {
    await gateway.close();
    await up.close();
  }
});

test("a copy goes to any endpoint of the mirror Backend with a free connection: one held endpoint drops nothing", async () => {
  const own = new MirrorRecorder();
  const up = await startUpstream("app");
  const free = await startUpstream("free");
  const gateway = await startGateway(
    `${GATEWAY_YAML}${backendYaml("app", up.port)}${backendYaml("either", stuckPort, free.port)}  connectionPool: {maxConnections: 1}\n${mirrorRoute(ref("either"), ref("app"))}`,
    own.telemetry,
  );
  try {
    // Until a copy lands on the stuck endpoint, which then holds its only connection.
    for (let i = 0; !own.copies.some((c) => c.attempt.endpoint.port === stuckPort); i++) {
      assert.ok(i < 100, "a random pick never chose the stuck endpoint");
      assert.equal((await ask(gateway.port, { path: `/either/${i}` })).status, 200);
      await until(() => own.copies.filter((c) => !c.ended).every((c) => c.attempt.endpoint.port === stuckPort));
    }
    const before = free.requests.length;
    for (let i = 0; i < 20; i++) assert.equal((await ask(gateway.port, { path: `/either/then-${i}` })).status, 200);
    await until(() => free.requests.length === before + 20);
    assert.deepEqual([...gateway.stats.mirrorDrops!.entries()], [], "no copy dropped while the other endpoint was free");
  } finally {
    await gateway.close();
    await Promise.all([up.close(), free.close()]);
  }
});

test("-shadow goes after the host name and before any port, IPv6 literals included", () => {
  assert.deepEqual(
    ["api.example.com", "api.example.com:8080", "10.0.0.1:80", "[::1]", "[::1]:8080", "::1"].map(shadowHost),
    ["api.example.com-shadow", "api.example.com-shadow:8080", "10.0.0.1-shadow:80", "[::1]-shadow", "[::1]-shadow:8080", "::1-shadow"],
  );
});
