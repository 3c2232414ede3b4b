// kgateway TrafficPolicy `rateLimit.local` end to end, against real upstreams and a real HTTP
// authorization service: a bucket per rule, the 429 and what it carries, shadow and sampled
// limits, refills, what a reload keeps, and where the limit sits among the rule's other
// filters (after a CORS preflight and an ExternalAuth check, before a direct response; upgrades
// too). Each test has rules and buckets of its own.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import net from "node:net";
import { once } from "node:events";
import { type RawUpgradeUpstream, headLines, startRawUpgradeUpstream, upgradeHead } from "../support/raw-upgrade.ts";
import { type HttpService, startHttpService } from "../support/http-service.ts";
import { type TestUpstream, startUpstream } from "../support/upstreams.ts";
import { until } from "../support/until.ts";
import { GATEWAY_YAML, type GatewayUnderTest, ask, backendYaml, compileYaml, ref, routeYaml, startGateway } from "./harness.ts";
import { RecordingTelemetry, responseDetailsOf } from "./recording-telemetry.ts";

const rule = (name: string, prefix: string, backend = "app", filters = ""): string => `    - name: ${name}
      matches: [{path: {type: PathPrefix, value: ${prefix}}}]
${filters}${backend === "" ? "" : `      backendRefs: [${ref(backend)}]\n`}`;

const policy = (name: string, sections: readonly string[], local: string): string => `---
apiVersion: gateway.kgateway.dev/v1alpha1
kind: TrafficPolicy
metadata: {name: ${name}, namespace: default}
spec:
  targetRefs:
${sections.map((s) => `  - {group: gateway.networking.k8s.io, kind: HTTPRoute, name: r, sectionName: ${s}}`).join("\n")}
  rateLimit: {local: ${local}}
`;

const HOUR_BUCKET = (maxTokens: number): string => `{tokenBucket: {maxTokens: ${maxTokens}, fillInterval: 1h}}`;

function config(options: { keptTokens?: number; unrelatedHeader?: boolean } = {}): string {
  const extraFilter = options.unrelatedHeader === true ? "      filters: [{type: RequestHeaderModifier, requestHeaderModifier: {set: [{name: x-edited, value: '1'}]}}]\n" : "";
  return (
    GATEWAY_YAML +
    routeYaml(
      rule("two", "/two") +
        rule("also-two", "/also-two") +
        rule("free", "/free", "app", extraFilter) +
        rule("refill", "/refill") +
        rule("shadow", "/shadow") +
        rule("sampled-out", "/sampled-out") +
        rule("cors", "/cors", "app", "      filters: [{type: CORS, cors: {allowOrigins: ['https://app.example']}}]\n") +
        rule("checked", "/checked", "app", `      filters: [{type: ExternalAuth, externalAuth: {protocol: HTTP, backendRef: ${ref("authz")}, http: {allowedHeaders: [x-deny]}}}]\n`) +
        rule("socket", "/switch", "raw") +
        rule("upload", "/upload") +
        rule("direct", "/direct", "", "      filters: [{type: ExtensionRef, extensionRef: {group: gateway.kgateway.dev, kind: DirectResponse, name: teapot}}]\n") +
        rule("kept", "/kept") +
        rule("resized", "/resized"),
    ) +
    policy("pair", ["two", "also-two"], HOUR_BUCKET(2)) +
    policy("refill", ["refill"], "{tokenBucket: {maxTokens: 1, tokensPerFill: 1, fillInterval: 2s}}") +
    policy("shadow", ["shadow"], `{tokenBucket: {maxTokens: 1, fillInterval: 1h}, percentEnforced: 0}`) +
    policy("sampled-out", ["sampled-out"], `{tokenBucket: {maxTokens: 1, fillInterval: 1h}, percentEnabled: 0}`) +
    policy("one", ["cors", "checked", "socket", "upload", "direct", "kept"], HOUR_BUCKET(1)) +
    policy("resized", ["resized"], HOUR_BUCKET(options.keptTokens ?? 1)) +
    `---
apiVersion: gateway.kgateway.dev/v1alpha1
kind: DirectResponse
metadata: {name: teapot, namespace: default}
spec: {status: 418, body: short and stout}
` +
    backendYaml("app", app.port) +
    backendYaml("authz", authz.port) +
    backendYaml("raw", raw.port)
  );
}

