// The HTTPRoute ExternalAuth filter with protocol GRPC end to end: a real ext_authz gRPC
// service (grpc-js) and real upstreams on 127.0.0.1. What the service is told about the
// request, how each header action of an allowing answer lands, how denials and failed calls
// reach the client, and that a check nobody waits for is cancelled.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import http from "node:http";
import { once } from "node:events";
import { WebSocket } from "ws";
import { closedPort } from "../support/otlp-receiver.ts";
import { type GrpcAuthzService, type SeenCheck, startGrpcAuthzService } from "../support/grpc-authz-service.ts";
import { headLines, upgradeHead } from "../support/raw-upgrade.ts";
import { type TestUpstream, startUpstream } from "../support/upstreams.ts";
import { until } from "../support/until.ts";
import { GATEWAY_YAML, type GatewayUnderTest, ask, backendYaml, ref, routeYaml, startGateway } from "./harness.ts";
import { RecordingTelemetry } from "./recording-telemetry.ts";

const grpcFilter = (backend: string, extra = ""): string => `      - type: ExternalAuth
        externalAuth: {protocol: GRPC, backendRef: ${ref(backend)}${extra}}
`;

let app: TestUpstream;
let authz: GrpcAuthzService;
let gw: GatewayUnderTest;
const telemetry = new RecordingTelemetry();

before(async () => {
  app = await startUpstream("app");
  authz = await startGrpcAuthzService();
  const down = await closedPort();
  gw = await startGateway(
    GATEWAY_YAML +
      backendYaml("app", app.port) +
      backendYaml("authz", authz.port) +
      backendYaml("authz-down", down) +
      backendYaml("app-down", down) +
      routeYaml(`    - matches: [{path: {type: PathPrefix, value: /app}}]
      timeouts: {request: 400ms}
      filters:
${grpcFilter("authz")}      - type: ResponseHeaderModifier
        responseHeaderModifier: {set: [{name: x-auth-served, value: from-route}], add: [{name: set-cookie, value: route=1}]}
      backendRefs: [${ref("app")}]
    - matches: [{path: {type: PathPrefix, value: /plain}}]
      filters:
${grpcFilter("authz")}      backendRefs: [${ref("app")}]
    - matches: [{path: {type: PathPrefix, value: /direct}}]
      filters:
${grpcFilter("authz")}      - type: ExtensionRef
        extensionRef: {group: gateway.kgateway.dev, kind: DirectResponse, name: teapot}
    - matches: [{path: {type: PathPrefix, value: /listed}}]
      filters:
${grpcFilter("authz", ", grpc: {allowedHeaders: [Authorization, x-tenant, constructor]}")}      backendRefs: [${ref("app")}]
    - matches: [{path: {type: PathPrefix, value: /body}}]
      filters:
${grpcFilter("authz", ", forwardBody: {maxSize: 64}")}      backendRefs: [${ref("app")}]
    - matches: [{path: {type: PathPrefix, value: /down}}]
      filters:
${grpcFilter("authz-down")}      backendRefs: [${ref("app")}]
    - matches: [{path: {type: PathPrefix, value: /moved}}]
      filters:
${grpcFilter("authz")}      - type: RequestRedirect
        requestRedirect: {hostname: elsewhere.example, statusCode: 302}
    - name: limited
      matches: [{path: {type: PathPrefix, value: /limited}}]
      filters:
${grpcFilter("authz")}      backendRefs: [${ref("app")}]
    - name: limited-socket
      matches: [{path: {type: PathPrefix, value: /upgrade-limited}}]
      filters:
${grpcFilter("authz")}      backendRefs: [${ref("app")}]
    - matches: [{path: {type: PathPrefix, value: /dead}}]
      filters:
${grpcFilter("authz")}      backendRefs: [${ref("app-down")}]
    - matches: [{path: {type: PathPrefix, value: /socket}}]
      filters:
${grpcFilter("authz")}      backendRefs:
      - name: app
        group: gateway.tollgate.dev
        kind: Backend
        filters:
        - type: ResponseHeaderModifier
          responseHeaderModifier: {set: [{name: x-auth-served, value: from-backend}]}
`) +
      `---
apiVersion: gateway.kgateway.dev/v1alpha1
kind: DirectResponse
metadata: {name: teapot, namespace: default}
spec: {status: 418, body: short and stout}
---
apiVersion: gateway.kgateway.dev/v1alpha1
kind: TrafficPolicy
metadata: {name: one-each, namespace: default}
spec:
  targetRefs:
  - {group: gateway.networking.k8s.io, kind: HTTPRoute, name: r, sectionName: limited}
  - {group: gateway.networking.k8s.io, kind: HTTPRoute, name: r, sectionName: limited-socket}
  rateLimit: {local: {tokenBucket: {maxTokens: 1, fillInterval: 1h}}}
`,
    telemetry,
  );
});

