// kgateway TrafficPolicy `csrf` end to end, against real upstreams on 127.0.0.1: a POST, PUT,
// DELETE or PATCH from another origin is refused with 403 before it reaches the upstream;
// the source is the Origin header's host and port, else the Referer's, compared with the Host
// header's without the default port; additionalOrigins by exact, suffix (ignoring case) and
// regex; shadow mode counting what it would refuse; a route's csrf replacing its Gateway's;
// the check after rbac; a state-changing upgrade offer refused too.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { upgradeHead } from "../support/raw-upgrade.ts";
import { type TestUpstream, startUpstream } from "../support/upstreams.ts";
import { type GatewayUnderTest, appRouteYaml, ask, backendYaml, hostGatewayYaml, startGateway, targetedTrafficPolicyYaml } from "./harness.ts";
import { RecordingTelemetry, responseDetailsOf } from "./recording-telemetry.ts";

let app: TestUpstream;
let gw: GatewayUnderTest;
const recorder = new RecordingTelemetry();

const csrf = (body: string): string => `  csrf: ${body}\n`;

before(async () => {
  app = await startUpstream("app");
  gw = await startGateway(
    hostGatewayYaml("shop", "shop.example") +
      appRouteYaml("store", ["shop"], ["/"]) +
      appRouteYaml("feedback", ["shop"], ["/feedback"]) +
      appRouteYaml("partners", ["shop"], ["/partners"]) +
      appRouteYaml("admin", ["shop"], ["/admin"]) +
      appRouteYaml("limited", ["shop"], ["/limited"]) +
      appRouteYaml("upload", ["shop"], ["/upload"]) +
      targetedTrafficPolicyYaml("shop-csrf", "Gateway", "shop", csrf("{percentageEnabled: 100}")) +
      targetedTrafficPolicyYaml("feedback-shadow", "HTTPRoute", "feedback", csrf("{percentageShadowed: 100}")) +
      targetedTrafficPolicyYaml(
        "partner-origins",
        "HTTPRoute",
        "partners",
        csrf("{percentageEnabled: 100, additionalOrigins: [{exact: app.example.com}, {suffix: .Partner.Example, ignoreCase: true}, {safeRegex: 'tools-[0-9]+\\.example\\.com:8443'}]}"),
      ) +
      targetedTrafficPolicyYaml("admins-only", "HTTPRoute", "admin", `  rbac: {policy: {matchExpressions: ["request.headers['x-role'] == 'admin'"]}}\n` + csrf("{percentageEnabled: 100}")) +
      targetedTrafficPolicyYaml("one-a-day", "HTTPRoute", "limited", "  rateLimit: {local: {tokenBucket: {maxTokens: 1, fillInterval: 1h}}}\n" + csrf("{percentageEnabled: 100}")) +
      targetedTrafficPolicyYaml("small-uploads", "HTTPRoute", "upload", "  buffer: {maxRequestSize: 16}\n") +
      backendYaml("app", app.port),
    recorder,
  );
});

after(async () => {
  await gw.close();
  await app.close();
});

const reached = (prefix: string): number => app.requests.filter((r) => r.url.startsWith(prefix)).length;
const send = (method: string, path: string, headers: Record<string, string>): Promise<number> => ask(gw.port, { method, path, headers: { host: "shop.example", ...headers } }).then((r) => r.status);
const csrfChecks = (policy: string): [string, number][] => [...gw.stats.csrfChecks!.entries()].filter(([, , p]) => p === `default/${policy}`).map(([, , , outcome, n]) => [outcome, n]);
const csrfDenials = (policy: string): number =>
  [...gw.stats.accessDenials!.entries()].filter(([, , p, kind]) => p === `default/${policy}` && kind === "csrf").reduce((sum, [, , , , n]) => sum + n, 0);

test("a cross-origin POST is refused with 403 and Envoy's words before it reaches the upstream, counted as a csrf denial", async () => {
  const refused = await ask(gw.port, { method: "POST", path: "/cart", headers: { host: "shop.example", origin: "https://evil.example", "content-type": "text/plain" }, body: "buy=all" });
  assert.equal(refused.status, 403);
  assert.deepEqual([refused.json()["error"], refused.json()["message"]], ["csrf_origin_mismatch", "Invalid origin"]);
  assert.equal(reached("/cart"), 0);
  const exchange = await recorder.endOf("/cart");
  assert.equal(responseDetailsOf(exchange), "csrf_origin_mismatch");
  const rule = exchange.match!.rule;
  assert.deepEqual(
    [...gw.stats.accessDenials!.entries()].filter(([, , p]) => p === "default/shop-csrf"),
    [[rule.routeKey, rule.ruleName, "default/shop-csrf", "csrf", 1]],
  );
  assert.deepEqual(
    [...gw.stats.csrfChecks!.entries()].filter(([, , p]) => p === "default/shop-csrf"),
    [[rule.routeKey, rule.ruleName, "default/shop-csrf", "invalid", 1]],
  );
});

