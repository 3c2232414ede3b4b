// kgateway TrafficPolicy `consistentHash` end to end, against three real upstreams on
// 127.0.0.1 behind one Backend: requests with the same key (a header, a cookie the gateway
// makes, a query parameter, the client's address, a rewritten header) reach the same upstream,
// different keys spread; a terminal part ends the key; a request with no key goes round-robin;
// a retry goes to the next endpoint on the ring; a WebSocket upgrade keeps to its key's upstream.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import http from "node:http";
import { type RawUpgradeUpstream, startRawUpgradeUpstream, upgradeHead } from "../support/raw-upgrade.ts";
import { type TestUpstream, startUpstream } from "../support/upstreams.ts";
import { type GatewayUnderTest, ask, backendYaml, catchAllOnYaml, hostGatewayYaml, startGateway, targetedTrafficPolicyYaml } from "./harness.ts";

let upstreams: TestUpstream[];
let raws: RawUpgradeUpstream[];
let gw: GatewayUnderTest;

/** A Gateway for `host` with one route to `backend`, and a TrafficPolicy with this consistentHash (none when undefined). */
const site = (name: string, backend: string, consistentHash: string | undefined, fields = ""): string =>
  hostGatewayYaml(name, `${name}.example`) +
  catchAllOnYaml(name, name, backend, fields) +
  (consistentHash === undefined ? "" : targetedTrafficPolicyYaml(name, "HTTPRoute", name, `  consistentHash:\n${consistentHash}`));

before(async () => {
  upstreams = await Promise.all(["a", "b", "c"].map((n) => startUpstream(n)));
  raws = await Promise.all([1, 2, 3].map(() => startRawUpgradeUpstream()));
  gw = await startGateway(
    backendYaml("trio", ...upstreams.map((u) => u.port)) +
      backendYaml("rawtrio", ...raws.map((r) => r.port)) +
      site("plain", "trio", undefined) +
      site("header", "trio", "    headers: [{headerName: X-User}]\n", "retry: {codes: [503], attempts: 2}") +
      site("cookie", "trio", "    cookies: [{name: affinity, ttl: 1h, path: /, attributes: [{name: SameSite, value: Lax}, {name: Secure, value: ''}]}]\n") +
      site("session", "trio", "    cookies: [{name: sid, ttl: '0'}, {name: plain}]\n") +
      site("query", "trio", "    queryParameters: [{name: tenant}]\n") +
      site("source", "trio", "    sourceIp: {}\n") +
      site("rewrite", "trio", "    headers: [{headerName: x-session, regexRewrite: {pattern: '^([a-z]+)-.*$', substitution: '\\1'}}]\n") +
      site("terminal", "trio", "    headers: [{headerName: x-user, terminal: true}]\n    queryParameters: [{name: q}]\n") +
      site("nonterminal", "trio", "    headers: [{headerName: x-user}]\n    queryParameters: [{name: q}]\n") +
      site("ws", "rawtrio", "    headers: [{headerName: x-user}]\n") +
      site("wscookie", "rawtrio", "    cookies: [{name: wsaff, ttl: 60s}]\n") +
      site("stripped", "trio", "    cookies: [{name: aff, ttl: 60s}]\n", "filters: [{type: ResponseHeaderModifier, responseHeaderModifier: {remove: [set-cookie]}}]") +
      site("filterstate", "trio", "    filterState: [{key: some.key}]\n") +
      site("twocookies", "trio", "    cookies: [{name: first, ttl: 1h}, {name: second, ttl: 2h}]\n") +
      site("bypath", "trio", "    headers: [{headerName: ':path'}]\n"),
  );
});

after(async () => {
  await gw.close();
  await Promise.all([...upstreams.map((u) => u.close()), ...raws.map((r) => r.close())]);
});

/** The name of the upstream that answered. */
async function upstreamFor(host: string, path = "/", headers: Record<string, string> = {}): Promise<string> {
  const reply = await ask(gw.port, { path, headers: { host: `${host}.example`, ...headers } });
  assert.equal(reply.status, 200, reply.body.toString());
  return String(reply.headers["x-upstream"]);
}