after(async () => {
  await gw.close();
  await authz.close();
  await app.close();
});

function checkOf(path: string): SeenCheck {
  const seen = authz.seen.find((c) => c.request.attributes.request.http.path === path);
  assert.ok(seen, `the service was asked about ${path}; it saw ${authz.seen.map((c) => c.request.attributes.request.http.path).join(", ")}`);
  return seen;
}

test("an allowed request: the service gets Envoy's attributes of it, and every header action of the answer lands as Envoy applies it", async () => {
  const before = Date.now();
  const reply = await ask(gw.port, {
    method: "POST",
    path: "/app/orders?id=7",
    headers: {
      host: "shop.example",
      authorization: "Bearer good",
      cookie: "sid=1",
      "x-request-id": "rid-1",
      "x-auth-groups": "users",
      "x-appended": "one",
      "x-tier": "bronze",
      "x-note": "original",
      "x-replaced": "original",
      "x-remove-me": "1",
    },
    body: '{"qty":2}',
  });
  assert.equal(reply.status, 200, reply.body.toString());

  const check = checkOf("/app/orders?id=7");
  const http1 = check.request.attributes.request.http;
  assert.equal(http1.method, "POST");
  assert.equal(http1.host, "shop.example");
  assert.equal(http1.scheme, "http");
  assert.equal(http1.protocol, "HTTP/1.1");
  assert.equal(http1.id, "rid-1");
  assert.equal(http1.size, 9, "the declared length");
  assert.equal(http1.body, "", "no body without forwardBody");
  const sent = http1.headers;
  assert.equal(sent[":authority"], "shop.example");
  assert.equal(sent[":method"], "POST");
  assert.equal(sent[":path"], "/app/orders?id=7");
  assert.equal(sent[":scheme"], "http");
  assert.equal(sent["authorization"], "Bearer good");
  assert.equal(sent["cookie"], "sid=1", "with no header list, every header goes, as the Gateway API asks");
  assert.equal(sent["x-forwarded-for"], "127.0.0.1", "the headers as the gateway forwards them");
  assert.equal(sent["connection"], undefined, "hop-by-hop headers stay behind");
  const source = check.request.attributes.source.address.socket_address;
  assert.equal(source.address, "127.0.0.1");
  assert.ok(source.port_value > 0);
  assert.equal(check.request.attributes.destination.address.socket_address.port_value, gw.port);
  const timeMs = check.request.attributes.request.time.seconds * 1000 + check.request.attributes.request.time.nanos / 1e6;
  assert.ok(timeMs >= before - 1000 && timeMs <= Date.now(), `the request's start time (${timeMs}, asked at ${before})`);
  assert.match(check.metadata["traceparent"] ?? "", /^00-0af7651916cd43dd8448eb211c80319c-[0-9a-f]{16}-01$/, "the call carries the trace context");
  // The rule's 400 ms request timeout is the call's deadline, sent as grpc-timeout: what is left
  // of it when the call goes, so the deadline sits about 400 ms after the request started
  // however long the call took to arrive, and never more than 400 ms after it arrived.
  assert.ok(check.deadlineMs > before + 350, `deadline ${check.deadlineMs - before} ms after the request: not a shorter limit`);
  assert.ok(check.deadlineMs <= check.receivedAtMs + 400, `deadline ${check.deadlineMs - check.receivedAtMs} ms after the call arrived: not a longer limit`);

  const upstream = reply.json()["headers"] as Record<string, string>;
  assert.equal(upstream["x-user-id"], "alice", "no append field and the default action: added");
  assert.equal(upstream["x-auth-groups"], "admins", "append: false replaces");
  assert.equal(upstream["x-appended"], "one,two", "append: true appends");
  assert.equal(upstream["x-tier"], "bronze", "ADD_IF_ABSENT leaves a present header");
  assert.equal(upstream["x-new-tier"], "gold", "ADD_IF_ABSENT adds a missing one");
  assert.equal(upstream["x-plan"], undefined, "OVERWRITE_IF_EXISTS adds nothing");
  assert.equal(upstream["x-note"], "checked", "OVERWRITE_IF_EXISTS replaces a present header");
  assert.equal(upstream["x-replaced"], "by-auth", "OVERWRITE_IF_EXISTS_OR_ADD replaces");
  assert.equal(upstream["x-empty"], undefined, "an empty value is dropped");
  assert.equal(upstream["x-kept-empty"], "", "unless keep_empty_value");
  assert.equal(upstream["x-raw"], "bytes", "raw_value stands in for an empty value");
  assert.equal(Buffer.from(upstream["x-name"]!, "latin1").toString("utf8"), "José", "text goes out as its UTF-8 bytes");
  assert.equal(upstream["authorization"], undefined, "headers_to_remove takes the consumed credential off");
  assert.equal(upstream["x-remove-me"], undefined);
  assert.equal(upstream["host"], "shop.example", "Host cannot be removed");
  assert.equal(reply.json()["bodyBytes"], 9, "the body, framed by the gateway, not by the service's Content-Length");

  assert.equal(reply.headers["x-auth-served"], "from-route,yes", "response_headers_to_add, after the route's ResponseHeaderModifier, appends by default");
  assert.deepEqual(reply.headers["set-cookie"], ["route=1", "auth=1"], "Set-Cookie is appended as a line of its own");

  const ended = await telemetry.endOf("/app/orders");
  assert.equal(ended.responseFlags, "");
  assert.equal(ended.attempts.length, 1, "the check is not an attempt of the request");
  const checkAttempt = telemetry.endedAttempts.find((a) => a.externalAuth && a.url.endsWith("/envoy.service.auth.v3.Authorization/Check") && a.startPerfMs >= ended.startPerfMs);
  assert.ok(checkAttempt, "the check has its own client attempt");
  assert.equal(checkAttempt.method, "POST");
  assert.equal(checkAttempt.status, 200);
  assert.equal(checkAttempt.errorType, undefined);
  assert.equal(checkAttempt.peerAddress, "127.0.0.1");
  assert.equal(checkAttempt.peerPort, authz.port);
});