test("the same origin passes: the Host's host and port against the Origin's, the default port and case aside; else the Referer's", async () => {
  assert.equal(await send("POST", "/same/1", { origin: "http://shop.example" }), 200);
  assert.equal(await send("PUT", "/same/2", { host: "shop.example:80", origin: "HTTP://Shop.Example:80" }), 200);
  assert.equal(await send("PATCH", "/same/3", { referer: "http://shop.example/cart?step=2" }), 200);
  assert.equal(await send("DELETE", "/same/4", { host: "shop.example:8080", origin: "http://shop.example:8080" }), 200);
  assert.equal(reached("/same/"), 4);
  // Another port, another origin; an opaque origin matches no host; Origin wins over Referer.
  assert.equal(await send("POST", "/other/1", { host: "shop.example:8080", origin: "http://shop.example" }), 403);
  assert.equal(await send("POST", "/other/2", { origin: "null" }), 403);
  assert.equal(await send("POST", "/other/3", { origin: "https://evil.example", referer: "http://shop.example/" }), 403);
  for (const method of ["PUT", "DELETE", "PATCH"]) assert.equal(await send(method, `/other/${method}`, { origin: "https://evil.example" }), 403, method);
  assert.equal(reached("/other/"), 0);
});

test("a state-changing request with neither Origin nor Referer is refused and counted as missing_origin; reads are never checked", async () => {
  const before = csrfChecks("shop-csrf");
  assert.equal(await send("POST", "/no-origin", {}), 403);
  for (const method of ["GET", "HEAD", "OPTIONS"]) assert.equal(await send(method, `/read/${method}`, { origin: "https://evil.example" }), 200, method);
  const after = csrfChecks("shop-csrf");
  const missing = (list: [string, number][]): number => list.find(([o]) => o === "missing_origin")?.[1] ?? 0;
  assert.equal(missing(after) - missing(before), 1);
  const total = (list: [string, number][]): number => list.reduce((sum, [, n]) => sum + n, 0);
  assert.equal(total(after) - total(before), 1, "the reads were not counted");
});

test("additionalOrigins match the source's host and port: exact, suffix ignoring case, a full-match regex", async () => {
  assert.equal(await send("POST", "/partners/1", { origin: "https://app.example.com" }), 200);
  assert.equal(await send("POST", "/partners/2", { origin: "https://shop.EU.partner.example" }), 200);
  assert.equal(await send("POST", "/partners/3", { origin: "https://tools-42.example.com:8443" }), 200);
  assert.equal(await send("POST", "/partners/4", { origin: "https://app.example.com:8443" }), 403, "the exact origin names no port");
  assert.equal(await send("POST", "/partners/5", { origin: "https://evil-tools-42.example.com:8443" }), 403, "the regex matches the whole origin");
  assert.equal(await send("POST", "/partners/6", { origin: "https://partner.example.evil" }), 403);
  assert.equal(reached("/partners/"), 3);
});

test("shadow mode counts what it would refuse and lets it through; the route's csrf replaces its Gateway's", async () => {
  assert.equal(await send("POST", "/feedback/1", { origin: "https://evil.example" }), 200);
  assert.equal(await send("POST", "/feedback/2", {}), 200);
  assert.equal(await send("POST", "/feedback/3", { origin: "http://shop.example" }), 200);
  assert.equal(reached("/feedback/"), 3);
  assert.deepEqual(csrfChecks("feedback-shadow").sort(), [
    ["invalid", 1],
    ["missing_origin", 1],
    ["valid", 1],
  ]);
  assert.equal(csrfDenials("feedback-shadow"), 0);
});

test("csrf runs after rbac (kgateway's route stage): a request rbac refuses is refused by rbac, and only a request it lets in is checked", async () => {
  const denied = await ask(gw.port, { method: "POST", path: "/admin/1", headers: { host: "shop.example", origin: "https://evil.example" } });
  assert.equal(denied.json()["error"], "rbac_access_denied");
  assert.deepEqual(csrfChecks("admins-only"), []);
  const checked = await ask(gw.port, { method: "POST", path: "/admin/2", headers: { host: "shop.example", origin: "https://evil.example", "x-role": "admin" } });
  assert.equal(checked.json()["error"], "csrf_origin_mismatch");
  assert.deepEqual(csrfChecks("admins-only"), [["invalid", 1]]);
});

test("the target is the host the request is served for: an absolute-form target's authority, not a Host header beside it", async () => {
  const absolute = (host: string, origin: string): Promise<number> => ask(gw.port, { method: "POST", path: "http://shop.example/abs", headers: { host, origin } }).then((r) => r.status);
  assert.equal(await absolute("evil.example", "http://evil.example"), 403);
  assert.equal(await absolute("other.example", "http://shop.example"), 200);
});

test("csrf runs after the local rate limit and before the buffer: a refused request took its token, and is refused unread", async () => {
  assert.equal(await send("POST", "/limited/1", { origin: "https://evil.example" }), 403);
  assert.equal(await send("POST", "/limited/2", { origin: "http://shop.example" }), 429, "the refused request took the only token");
  const big = "x".repeat(100);
  const crossSite = await ask(gw.port, { method: "POST", path: "/upload/1", headers: { host: "shop.example", origin: "https://evil.example" }, body: big });
  assert.equal(crossSite.json()["error"], "csrf_origin_mismatch");
  const sameSite = await ask(gw.port, { method: "POST", path: "/upload/2", headers: { host: "shop.example", origin: "http://shop.example" }, body: big });
  assert.equal(sameSite.status, 413);
});

test("a state-changing upgrade offer from another origin gets the raw 403", async () => {
  const head = await upgradeHead(gw.port, "/ws", { origin: "https://evil.example", "content-length": "0" }, "shop.example", "POST");
  assert.match(head.toString("latin1"), /^HTTP\/1\.1 403 Forbidden\r\n/);
  assert.equal(responseDetailsOf(await recorder.endOf("/ws")), "csrf_origin_mismatch");
  assert.equal(reached("/ws"), 0);
});