async function upstreamsFor(count: number, host: string, request: (i: number) => { path?: string; headers?: Record<string, string> }): Promise<string[]> {
  const seen: string[] = [];
  for (let i = 0; i < count; i++) {
    const { path, headers } = request(i);
    seen.push(await upstreamFor(host, path, headers));
  }
  return seen;
}

const distinct = (names: readonly string[]): string[] => [...new Set(names)].sort();

test("a header's value keeps its requests on one upstream; values spread; without the policy they go round-robin", async () => {
  const owners: string[] = [];
  for (let user = 0; user < 12; user++) {
    const seen = await upstreamsFor(4, "header", () => ({ headers: { "x-user": `user-${user}` } }));
    assert.equal(distinct(seen).length, 1, `user-${user} reached ${seen.join(", ")}`);
    owners.push(seen[0]!);
  }
  assert.ok(distinct(owners).length >= 2, `12 users all reached ${owners[0]}`);
  // The same header on a route without consistentHash: three requests, three upstreams.
  assert.deepEqual(distinct(await upstreamsFor(3, "plain", () => ({ headers: { "x-user": "user-0" } }))), ["a", "b", "c"]);
  // No x-user: no key, so round-robin (Envoy picks a random host).
  assert.deepEqual(distinct(await upstreamsFor(3, "header", () => ({}))), ["a", "b", "c"]);
});

test("a retry goes to the next endpoint on the ring, the same one for the same key", async () => {
  const owner = await upstreamFor("header", "/", { "x-user": "retried" });
  const retriedTo: string[] = [];
  for (const key of ["one", "two"]) {
    const path = `/flaky/hash-${key}/1/503`;
    // Each upstream fails its first request for the path: spend that on the others directly, so
    // only the key's upstream fails through the gateway and the retry is answered.
    for (const u of upstreams) if (u.name !== owner) assert.equal((await fetch(u.origin + path)).status, 503);
    const before = upstreams.map((u) => u.requests.filter((r) => r.url === path).length);
    const reply = await ask(gw.port, { path, headers: { host: "header.example", "x-user": "retried" } });
    assert.equal(reply.status, 200);
    const attempts = upstreams.map((u, i) => u.requests.filter((r) => r.url === path).length - before[i]!);
    // The first attempt at the key's upstream, the retry at another one.
    assert.equal(attempts[upstreams.findIndex((u) => u.name === owner)], 1, attempts.join(", "));
    assert.equal(attempts.reduce((a, b) => a + b), 2);
    retriedTo.push(String(reply.headers["x-upstream"]));
  }
  assert.notEqual(retriedTo[0], owner);
  assert.equal(retriedTo[1], retriedTo[0]);
});

test("a cookie the gateway makes: Set-Cookie as Envoy writes it, and every request sending it back reaches the first one's upstream", async () => {
  const owners: string[] = [];
  for (let client = 0; client < 16; client++) {
    const first = await ask(gw.port, { headers: { host: "cookie.example" } });
    assert.equal(first.status, 200);
    const made = first.headers["set-cookie"];
    assert.equal(made?.length, 1);
    const match = /^affinity="([0-9a-f]{16})"; Max-Age=3600; Path=\/; SameSite=Lax; Secure; HttpOnly$/.exec(made![0]!);
    assert.ok(match, made![0]);
    const owner = String(first.headers["x-upstream"]);
    owners.push(owner);
    const quoted = await ask(gw.port, { headers: { host: "cookie.example", cookie: `other=1; affinity="${match[1]}"` } });
    assert.equal(quoted.headers["set-cookie"], undefined);
    assert.equal(quoted.headers["x-upstream"], owner);
    assert.deepEqual(distinct(await upstreamsFor(3, "cookie", () => ({ headers: { cookie: `affinity=${match[1]}` } }))), [owner]);
  }
  assert.ok(distinct(owners).length >= 2, `16 clients all reached ${owners[0]}`);
});