test("a denial reaches the client as the service wrote it: its status, headers and body, hop-by-hop headers out", async () => {
  const reply = await ask(gw.port, { path: "/app/denied", headers: { authorization: "Bearer bad" } });
  assert.equal(reply.status, 401);
  assert.equal(reply.headers["www-authenticate"], 'Bearer realm="edge"');
  assert.equal(reply.headers["content-type"], "application/json");
  assert.notEqual(reply.headers["connection"], "keep-alive", "the service cannot run the client's connection");
  assert.deepEqual(reply.json(), { error: "token expired" });
  assert.equal(reply.headers["x-auth-served"], "from-route", "the rule's response filters apply to the denial");
  const ended = await telemetry.endOf("/app/denied");
  assert.equal(ended.responseFlags, "UAEX");
  assert.equal(ended.localReplyDetails, "ext_authz_denied");
  assert.equal(app.requests.some((r) => r.url === "/app/denied"), false);

  const plain = await ask(gw.port, { path: "/app/plain", headers: { authorization: "Bearer plain-deny" } });
  assert.equal(plain.status, 403, "a denial without denied_response is a 403, as in Envoy");
  assert.equal(plain.body.length, 0);

  for (const status of [200, 599]) assert.equal((await ask(gw.port, { path: `/app/status-${status}`, headers: { authorization: `Bearer status-${status}` } })).status, status);
  const limit = await ask(gw.port, { path: "/app/body-limit", headers: { authorization: `Bearer body-${64 * 1024}` } });
  assert.equal(limit.status, 403);
  assert.equal(limit.body.toString("utf8"), "é".repeat(32 * 1024), "a body of 64 KiB goes whole, as UTF-8");
});

