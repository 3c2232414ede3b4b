// kgateway TrafficPolicy `rateLimit.local` end to end, against real upstreams and a real HTTP
// authorization service: a bucket per rule, Envoy's 429 with `x-envoy-ratelimited`, shadow
// and sampled limits, refills, what a reload keeps, and where the limit sits among the rule's
// other filters (after a CORS preflight, before ExternalAuth; upgrades too).
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import http from "node:http";
import type { AddressInfo } from "node:net";
import { once } from "node:events";
import { RequestFacts } from "../../src/telemetry/logs/facts.ts";
import { responseCodeDetails } from "../../src/telemetry/logs/envoy-render.ts";
import { forwardedViewOf } from "../../src/telemetry/logs/logged-request-headers.ts";
import { type RawUpgradeUpstream, headLines, startRawUpgradeUpstream, upgradeHead } from "../support/raw-upgrade.ts";
import { type TestUpstream, startUpstream } from "../support/upstreams.ts";
import { until } from "../support/until.ts";
import { GATEWAY_YAML, type GatewayUnderTest, ask, backendYaml, compileYaml, ref, routeYaml, startGateway } from "./harness.ts";
import { RecordingTelemetry } from "./recording-telemetry.ts";

const rule = (name: string, prefix: string, backend = "app", filters = ""): string => `    - name: ${name}
      matches: [{path: {type: PathPrefix, value: ${prefix}}}]
${filters}      backendRefs: [${ref(backend)}]
`;

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

function config(options: { twoTokens?: number; unrelatedHeader?: boolean } = {}): string {
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
        rule("checked", "/checked", "app", `      filters: [{type: ExternalAuth, externalAuth: {protocol: HTTP, backendRef: ${ref("authz")}, http: {}}}]\n`) +
        rule("socket", "/switch", "raw"),
    ) +
    policy("pair", ["two", "also-two"], HOUR_BUCKET(options.twoTokens ?? 2)) +
    policy("refill", ["refill"], "{tokenBucket: {maxTokens: 1, tokensPerFill: 1, fillInterval: 1s}}") +
    policy("shadow", ["shadow"], `{tokenBucket: {maxTokens: 1, fillInterval: 1h}, percentEnforced: 0}`) +
    policy("sampled-out", ["sampled-out"], `{tokenBucket: {maxTokens: 1, fillInterval: 1h}, percentEnabled: 0}`) +
    policy("one", ["cors", "checked", "socket"], HOUR_BUCKET(1)) +
    backendYaml("app", app.port) +
    backendYaml("authz", authz.port) +
    backendYaml("raw", raw.port)
  );
}

let app: TestUpstream;
let raw: RawUpgradeUpstream;
let authz: http.Server & { checks: number; port: number };
let gw: GatewayUnderTest;
const recorder = new RecordingTelemetry();

before(async () => {
  app = await startUpstream("app");
  raw = await startRawUpgradeUpstream();
  const server = http.createServer((req, res) => {
    authz.checks++;
    req.resume();
    res.end();
  });
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  authz = Object.assign(server, { checks: 0, port: (server.address() as AddressInfo).port });
  gw = await startGateway(config(), recorder);
});

after(async () => {
  await gw.close();
  await app.close();
  await raw.close();
  authz.closeAllConnections();
  await new Promise<void>((resolve) => authz.close(() => resolve()));
});

const reached = (prefix: string): number => app.requests.filter((r) => r.url.startsWith(prefix)).length;

test("each rule has its own bucket: over it, Envoy's 429 with x-envoy-ratelimited and a Retry-After, and the upstream never sees the request", async () => {
  assert.equal((await ask(gw.port, { path: "/two/1" })).status, 200);
  assert.equal((await ask(gw.port, { path: "/two/2" })).status, 200);
  const refused = await ask(gw.port, { path: "/two/3" });
  assert.equal(refused.status, 429);
  assert.equal(refused.headers["x-envoy-ratelimited"], "true");
  assert.equal(refused.headers["content-type"], "application/json");
  const retryAfter = Number(refused.headers["retry-after"]);
  assert.ok(Number.isInteger(retryAfter) && retryAfter > 3000 && retryAfter <= 3600, `Retry-After ${refused.headers["retry-after"]} counts down to the next fill in an hour`);
  assert.equal(refused.json()["error"], "local_rate_limited");
  assert.equal(reached("/two/"), 2);

  // The same policy covers the next rule, which has a bucket of its own; a rule outside it has none.
  assert.equal((await ask(gw.port, { path: "/also-two/1" })).status, 200);
  for (let i = 0; i < 5; i++) assert.equal((await ask(gw.port, { path: `/free/${i}` })).status, 200);

  const exchange = await recorder.endOf("/two/3");
  assert.equal(exchange.responseFlags, "RL");
  assert.equal(responseCodeDetails(new RequestFacts(exchange, forwardedViewOf(exchange), [], [])), "local_rate_limited");
  assert.equal(exchange.errorType, undefined, "a 429 is the client's error, as any 4xx on the server side");
  assert.deepEqual([...gw.stats.rateLimits!.entries()].filter(([, rule]) => rule === "two"), [["default/r", "two", true, 1]]);
});