test("requests on one connection before the client has the cookie get the same made cookie", async () => {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  try {
    const made: string[] = [];
    const ports = new Set<number>();
    for (let i = 0; i < 3; i++) {
      const reply = await new Promise<http.IncomingMessage>((resolve, reject) => {
        const req = http.get({ host: "127.0.0.1", port: gw.port, path: `/conn/${i}`, headers: { host: "cookie.example" }, agent }, resolve);
        req.on("error", reject);
      });
      ports.add(reply.socket.localPort!);
      reply.resume();
      await new Promise((resolve) => reply.on("end", resolve));
      made.push(reply.headers["set-cookie"]![0]!);
    }
    assert.equal(ports.size, 1, "the three requests shared one connection");
    assert.equal(new Set(made).size, 1, made.join(" | "));
    // A new connection gets a cookie of its own.
    const other = await ask(gw.port, { headers: { host: "cookie.example" } });
    assert.notEqual(other.headers["set-cookie"]![0], made[0]);
  } finally {
    agent.destroy();
  }
});

test("an empty cookie value is no cookie: one is made; a route's ResponseHeaderModifier can remove the made cookie", async () => {
  const empty = await ask(gw.port, { headers: { host: "cookie.example", cookie: "affinity=" } });
  assert.match(empty.headers["set-cookie"]![0]!, /^affinity="[0-9a-f]{16}"; /);
  const stripped = await ask(gw.port, { headers: { host: "stripped.example" } });
  assert.equal(stripped.status, 200);
  assert.equal(stripped.headers["set-cookie"], undefined);
});

test("two made cookies are both set, in order", async () => {
  const reply = await ask(gw.port, { headers: { host: "twocookies.example" } });
  const made = reply.headers["set-cookie"]!;
  assert.equal(made.length, 2);
  assert.match(made[0]!, /^first="[0-9a-f]{16}"; Max-Age=3600; HttpOnly$/);
  assert.match(made[1]!, /^second="[0-9a-f]{16}"; Max-Age=7200; HttpOnly$/);
});

test("several lines of a header: all count, in any order", async () => {
  for (let pair = 0; pair < 10; pair++) {
    const one = await upstreamFor("header", "/", { "x-user": [`a-${pair}`, `b-${pair}`] as unknown as string });
    const other = await upstreamFor("header", "/", { "x-user": [`b-${pair}`, `a-${pair}`] as unknown as string });
    assert.equal(other, one, `pair ${pair}`);
  }
  // The second line counts too: the first fixed, the second varied, the upstreams spread.
  const owners = await upstreamsFor(20, "header", (i) => ({ headers: { "x-user": ["fixed", `second-${i}`] as unknown as string } }));
  assert.ok(distinct(owners).length >= 2, `20 second lines all reached ${owners[0]}`);
});

test(":path is the path and query, an absolute-form target's too", async () => {
  const owners = await upstreamsFor(20, "bypath", (i) => ({ path: `/p?page=${i}` }));
  assert.ok(distinct(owners).length >= 2, `20 queries all reached ${owners[0]}`);
  for (let i = 0; i < 20; i++) {
    assert.equal(await upstreamFor("bypath", `/p?page=${i}`), owners[i], `origin-form /p?page=${i}`);
    assert.equal(await upstreamFor("bypath", `http://bypath.example/p?page=${i}`), owners[i], `absolute-form /p?page=${i}`);
  }
});

test("filterState alone gives no key: round-robin", async () => {
  assert.deepEqual(distinct(await upstreamsFor(3, "filterstate", () => ({}))), ["a", "b", "c"]);
});

test("ttl 0 makes a session cookie (no Max-Age); a cookie without ttl is never made", async () => {
  const reply = await ask(gw.port, { headers: { host: "session.example" } });
  const made = reply.headers["set-cookie"];
  assert.equal(made?.length, 1);
  assert.match(made![0]!, /^sid="[0-9a-f]{16}"; HttpOnly$/);
  // With sid sent back nothing is made: `plain` has no ttl, so its absence adds nothing.
  const again = await ask(gw.port, { headers: { host: "session.example", cookie: "sid=abc" } });
  assert.equal(again.headers["set-cookie"], undefined);
});