test("an empty CheckResponse allows, as Envoy reads a missing status as OK; a header set and removed by one answer ends removed", async () => {
  const empty = await ask(gw.port, { path: "/plain/empty", headers: { authorization: "Bearer empty" } });
  assert.equal(empty.status, 200);
  const both = await ask(gw.port, { path: "/plain/set-then-remove", headers: { authorization: "Bearer set-then-remove", "x-foo": "client" } });
  assert.equal(both.status, 200);
  assert.equal((both.json()["headers"] as Record<string, string>)["x-foo"], undefined);
});

test("a failed call, a service that cannot be reached and an answer the gateway cannot write are 403 ext_authz_error, and the upstream is never asked", async () => {
  const unavailable = await ask(gw.port, { path: "/app/unavailable", headers: { authorization: "Bearer unavailable" } });
  assert.equal(unavailable.status, 403);
  assert.deepEqual(unavailable.json(), { error: "ext_authz_error", message: "the authorization service failed the check (gRPC UNAVAILABLE)" }, "the status's details stay behind");
  const ended = await telemetry.endOf("/app/unavailable");
  assert.equal(ended.responseFlags, "UAEX");
  assert.equal(ended.localReplyDetails, "ext_authz_error");
  assert.ok(telemetry.endedAttempts.some((a) => a.externalAuth && a.errorType === "UNAVAILABLE"), "the check's span says how the call failed");

  const down = await ask(gw.port, { path: "/down/x" });
  assert.equal(down.status, 403);
  assert.equal(down.json()["error"], "ext_authz_error");

  const refusals: [token: string, message: string][] = [
    ["crlf", "the authorization service set header x-user-id to a value with a control character"],
    ["odd-status", "the authorization service denied with HTTP status 42, which is not a final status"],
    ["status-199", "the authorization service denied with HTTP status 199, which is not a final status"],
    ["status-600", "the authorization service denied with HTTP status 600, which is not a final status"],
    ["odd-action", "the authorization service asked for header action 4, which does not exist"],
    ["bad-name", 'the authorization service set a header named "bad name", which is not a valid header name'],
    [`body-${64 * 1024 + 2}`, "the authorization service's denial is larger than 65536 bytes"],
    ["garbage", "the authorization service's answer is not a CheckResponse"],
    ["body-300000", "the authorization service failed the check (gRPC RESOURCE_EXHAUSTED)"],
    ["own-deadline", "the authorization service failed the check (gRPC DEADLINE_EXCEEDED)"],
  ];
  for (const [token, message] of refusals) {
    const reply = await ask(gw.port, { path: `/plain/refused-${token}`, headers: { authorization: `Bearer ${token}` } });
    assert.equal(reply.status, 403, token);
    assert.deepEqual(reply.json(), { error: "ext_authz_error", message }, token);
    assert.equal(app.requests.some((r) => r.url === `/plain/refused-${token}`), false, token);
  }
  const unwritable = telemetry.endedAttempts.filter((a) => a.externalAuth && a.url.endsWith("/Check") && a.errorType === "upstream_protocol_error");
  assert.equal(unwritable.length, 8, "an answer the gateway cannot use is a protocol error on the check's span");

  for (const path of ["/app/unavailable", "/down/x"]) assert.equal(app.requests.some((r) => r.url === path), false, path);
});