test("a bucket refills by tokensPerFill each fillInterval", async () => {
  assert.equal((await ask(gw.port, { path: "/refill/1" })).status, 200);
  const second = await ask(gw.port, { path: "/refill/2" });
  assert.equal(second.status, 429);
  assert.equal(second.headers["retry-after"], "1");
  await new Promise((resolve) => setTimeout(resolve, 1100));
  assert.equal((await ask(gw.port, { path: "/refill/3" })).status, 200);
  assert.equal(reached("/refill/"), 2);
});

test("percentEnforced 0 lets over-limit requests through and counts them as not enforced; percentEnabled 0 never consults the bucket", async () => {
  for (let i = 0; i < 3; i++) assert.equal((await ask(gw.port, { path: `/shadow/${i}` })).status, 200);
  for (let i = 0; i < 3; i++) assert.equal((await ask(gw.port, { path: `/sampled-out/${i}` })).status, 200);
  assert.equal(reached("/shadow/"), 3);
  const counts = [...gw.stats.rateLimits!.entries()];
  assert.deepEqual(counts.filter(([, rule]) => rule === "shadow"), [["default/r", "shadow", false, 2]]);
  assert.deepEqual(counts.filter(([, rule]) => rule === "sampled-out"), []);
  for (const path of ["/shadow/2", "/sampled-out/2"]) assert.equal((await recorder.endOf(path)).responseFlags, "", `${path} carries no RL flag`);
});

test("a CORS preflight is answered before the limit; the refusal carries the rule's CORS headers; an ExternalAuth check is not spent on it; an upgrade is refused as a raw 429", async () => {
  assert.equal((await ask(gw.port, { path: "/cors/1", headers: { origin: "https://app.example" } })).status, 200);
  const refused = await ask(gw.port, { path: "/cors/2", headers: { origin: "https://app.example" } });
  assert.equal(refused.status, 429);
  assert.equal(refused.headers["access-control-allow-origin"], "https://app.example");
  const preflight = await ask(gw.port, { method: "OPTIONS", path: "/cors/3", headers: { origin: "https://app.example", "access-control-request-method": "GET" } });
  assert.equal(preflight.status, 204, "the preflight took no token and was not refused");

  assert.equal((await ask(gw.port, { path: "/checked/1" })).status, 200);
  assert.equal(authz.checks, 1);
  assert.equal((await ask(gw.port, { path: "/checked/2" })).status, 429);
  assert.equal(authz.checks, 1, "the refused request never reached the authorization service");

  // The policy's rules have a bucket each: the upgrade rule's first offer passes.
  assert.match(headLines(await upgradeHead(gw.port, "/switch")).join("\n"), /^upgrade: websocket$/m);
  const head = await upgradeHead(gw.port, "/switch");
  assert.match(head.toString("latin1"), /^HTTP\/1\.1 429 Too Many Requests\r\n/);
  assert.ok(headLines(head).includes("x-envoy-ratelimited: true"));
  assert.ok(headLines(head).some((line) => /^retry-after: \d+$/.test(line)));
  await until(() => recorder.ended.filter((e) => e.path === "/switch").length === 2);
  assert.deepEqual(
    recorder.ended.filter((e) => e.path === "/switch").map((e) => `${e.status} ${e.responseFlags}`).sort(),
    ["101 ", "429 RL"],
  );
});

test("a reload keeps a bucket whose key and sizes did not change, and starts a changed one full", async () => {
  assert.equal((await ask(gw.port, { path: "/also-two/2" })).status, 200);
  assert.equal((await ask(gw.port, { path: "/also-two/3" })).status, 429);
  gw.plan = compileYaml(config({ unrelatedHeader: true }), 2, gw.plan);
  assert.equal((await ask(gw.port, { path: "/free/edited" })).status, 200);
  assert.equal(app.requests.find((r) => r.url === "/free/edited")?.headers["x-edited"], "1", "the reload took effect");
  assert.equal((await ask(gw.port, { path: "/also-two/4" })).status, 429, "an unrelated edit refills nothing");
  gw.plan = compileYaml(config({ unrelatedHeader: true, twoTokens: 3 }), 3, gw.plan);
  assert.equal((await ask(gw.port, { path: "/also-two/5" })).status, 200, "new sizes, a new full bucket");
  // Without the serving plan handed over (a restart), every bucket starts full.
  gw.plan = compileYaml(config({ unrelatedHeader: true, twoTokens: 3 }), 4);
  assert.equal((await ask(gw.port, { path: "/two/4" })).status, 200);
});