test("a query parameter's first value is the key", async () => {
  const owners: string[] = [];
  // Enough keys that all of them landing on one upstream is out of the question (the ring is
  // placed by the upstreams' random ports, so it differs from run to run).
  for (const tenant of Array.from({ length: 24 }, (_, i) => `tenant-${i}`)) {
    const seen = await upstreamsFor(3, "query", (i) => ({ path: `/items?page=${i}&tenant=${tenant}` }));
    assert.equal(distinct(seen).length, 1, `${tenant} reached ${seen.join(", ")}`);
    assert.equal(await upstreamFor("query", `/?tenant=${tenant}&tenant=other`), seen[0]);
    owners.push(seen[0]!);
  }
  assert.ok(distinct(owners).length >= 2, `24 tenants all reached ${owners[0]}`);
});

test("sourceIp: every request from 127.0.0.1 reaches one upstream", async () => {
  assert.equal(distinct(await upstreamsFor(6, "source", (i) => ({ path: `/s/${i}` }))).length, 1);
});

test("regexRewrite: the rewritten value is the key, so abc-1 to abc-20 share one upstream", async () => {
  assert.equal(distinct(await upstreamsFor(20, "rewrite", (i) => ({ headers: { "x-session": `abc-${i}` } }))).length, 1);
  const owners = await upstreamsFor(24, "rewrite", (i) => ({ headers: { "x-session": `${"bcdefghijklmnopqrstuvwxy"[i]!.repeat(3)}-1` } }));
  assert.ok(distinct(owners).length >= 2, `24 prefixes all reached ${owners[0]}`);
});

test("a terminal header ends the key: the query parameter after it changes nothing; without terminal it does", async () => {
  assert.equal(distinct(await upstreamsFor(20, "terminal", (i) => ({ path: `/?q=${i}`, headers: { "x-user": "fixed" } }))).length, 1);
  assert.ok(distinct(await upstreamsFor(20, "nonterminal", (i) => ({ path: `/?q=${i}`, headers: { "x-user": "fixed" } }))).length >= 2);
  // Every part adds to the key, the first as well as the last.
  assert.ok(distinct(await upstreamsFor(20, "nonterminal", (i) => ({ path: "/?q=fixed", headers: { "x-user": `user-${i}` } }))).length >= 2);
  // A terminal part without a value ends nothing: the query parameter alone is the key then.
  const byQuery = await upstreamsFor(20, "terminal", (i) => ({ path: `/?q=${i}` }));
  assert.ok(distinct(byQuery).length >= 2);
  assert.deepEqual(await upstreamsFor(20, "terminal", (i) => ({ path: `/?q=${i}` })), byQuery);
});

test("an upgrade's 101 carries the made cookie", async () => {
  const head = (await upgradeHead(gw.port, "/switch", {}, "wscookie.example")).toString("latin1");
  assert.match(head, /^HTTP\/1\.1 101 /);
  assert.match(head, /\r\nset-cookie: wsaff="[0-9a-f]{16}"; Max-Age=60; HttpOnly\r\n/i);
  // A refused upgrade is the upstream's answer too: it carries the cookie as any answer would.
  const refused = (await upgradeHead(gw.port, "/other", {}, "wscookie.example")).toString("latin1");
  assert.match(refused, /^HTTP\/1\.1 403 /);
  assert.match(refused, /\r\nset-cookie: wsaff="[0-9a-f]{16}"; Max-Age=60; HttpOnly\r\n/i);
});

test("a WebSocket upgrade keeps to its key's upstream", async () => {
  for (const user of ["ws-1", "ws-2", "ws-3"]) {
    const before = raws.map((r) => r.accepted);
    for (let i = 0; i < 4; i++) {
      const head = (await upgradeHead(gw.port, "/switch", { "x-user": user }, "ws.example")).toString("latin1");
      assert.match(head, /^HTTP\/1\.1 101 /);
    }
    const added = raws.map((r, i) => r.accepted - before[i]!);
    assert.deepEqual([...added].sort(), [0, 0, 4], `${user}: ${added.join(", ")}`);
  }
});