test("a check with no answer in the rule's request timeout is a 403", async () => {
  const reply = await ask(gw.port, { path: "/app/hang", headers: { authorization: "Bearer hang" } });
  assert.equal(reply.status, 403);
  assert.deepEqual(reply.json(), { error: "ext_authz_error", message: "the authorization service did not answer in time" });
  const ended = await telemetry.endOf("/app/hang");
  assert.equal(ended.responseFlags, "UAEX");
  assert.ok(telemetry.endedAttempts.some((a) => a.externalAuth && a.url.endsWith("/Check") && a.errorType === "timeout" && a.grpcStatus === 4));
});

test("a client that leaves during the check cancels the call at once, long before its 10 s deadline", async () => {
  const req = http.request({ host: "127.0.0.1", port: gw.port, path: "/plain/leaving", headers: { authorization: "Bearer hang" }, agent: false });
  req.on("error", () => {});
  req.end();
  await until(() => authz.seen.some((c) => c.request.attributes.request.http.path === "/plain/leaving"));
  const leftAt = Date.now();
  req.destroy();
  await until(() => checkOf("/plain/leaving").cancelledAtMs !== undefined);
  assert.ok(checkOf("/plain/leaving").cancelledAtMs! - leftAt < 5_000, "cancelled by the gateway, not by the deadline");
  const ended = await telemetry.endOf("/plain/leaving");
  assert.equal(ended.errorType, "client_aborted");
  const checkAttempt = telemetry.endedAttempts.find((a) => a.externalAuth && a.startPerfMs >= ended.startPerfMs && a.url.endsWith("/Check"));
  assert.equal(checkAttempt?.grpcStatus, 1, "the check's span says CANCELLED");
  assert.equal(checkAttempt?.errorType, "client_aborted");
});

test("a request without a body is size -1, its start time is exact, and a repeated header is joined with a comma", async () => {
  const reply = await ask(gw.port, { path: "/plain/attrs", headers: { authorization: "Bearer other", "set-cookie": ["a=1", "b=2"] } });
  assert.equal(reply.status, 200);
  const http1 = checkOf("/plain/attrs").request.attributes.request;
  assert.equal(http1.http.size, -1);
  assert.equal(http1.http.headers["set-cookie"], "a=1,b=2");
  const ended = await telemetry.endOf("/plain/attrs");
  const sentMs = http1.time.seconds * 1000 + http1.time.nanos / 1e6;
  assert.ok(Math.abs(sentMs - ended.startTimeMs) < 0.001, `request.time ${sentMs} is the request's start ${ended.startTimeMs}`);
});

test("the service's answer headers reach a proxied answer and a direct response of the rule", async () => {
  const proxied = await ask(gw.port, { path: "/plain/proxied", headers: { authorization: "Bearer good" } });
  assert.equal(proxied.status, 200);
  assert.equal(proxied.headers["x-auth-served"], "yes");
  const direct = await ask(gw.port, { path: "/direct/x", headers: { authorization: "Bearer good" } });
  assert.equal(direct.status, 418);
  assert.equal(direct.headers["x-auth-served"], "yes");
  assert.equal(direct.body.toString(), "short and stout");
});

test("grpc.allowedHeaders sends only the listed headers, and no pseudo-headers", async () => {
  const reply = await ask(gw.port, { path: "/listed/x", headers: { authorization: "Bearer other", "x-tenant": "acme", cookie: "sid=1" } });
  assert.equal(reply.status, 200);
  const asked = Date.now();
  assert.deepEqual(checkOf("/listed/x").request.attributes.request.http.headers, { authorization: "Bearer other", "x-tenant": "acme" });
  const deadline = checkOf("/listed/x").deadlineMs;
  assert.ok(deadline > asked + 5_000 && deadline <= asked + 10_050, `a rule without a request timeout gives the check 10 s (${deadline - asked} ms)`);
});