let app: TestUpstream;
let raw: RawUpgradeUpstream;
/** Allows every request but those carrying `x-deny`; counts the checks. */
let authz: HttpService;
let authzChecks = 0;
let gw: GatewayUnderTest;
const recorder = new RecordingTelemetry();

before(async () => {
  app = await startUpstream("app");
  raw = await startRawUpgradeUpstream();
  authz = await startHttpService((req, res) => {
    authzChecks++;
    req.resume();
    res.writeHead(req.headers["x-deny"] === undefined ? 200 : 403).end();
  });
  gw = await startGateway(config(), recorder);
});

after(async () => {
  await gw.close();
  await app.close();
  await raw.close();
  await authz.close();
});

const reached = (prefix: string): number => app.requests.filter((r) => r.url.startsWith(prefix)).length;

test("each rule has its own bucket: over it, 429 local_rate_limited with Retry-After, and the upstream never sees the request", async () => {
  assert.equal((await ask(gw.port, { path: "/two/1" })).status, 200);
  assert.equal((await ask(gw.port, { path: "/two/2" })).status, 200);
  const refused = await ask(gw.port, { path: "/two/3" });
  assert.equal(refused.status, 429);
  assert.equal(refused.headers["content-type"], "application/json");
  const retryAfter = Number(refused.headers["retry-after"]);
  assert.ok(Number.isInteger(retryAfter) && retryAfter > 3500 && retryAfter <= 3600, `Retry-After ${refused.headers["retry-after"]}: tokensPerFill 1 an hour, so the next token in about an hour`);
  assert.equal(refused.headers["x-envoy-ratelimited"], undefined, "Envoy's local limit does not set it (its global one does, and an Envoy in front retries on it)");
  assert.equal(refused.json()["error"], "local_rate_limited");
  const head = await ask(gw.port, { method: "HEAD", path: "/two/4" });
  assert.equal(head.status, 429);
  assert.equal(head.body.length, 0);
  assert.equal(reached("/two/"), 2);

  // The same policy covers the next rule, which has a bucket of its own; a rule outside it has none.
  assert.equal((await ask(gw.port, { path: "/also-two/1" })).status, 200);
  for (let i = 0; i < 5; i++) assert.equal((await ask(gw.port, { path: `/free/${i}` })).status, 200);

  const exchange = await recorder.endOf("/two/3");
  assert.equal(exchange.responseFlags, "RL");
  assert.equal(responseDetailsOf(exchange), "local_rate_limited");
  assert.equal(exchange.errorType, undefined, "a 429 is the client's error, as any 4xx on the server side");
  assert.deepEqual([...gw.stats.rateLimits!.entries()].filter(([, rule]) => rule === "two"), [["default/r", "two", "default/pair", true, 2]]);
});

test("a drained bucket lets a request through once a whole token has refilled", async () => {
  // One token every 2 s: the arithmetic is token-bucket.test.ts's, on a set clock; this is the
  // end to end check, with the two requests far closer together than 2 s.
  assert.equal((await ask(gw.port, { path: "/refill/1" })).status, 200);
  const second = await ask(gw.port, { path: "/refill/2" });
  assert.equal(second.status, 429);
  assert.ok(["1", "2"].includes(String(second.headers["retry-after"])), `Retry-After ${second.headers["retry-after"]}`);
  await new Promise((resolve) => setTimeout(resolve, 2100));
  assert.equal((await ask(gw.port, { path: "/refill/3" })).status, 200);
  assert.equal(reached("/refill/"), 2);
});

test("percentEnforced 0 lets over-limit requests through and counts them as not enforced; percentEnabled 0 never consults the bucket", async () => {
  for (let i = 0; i < 3; i++) assert.equal((await ask(gw.port, { path: `/shadow/${i}` })).status, 200);
  for (let i = 0; i < 3; i++) assert.equal((await ask(gw.port, { path: `/sampled-out/${i}` })).status, 200);
  assert.equal(reached("/shadow/"), 3);
  const counts = [...gw.stats.rateLimits!.entries()];
  assert.deepEqual(counts.filter(([, rule]) => rule === "shadow"), [["default/r", "shadow", "default/shadow", false, 2]]);
  assert.deepEqual(counts.filter(([, rule]) => rule === "sampled-out"), []);
  for (const path of ["/shadow/2", "/sampled-out/2"]) assert.equal((await recorder.endOf(path)).responseFlags, "", `${path} carries no RL flag`);
});