test("forwardBody: a UTF-8 body travels as text, any other as raw bytes, and the upstream gets the same bytes", async () => {
  const text = await ask(gw.port, { method: "POST", path: "/body/text", headers: { "content-type": "text/plain" }, body: "héllo" });
  assert.equal(text.status, 200);
  const textCheck = checkOf("/body/text").request.attributes.request.http;
  assert.equal(textCheck.body, "héllo");
  assert.equal(textCheck.raw_body.length, 0);
  assert.equal(textCheck.size, 6);
  assert.equal(text.json()["bodyBytes"], 6);

  const bytes = Buffer.from([0xff, 0x00, 0xfe, 0x41]);
  const binary = await ask(gw.port, { method: "POST", path: "/body/binary", body: bytes });
  assert.equal(binary.status, 200);
  const binaryCheck = checkOf("/body/binary").request.attributes.request.http;
  assert.equal(binaryCheck.body, "");
  assert.deepEqual(Buffer.from(binaryCheck.raw_body), bytes);
  assert.equal(binary.json()["bodyBytes"], 4);
});

test("an allowed redirect carries the service's answer headers too", async () => {
  const reply = await ask(gw.port, { path: "/moved/x", headers: { authorization: "Bearer good" } });
  assert.equal(reply.status, 302);
  assert.equal(reply.headers.location, "http://elsewhere.example:8080/moved/x");
  assert.equal(reply.headers["x-auth-served"], "yes");
});

test("an allowed request the gateway answers itself (a rate limit's 429, a dead upstream's 502, an upgrade's raw 429) carries the service's answer headers too", async () => {
  const good = { authorization: "Bearer good" };
  assert.equal((await ask(gw.port, { path: "/limited/1", headers: good })).status, 200);
  const limited = await ask(gw.port, { path: "/limited/2", headers: good });
  assert.equal(limited.status, 429);
  assert.equal(limited.json()["error"], "local_rate_limited");
  assert.ok(Number(limited.headers["retry-after"]) > 0, `Retry-After ${limited.headers["retry-after"]}`);
  assert.equal(limited.headers["x-auth-served"], "yes");
  assert.deepEqual(limited.headers["set-cookie"], ["auth=1"]);
  assert.equal(limited.headers["content-type"], "application/json", "the gateway's own headers stay");

  const dead = await ask(gw.port, { path: "/dead/1", headers: good });
  assert.equal(dead.status, 502);
  assert.equal(dead.headers["x-auth-served"], "yes");
  assert.deepEqual(dead.headers["set-cookie"], ["auth=1"]);
  assert.equal((await ask(gw.port, { path: "/dead/2", headers: { authorization: "Bearer plain-deny" } })).headers["x-auth-served"], undefined, "a denied request gets none");

  const ws = new WebSocket(`ws://127.0.0.1:${gw.port}/upgrade-limited/first`, { headers: good });
  try {
    const [response] = (await once(ws, "upgrade")) as [http.IncomingMessage];
    assert.equal(response.statusCode, 101, "the first upgrade takes the rule's one token");
  } finally {
    ws.terminate();
  }
  const refused = await upgradeHead(gw.port, "/upgrade-limited/second", good);
  assert.match(refused.toString("latin1"), /^HTTP\/1\.1 429 Too Many Requests\r\n/);
  const lines = headLines(refused);
  assert.ok(lines.includes("x-auth-served: yes") && lines.includes("set-cookie: auth=1") && lines.includes("connection: close"), lines.join(" | "));
  assert.equal(lines.filter((l) => l.startsWith("content-type:")).length, 1);
});

test("an upgrade is checked over gRPC too: denied, the client gets the denial; allowed, the 101 carries the answer headers", async () => {
  const head = await upgradeHead(gw.port, "/socket/denied", { authorization: "Bearer bad" });
  assert.match(head.toString("latin1"), /^HTTP\/1\.1 401 Unauthorized\r\n/);
  assert.ok(headLines(head).includes('www-authenticate: bearer realm="edge"'), headLines(head).join(" | "));

  const ws = new WebSocket(`ws://127.0.0.1:${gw.port}/socket/chat`, { headers: { authorization: "Bearer good" } });
  try {
    // Both awaited together: the greeting can arrive in the same read as the 101.
    const [[response], [greeting]] = (await Promise.all([once(ws, "upgrade"), once(ws, "message")])) as [[http.IncomingMessage], [Buffer]];
    assert.equal(response.headers["x-auth-served"], "from-backend,yes", "after the backendRef's ResponseHeaderModifier");
    assert.equal(greeting.toString(), "hello /socket/chat 127.0.0.1");
  } finally {
    ws.terminate();
  }
  assert.equal(checkOf("/socket/chat").request.attributes.request.http.headers["upgrade"], undefined, "the check describes a plain request");
});

test("header text: UTF-8 bytes reach the service as that text, and the same bytes come back onto the forwarded request", async () => {
  const utf8 = Buffer.from("José", "utf8");
  const reply = await ask(gw.port, { path: "/app/utf8", headers: { authorization: "Bearer echo", "x-user": utf8.toString("latin1") } });
  assert.equal(reply.status, 200);
  assert.equal(checkOf("/app/utf8").request.attributes.request.http.headers["x-user"], "José");
  const upstream = reply.json()["headers"] as Record<string, string>;
  assert.deepEqual(Buffer.from(upstream["x-user-echo"]!, "latin1"), utf8);
  assert.deepEqual(Buffer.from(upstream["x-user"]!, "latin1"), utf8);

  const latin1 = await ask(gw.port, { path: "/app/latin1", headers: { authorization: "Bearer echo", "x-user": "caf\xe9" } });
  assert.equal(latin1.status, 200);
  assert.equal(checkOf("/app/latin1").request.attributes.request.http.headers["x-user"], "café", "a byte that is not UTF-8 goes as its Latin-1 character");
});

test("header names that are keys of every object: constructor is a header like any other, __proto__ fails the check", async () => {
  const odd = await ask(gw.port, { path: "/app/odd-names", headers: { authorization: "Bearer odd-names" } });
  assert.equal(odd.status, 200);
  const upstream = odd.json()["headers"] as Record<string, string>;
  assert.equal(upstream["constructor"], "c1");
  assert.equal(upstream["x-user-id"], "alice");

  const proto = await ask(gw.port, { path: "/app/proto", headers: { authorization: "Bearer proto" } });
  assert.equal(proto.status, 403);
  assert.deepEqual(proto.json(), { error: "ext_authz_error", message: 'the authorization service set a header named "__proto__", which is not a valid header name' });

  const listed = await ask(gw.port, { path: "/listed/constructor", headers: { authorization: "Bearer other" } });
  assert.equal(listed.status, 200, "a listed constructor the request lacks is simply not sent");
  assert.deepEqual(checkOf("/listed/constructor").request.attributes.request.http.headers, { authorization: "Bearer other" });
});

test("closing the gateway's upstream connections cancels a check in flight at once", async () => {
  const own = await startGateway(
    GATEWAY_YAML +
      backendYaml("app", app.port) +
      backendYaml("authz", authz.port) +
      routeYaml(`    - matches: [{path: {type: PathPrefix, value: /closing}}]
      filters:
${grpcFilter("authz")}      backendRefs: [${ref("app")}]
`),
  );
  try {
    const reply = ask(own.port, { path: "/closing/x", headers: { authorization: "Bearer hang" } });
    await until(() => authz.seen.some((c) => c.request.attributes.request.http.path === "/closing/x"));
    await own.pools.close();
    const answered = await reply;
    assert.equal(answered.status, 403);
    assert.deepEqual(answered.json(), { error: "ext_authz_error", message: "the authorization service failed the check (gRPC CANCELLED)" }, "cancelled, not left to its 10 s deadline");
    await until(() => checkOf("/closing/x").cancelledAtMs !== undefined);
    const after = await ask(own.port, { path: "/closing/y", headers: { authorization: "Bearer good" } });
    assert.deepEqual(after.json(), { error: "ext_authz_error", message: "the gateway is closing its upstream connections" }, "no channel opens once closed");
  } finally {
    await own.close();
  }
});