test("a CORS preflight is answered before the limit and the refusal carries the rule's CORS headers", async () => {
  assert.equal((await ask(gw.port, { path: "/cors/1", headers: { origin: "https://app.example" } })).status, 200);
  const refused = await ask(gw.port, { path: "/cors/2", headers: { origin: "https://app.example" } });
  assert.equal(refused.status, 429);
  assert.equal(refused.headers["access-control-allow-origin"], "https://app.example");
  const preflight = await ask(gw.port, { method: "OPTIONS", path: "/cors/3", headers: { origin: "https://app.example", "access-control-request-method": "GET" } });
  assert.equal(preflight.status, 204, "the preflight took no token and was not refused");
});

test("the ExternalAuth check runs first: a request it denies takes no token; one it allows can still be refused", async () => {
  assert.equal((await ask(gw.port, { path: "/checked/denied", headers: { "x-deny": "1" } })).status, 403);
  assert.equal((await ask(gw.port, { path: "/checked/1" })).status, 200, "the denial left the one token");
  assert.equal((await ask(gw.port, { path: "/checked/2" })).status, 429);
  assert.equal(authzChecks, 3, "each request was checked, the refused one too");
  assert.equal(reached("/checked/"), 1);
});

test("a direct response is limited too; an upgrade over the limit gets a raw 429", async () => {
  assert.equal((await ask(gw.port, { path: "/direct/1" })).status, 418);
  assert.equal((await ask(gw.port, { path: "/direct/2" })).status, 429);

  assert.match(headLines(await upgradeHead(gw.port, "/switch")).join("\n"), /^upgrade: websocket$/m);
  const head = await upgradeHead(gw.port, "/switch");
  assert.match(head.toString("latin1"), /^HTTP\/1\.1 429 Too Many Requests\r\n/);
  assert.ok(headLines(head).some((line) => /^retry-after: \d+$/.test(line)), headLines(head).join("\n"));
  await until(() => recorder.ended.filter((e) => e.path === "/switch").length === 2);
  assert.deepEqual(
    recorder.ended.filter((e) => e.path === "/switch").map((e) => `${e.status} ${e.responseFlags}`).sort(),
    ["101 ", "429 RL"],
  );
});

test("a refused request's unread body is not read: the 429 says Connection: close and the connection ends", { timeout: 30_000 }, async () => {
  assert.equal((await ask(gw.port, { path: "/upload/1" })).status, 200);
  const socket = net.connect(gw.port, "127.0.0.1");
  socket.write("POST /upload/2 HTTP/1.1\r\nHost: a.example\r\nContent-Length: 67108864\r\n\r\n" + "x".repeat(1024));
  const chunks: Buffer[] = [];
  socket.on("data", (chunk: Buffer) => chunks.push(chunk));
  socket.on("error", () => {});
  await once(socket, "close");
  const answer = Buffer.concat(chunks).toString("latin1");
  assert.match(answer, /^HTTP\/1\.1 429 /);
  assert.match(answer, /\r\nconnection: close\r\n/i);
  assert.equal(reached("/upload/2"), 0);
});

test("a reload keeps a bucket whose key and sizes did not change, starts a resized one full, and a restart starts every one full", async () => {
  assert.equal((await ask(gw.port, { path: "/kept/1" })).status, 200);
  assert.equal((await ask(gw.port, { path: "/kept/2" })).status, 429);
  assert.equal((await ask(gw.port, { path: "/resized/1" })).status, 200);
  assert.equal((await ask(gw.port, { path: "/resized/2" })).status, 429);
  gw.plan = compileYaml(config({ unrelatedHeader: true }), 2, gw.plan);
  assert.equal((await ask(gw.port, { path: "/free/edited" })).status, 200);
  assert.equal(app.requests.find((r) => r.url === "/free/edited")?.headers["x-edited"], "1", "the reload took effect");
  assert.equal((await ask(gw.port, { path: "/kept/3" })).status, 429, "an unrelated edit refills nothing");
  gw.plan = compileYaml(config({ unrelatedHeader: true, keptTokens: 2 }), 3, gw.plan);
  assert.equal((await ask(gw.port, { path: "/resized/3" })).status, 200, "new sizes, a new full bucket");
  assert.equal((await ask(gw.port, { path: "/kept/4" })).status, 429, "the other buckets are kept");
  // Without the serving plan handed over (a restart), every bucket starts full.
  gw.plan = compileYaml(config({ unrelatedHeader: true, keptTokens: 2 }), 4);
  assert.equal((await ask(gw.port, { path: "/kept/5" })).status, 200);
});
