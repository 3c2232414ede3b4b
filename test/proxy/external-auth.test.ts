// The HTTPRoute ExternalAuth filter (protocol HTTP) end to end, against a real authorization
// service and real upstreams on 127.0.0.1: what the service is asked, what an allowing answer
// hands on, how denials and failures reach the client, and that nothing of the rule runs
// before the verdict.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import http from "node:http";
import type { AddressInfo } from "node:net";
import net from "node:net";
import { once } from "node:events";
import { WebSocket } from "ws";
import { DENIAL_BODY_LIMIT_BYTES } from "../../src/proxy/auth-check.ts";
import { closedPort } from "../support/otlp-receiver.ts";
import { throwOnDispatchOf } from "../support/throw-on-dispatch.ts";
import { headLines, upgradeHead } from "../support/raw-upgrade.ts";
import { rawExchange } from "../support/raw-exchange.ts";
import { type TestUpstream, startUpstream } from "../support/upstreams.ts";
import { until } from "../support/until.ts";
import { GATEWAY_YAML, type GatewayUnderTest, type Reply, ask, backendYaml, ref, routeYaml, startGateway } from "./harness.ts";
import { RecordingTelemetry } from "./recording-telemetry.ts";

interface AuthRequest {
  readonly method: string;
  readonly url: string;
  readonly headers: http.IncomingHttpHeaders;
  readonly bodyBytes: number;
  readonly body: string;
  closedEarly: boolean;
}

/**
 * The authorization service. By the request's Authorization: `Bearer good` is allowed with
 * the user's id (and headers that describe its own answer), `Bearer bad` gets a 401 with a
 * challenge and a JSON body, `Bearer hang` never gets an answer, `Bearer huge` gets a 403
 * whose body is over the relay limit, `Bearer busy` a 503; no Authorization is sent to log in.
 */
async function startAuthService(): Promise<{ port: number; seen: AuthRequest[]; close(): Promise<void> }> {
  const seen: AuthRequest[] = [];
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const body = Buffer.concat(chunks);
      const record: AuthRequest = { method: req.method ?? "", url: req.url ?? "", headers: req.headers, bodyBytes: body.length, body: body.toString("latin1"), closedEarly: false };
      seen.push(record);
      res.on("close", () => (record.closedEarly = !res.writableFinished));
      switch (req.headers.authorization) {
        case "Bearer good":
          // Beside the user's id, headers that describe the answer or that the gateway owns.
          res.writeHead(200, {
            "x-user-id": "alice",
            "x-auth-groups": "admins",
            "content-type": "text/plain",
            "content-security-policy": "default-src 'none'",
            "set-cookie": "s=1",
            "x-request-id": "from-auth",
            "x-forwarded-for": "6.6.6.6",
            expect: "100-continue",
            traceparent: "00-11111111111111111111111111111111-2222222222222222-01",
            "x-envoy-decorator-operation": "auth",
            "www-authenticate": "Basic",
            etag: '"v1"',
            connection: "x-hop",
            "x-hop": "1",
          });
          res.end("allowed");
          return;
        case "Bearer consumed":
          // Envoy's way for an HTTP service to take consumed credentials off the request.
          res.writeHead(200, { "x-user-id": "bob", "x-envoy-auth-headers-to-remove": ["Authorization", "X-Api-Key,host"] });
          res.end();
          return;
        case "Bearer slow":
          setTimeout(() => res.writeHead(200, { "x-user-id": "slow" }).end(), 200);
          return;
        case "Bearer bad": {
          const body = JSON.stringify({ error: "token expired" });
          res.writeHead(401, {
            "www-authenticate": 'Bearer realm="edge"',
            "content-type": "application/json",
            "x-auth-reason": "expired",
            host: "auth.internal",
            "access-control-allow-origin": "https://evil.example",
            "access-control-allow-credentials": "true",
          });
          res.end(body);
          return;
        }
        case "Bearer hang":
          return;
        case "Bearer huge":
          res.writeHead(403, { "content-type": "text/plain" });
          res.end(Buffer.alloc(DENIAL_BODY_LIMIT_BYTES + 1, 97));
          return;
        case "Bearer busy":
          res.writeHead(503, { "content-type": "text/plain" });
          res.end("panic at /srv/auth.go:42");
          return;
        default:
          res.writeHead(302, { location: `https://login.example/?rd=${encodeURIComponent(req.url ?? "")}` });
          res.end();
      }
    });
  });
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  return {
    port: (server.address() as AddressInfo).port,
    seen,
    close: () => {
      server.closeAllConnections();
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
}

const authFilter = (backend: string, http: string): string => `      - type: ExternalAuth
        externalAuth:
          protocol: HTTP
          backendRef: ${ref(backend)}
          http: ${http}
`;

let app: TestUpstream;
let shadow: TestUpstream;
let auth: Awaited<ReturnType<typeof startAuthService>>;
let gw: GatewayUnderTest;
const telemetry = new RecordingTelemetry();

before(async () => {
  app = await startUpstream("app");
  shadow = await startUpstream("shadow");
  auth = await startAuthService();
  const down = await closedPort();
  const yaml =
    GATEWAY_YAML +
    backendYaml("app", app.port) +
    backendYaml("authz", auth.port) +
    backendYaml("authz-down", down) +
    backendYaml("shadow", shadow.port) +
    backendYaml("dead-then-app", down, app.port) +
    backendYaml("authz-one", auth.port) +
    "  connectionPool: {maxConnections: 1}\n" +
    routeYaml(`    - matches: [{path: {type: PathPrefix, value: /app}}]
      filters:
${authFilter("authz", "{path: /verify/, allowedHeaders: [x-tenant, X-Request-Id]}")}      - type: RequestHeaderModifier
        requestHeaderModifier: {set: [{name: x-auth-groups, value: from-route}]}
      backendRefs: [${ref("app")}]
    - matches: [{path: {type: PathPrefix, value: /listed}}]
      filters:
${authFilter("authz", "{allowedResponseHeaders: [x-user-id, content-type]}")}      backendRefs: [${ref("app")}]
    - matches: [{path: {type: PathPrefix, value: /down}}]
      filters:
${authFilter("authz-down", "{}")}      backendRefs: [${ref("app")}]
    - matches: [{path: {type: PathPrefix, value: /timed}}]
      timeouts: {request: 300ms}
      filters:
${authFilter("authz", "{}")}      backendRefs: [${ref("app")}]
    - matches: [{path: {type: PathPrefix, value: /one}}]
      timeouts: {request: 300ms}
      filters:
${authFilter("authz-one", "{}")}      backendRefs: [${ref("app")}]
    - matches: [{path: {type: PathPrefix, value: /long}}]
      timeouts: {request: 3s}
      filters:
${authFilter("authz-one", "{}")}      backendRefs: [${ref("app")}]
    - matches: [{path: {type: PathPrefix, value: /socket-down}}]
      filters:
${authFilter("authz-down", "{}")}      backendRefs: [${ref("app")}]
    - matches: [{path: {type: PathPrefix, value: /body}}]
      timeouts: {request: 500ms}
      filters:
      - type: ExternalAuth
        externalAuth:
          protocol: HTTP
          backendRef: ${ref("authz")}
          http: {}
          forwardBody: {maxSize: 16}
      backendRefs: [${ref("app")}]
    - matches: [{path: {type: PathPrefix, value: /big-body}}]
      filters:
      - type: ExternalAuth
        externalAuth: {protocol: HTTP, backendRef: ${ref("authz")}, http: {}, forwardBody: {maxSize: 4194304}}
      - type: RequestMirror
        requestMirror: {backendRef: ${ref("shadow")}}
      backendRefs: [${ref("app")}]
    - matches: [{path: {type: PathPrefix, value: /retried-body}}]
      retry: {attempts: 1, backoff: 1ms}
      filters:
      - type: ExternalAuth
        externalAuth: {protocol: HTTP, backendRef: ${ref("authz")}, http: {}, forwardBody: {maxSize: 64}}
      backendRefs: [${ref("dead-then-app")}]
    - matches: [{path: {type: PathPrefix, value: /slow}}]
      timeouts: {request: 400ms}
      filters:
${authFilter("authz", "{}")}      backendRefs: [${ref("app")}]
    - matches: [{path: {type: PathPrefix, value: /cors}}]
      filters:
      - type: CORS
        cors: {allowOrigins: ["https://app.example"]}
${authFilter("authz", "{}")}      - type: ResponseHeaderModifier
        responseHeaderModifier: {add: [{name: x-edge, value: "1"}]}
      backendRefs: [${ref("app")}]
    - matches: [{path: {type: PathPrefix, value: /moved}}]
      filters:
${authFilter("authz", "{}")}      - type: RequestRedirect
        requestRedirect: {hostname: elsewhere.example, statusCode: 301}
    - matches: [{path: {type: PathPrefix, value: /socket}}]
      filters:
${authFilter("authz", "{}")}      backendRefs: [${ref("app")}]
`);
  gw = await startGateway(yaml, telemetry);
});

after(async () => {
  await gw.close();
  await auth.close();
  await app.close();
  await shadow.close();
});

function upstreamSaw(path: string): Record<string, unknown> | undefined {
  const seen = app.requests.find((r) => r.url === path);
  return seen === undefined ? undefined : (seen.headers as Record<string, unknown>);
}

test("an allowed request: the service is asked with the method, prefixed path, Host, Authorization and allowed headers only, and no body", async () => {
  const reply = await ask(gw.port, {
    method: "POST",
    path: "/app/orders?id=7",
    headers: { host: "shop.example", authorization: "Bearer good", "x-tenant": "acme", "x-secret": "keep-me-here", cookie: "sid=1", "content-type": "application/json", "x-request-id": "rid-1" },
    body: '{"qty":2}',
  });
  assert.equal(reply.status, 200);
  const check = auth.seen.find((r) => r.url === "/verify/app/orders?id=7");
  assert.ok(check, `the check goes to the prefix (its trailing / dropped) + the received target; saw ${auth.seen.map((r) => r.url).join(", ")}`);
  assert.equal(check.method, "POST");
  assert.equal(check.bodyBytes, 0);
  assert.equal(check.headers["content-length"], "0");
  assert.equal(check.headers.host, "shop.example");
  assert.equal(check.headers.authorization, "Bearer good");
  assert.equal(check.headers["x-tenant"], "acme");
  assert.equal(check.headers["x-request-id"], "rid-1", "allowedHeaders match whatever their case in the config");
  assert.equal(check.headers["x-secret"], undefined, "a header not allowed stays behind");
  assert.equal(check.headers.cookie, undefined);
  assert.equal(check.headers["content-type"], undefined);
  assert.match(String(check.headers.traceparent), /^00-0af7651916cd43dd8448eb211c80319c-/, "the check carries the trace context");

  const body = reply.json();
  assert.equal(body["bodyBytes"], 9, "the upstream gets the whole body the check did not take");
  const headers = body["headers"] as Record<string, string>;
  assert.equal(headers["x-user-id"], "alice", "the service's headers go onto the forwarded request");
  assert.equal(headers["x-auth-groups"], "from-route", "then the route's RequestHeaderModifier applies, as after Envoy's ext_authz");
  assert.equal(headers["content-type"], "application/json", "the service's own Content-Type does not relabel the client's body");
  assert.equal(headers["content-security-policy"], undefined, "no Content-* header of the answer");
  assert.equal(headers["set-cookie"], undefined);
  assert.equal(headers["x-request-id"], "rid-1", "the service's echoed request id does not replace the request's");
  assert.equal(headers["x-forwarded-for"], "127.0.0.1", "nor its X-Forwarded-For the gateway's");
  assert.equal(headers["expect"], undefined);
  assert.match(headers["traceparent"]!, /^00-0af7651916cd43dd8448eb211c80319c-/, "the trace context stays the gateway's");
  for (const name of ["x-envoy-decorator-operation", "www-authenticate", "etag", "x-hop"]) assert.equal(headers[name], undefined, name);
  assert.equal(headers["x-secret"], "keep-me-here");

  const ended = await telemetry.endOf("/app/orders");
  assert.equal(ended.responseFlags, "");
  assert.equal(ended.attempts.length, 1, "the check is not an attempt of the request");
  assert.equal(ended.attempts[0]!.backend.displayName, "default/app");
});

test("with allowedResponseHeaders, only the listed headers of an allowing answer are handed on", async () => {
  const reply = await ask(gw.port, { path: "/listed", headers: { authorization: "Bearer good" } });
  assert.equal(reply.status, 200);
  const headers = reply.json()["headers"] as Record<string, string>;
  assert.equal(headers["x-user-id"], "alice");
  assert.equal(headers["content-type"], "text/plain", "a listed header is handed on even when it describes the answer");
  assert.equal(headers["x-auth-groups"], undefined);
  const check = auth.seen.find((r) => r.url === "/listed");
  assert.equal(check?.method, "GET", "no prefix: the check's path is the received one");
  assert.equal(check.bodyBytes, 0);
  assert.equal(check.headers["content-length"], undefined, "a GET check has no body and, as undici sends it, no Content-Length");
  assert.equal(check.headers["transfer-encoding"], undefined);
});

test("x-envoy-auth-headers-to-remove (on any of its lines) takes the named headers off the forwarded request, Host excepted", async () => {
  const reply = await ask(gw.port, { path: "/app/consumed", headers: { host: "shop.example", authorization: "Bearer consumed", "x-api-key": "k-1", "x-tenant": "acme" } });
  assert.equal(reply.status, 200);
  const headers = reply.json()["headers"] as Record<string, string>;
  assert.equal(headers["x-user-id"], "bob");
  assert.equal(headers["authorization"], undefined);
  assert.equal(headers["x-api-key"], undefined);
  assert.equal(headers["host"], "shop.example");
  assert.equal(headers["x-tenant"], "acme");
  assert.equal(headers["x-envoy-auth-headers-to-remove"], undefined, "the instruction itself is not handed on");
});

test("a denial reaches the client as the service wrote it, with the rule's response filters, and the upstream never sees the request", async () => {
  const before = app.requests.length;
  const reply = await ask(gw.port, { method: "POST", path: "/cors/x", headers: { authorization: "Bearer bad", origin: "https://app.example" }, body: "payload" });
  assert.equal(reply.status, 401);
  assert.deepEqual(reply.json(), { error: "token expired" });
  assert.equal(reply.headers["www-authenticate"], 'Bearer realm="edge"');
  assert.equal(reply.headers["x-auth-reason"], "expired");
  assert.equal(reply.headers["content-length"], String(reply.body.length));
  assert.equal(reply.headers["x-edge"], "1");
  assert.equal(reply.headers["access-control-allow-origin"], "https://app.example", "a browser can read the denial; the service's own grant is gone");
  assert.equal(reply.headers["access-control-allow-credentials"], undefined);
  assert.equal(reply.headers.host, undefined, "the service's Host is not the client's business");
  const foreign = await ask(gw.port, { path: "/cors/y", headers: { authorization: "Bearer bad", origin: "https://evil.example" } });
  assert.equal(foreign.status, 401);
  assert.equal(foreign.headers["access-control-allow-origin"], undefined, "an origin the rule refuses cannot read the denial through the service's grant");
  assert.equal(foreign.headers["access-control-allow-credentials"], undefined);
  assert.equal(app.requests.length, before);
  const ended = await telemetry.endOf("/cors/x");
  assert.equal(ended.status, 401);
  assert.equal(ended.responseFlags, "UAEX");
  assert.equal(ended.localReplyDetails, "ext_authz_denied");
  assert.equal(ended.errorType, undefined, "a 4xx is the client's error");
  assert.deepEqual(ended.attempts, []);
});

test("a CORS preflight is answered before the check, so the browser can ask for the credentials", async () => {
  const reply = await ask(gw.port, { method: "OPTIONS", path: "/cors/preflight", headers: { origin: "https://app.example", "access-control-request-method": "GET" } });
  assert.equal(reply.status, 204);
  assert.equal((await telemetry.endOf("/cors/preflight")).localReplyDetails, "cors_response");
  assert.equal(auth.seen.some((r) => r.url === "/cors/preflight"), false);
});

test("a redirect to log in is relayed, and a redirect rule runs only after an allowing answer", async () => {
  const login = await ask(gw.port, { path: "/moved/a?b=1" });
  assert.equal(login.status, 302);
  assert.equal(login.headers.location, "https://login.example/?rd=%2Fmoved%2Fa%3Fb%3D1");
  const moved = await ask(gw.port, { path: "/moved/a", headers: { authorization: "Bearer good" } });
  assert.equal(moved.status, 301);
  assert.match(String(moved.headers.location), /^http:\/\/elsewhere\.example(:\d+)?\/moved\/a$/);
});

test("a 5xx from the service is a failed check, as in Envoy: 403 ext_authz_error, its error page kept from the client", async () => {
  const busy = await ask(gw.port, { path: "/app/busy", headers: { authorization: "Bearer busy" } });
  assert.equal(busy.status, 403);
  assert.deepEqual(busy.json(), { error: "ext_authz_error", message: "the authorization service answered 503" });
  const ended = await telemetry.endOf("/app/busy");
  assert.equal(ended.responseFlags, "UAEX");
  assert.equal(ended.localReplyDetails, "ext_authz_error");
  assert.ok(telemetry.eventsFor("/app/busy").includes("attemptEnd /app/busy #0 status=503 error=503"), telemetry.eventsFor("/app/busy").join("; "));
});

test("a denial of a HEAD ends at its head: the next request on the connection is answered cleanly", async () => {
  const text = await rawExchange(gw.port, "HEAD /app/head HTTP/1.1\r\nHost: a.example\r\nAuthorization: Bearer bad\r\n\r\nGET /app/after HTTP/1.1\r\nHost: a.example\r\nAuthorization: Bearer bad\r\nConnection: close\r\n\r\n");
  const [head, rest] = [text.slice(0, text.indexOf("\r\n\r\n") + 4), text.slice(text.indexOf("\r\n\r\n") + 4)];
  assert.match(head, /^HTTP\/1\.1 401 /);
  assert.match(rest, /^HTTP\/1\.1 401 [^]*\r\n\r\n\{"error":"token expired"\}$/, "the second answer starts right after the first head");
  assert.equal(auth.seen.find((r) => r.url === "/verify/app/head")?.method, "HEAD");
});

test("an unreachable service fails closed: 403 ext_authz_error, and the upstream never sees the request", async () => {
  const before = app.requests.length;
  const reply = await ask(gw.port, { path: "/down/x", headers: { authorization: "Bearer good" } });
  assert.equal(reply.status, 403);
  assert.equal(reply.json()["error"], "ext_authz_error");
  assert.match(String(reply.json()["message"]), /could not be reached \(connection_refused\)/);
  assert.equal(app.requests.length, before);
  const ended = await telemetry.endOf("/down/x");
  assert.equal(ended.responseFlags, "UAEX");
  assert.equal(ended.localReplyDetails, "ext_authz_error");
  assert.ok(telemetry.eventsFor("/down/x").includes("attemptEnd /down/x #0 status=0 error=connection_refused"), telemetry.eventsFor("/down/x").join("; "));
});

test("a check that outlives the rule's request timeout fails closed and is cut at the service", async () => {
  const reply = await ask(gw.port, { path: "/timed/x", headers: { authorization: "Bearer hang" } });
  assert.equal(reply.status, 403);
  assert.equal(reply.json()["message"], "the authorization service did not answer in time");
  assert.ok(telemetry.eventsFor("/timed/x").includes("attemptEnd /timed/x #0 status=0 error=timeout"), telemetry.eventsFor("/timed/x").join("; "));
  await until(() => auth.seen.some((r) => r.url === "/timed/x" && r.closedEarly));
});

test("a denial over the relay limit fails closed instead of being held whole", async () => {
  const reply = await ask(gw.port, { path: "/app/huge", headers: { authorization: "Bearer huge" } });
  assert.equal(reply.status, 403);
  assert.equal(reply.json()["error"], "ext_authz_error");
  assert.match(String(reply.json()["message"]), /larger than 65536 bytes/);
});

test("checks queue for the service's connections; one given up in the queue is never sent, and every slot comes back", async () => {
  const holder = ask(gw.port, { path: "/long/holder", headers: { authorization: "Bearer hang" } });
  await until(() => auth.seen.some((r) => r.url === "/long/holder"));
  // The only connection is busy for 3 s: this check waits in the queue and runs out of its 300 ms there.
  const queued = await ask(gw.port, { path: "/one/queued", headers: { authorization: "Bearer hang" } });
  assert.equal(queued.status, 403);
  assert.equal(queued.json()["message"], "the authorization service did not answer in time");
  assert.equal((await holder).status, 403);
  const entry = gw.pools.entry(`http://127.0.0.1:${auth.port}`, 1);
  await until(() => entry.active === 0 && entry.waiting === 0);
  assert.equal(auth.seen.filter((r) => r.url === "/one/queued").length, 0, "the check that timed out in the queue left it");
  assert.equal((await ask(gw.port, { path: "/one/after", headers: { authorization: "Bearer good" } })).status, 200);
  await until(() => entry.active === 0 && entry.waiting === 0);
});

test("a check whose dispatch throws (a gateway bug) fails closed and gives its slot back", async () => {
  const entry = gw.pools.entry(`http://127.0.0.1:${auth.port}`, 1);
  const undo = throwOnDispatchOf(entry, "/one/throws");
  try {
    const reply = await ask(gw.port, { path: "/one/throws", headers: { authorization: "Bearer good" } });
    assert.equal(reply.status, 403);
    assert.equal(reply.json()["message"], "the authorization check failed to start");
  } finally {
    undo();
  }
  await until(() => entry.active === 0 && entry.waiting === 0);
  assert.equal((await ask(gw.port, { path: "/one/fine", headers: { authorization: "Bearer good" } })).status, 200);
});

test("pipelined requests each keep their own target while their checks run", async () => {
  const request = (path: string, last: boolean): string => `GET ${path} HTTP/1.1\r\nHost: a.example\r\nAuthorization: Bearer slow\r\n${last ? "Connection: close\r\n" : ""}\r\n`;
  const text = await rawExchange(gw.port, request("/app/first", false) + request("/app/second", true));
  assert.equal(text.match(/HTTP\/1\.1 200 /g)?.length, 2, text);
  assert.ok(upstreamSaw("/app/first") && upstreamSaw("/app/second"), app.requests.map((r) => r.url).join(", "));
});

test("the rule's request timeout covers the check: the upstream gets what is left of it", async () => {
  // 200 ms of check and 300 ms of upstream exceed the rule's 400 ms.
  const reply = await ask(gw.port, { path: "/slow/300", headers: { authorization: "Bearer slow" } });
  assert.equal(reply.status, 504);
  assert.equal(reply.json()["error"], "request_timeout");
});

test("a client that leaves during the check: the check is cut and the request ends as a client abort", async () => {
  const socket = net.connect(gw.port, "127.0.0.1");
  await once(socket, "connect");
  socket.write("GET /app/leaving HTTP/1.1\r\nHost: a.example\r\nAuthorization: Bearer hang\r\n\r\n");
  await until(() => auth.seen.some((r) => r.url === "/verify/app/leaving"));
  socket.destroy();
  const ended = await telemetry.endOf("/app/leaving");
  assert.equal(ended.errorType, "client_aborted");
  assert.equal(ended.responseFlags, "DC");
  assert.ok(telemetry.eventsFor("/app/leaving").includes("attemptEnd /app/leaving #0 status=0 error=client_aborted"), telemetry.eventsFor("/app/leaving").join("; "));
  const check = telemetry.endedAttempts.find((a) => a.externalAuth && a.url.endsWith("/verify/app/leaving"))!;
  assert.ok(check.endPerfMs <= ended.endPerfMs, "the check's span ends no later than the request's");
  await until(() => auth.seen.some((r) => r.url === "/verify/app/leaving" && r.closedEarly));
});

test("an upgrade whose client leaves during the check: the check is cut and the upgrade ends as a client abort", async () => {
  const socket = net.connect(gw.port, "127.0.0.1");
  await once(socket, "connect");
  socket.write("GET /socket/leaving HTTP/1.1\r\nHost: a.example\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nAuthorization: Bearer hang\r\n\r\n");
  await until(() => auth.seen.some((r) => r.url === "/socket/leaving"));
  // A reset: node reads nothing from an upgrade's socket before the tunnel opens, so a plain
  // FIN is seen only once the check ends.
  socket.resetAndDestroy();
  const ended = await telemetry.endOf("/socket/leaving");
  assert.equal(ended.errorType, "client_aborted");
  assert.equal(ended.responseFlags, "DC");
  assert.ok(telemetry.eventsFor("/socket/leaving").includes("attemptEnd /socket/leaving #0 status=0 error=client_aborted"), telemetry.eventsFor("/socket/leaving").join("; "));
  await until(() => auth.seen.some((r) => r.url === "/socket/leaving" && r.closedEarly));
});

test("an upgrade is checked too: denied, the client gets the denial; allowed, the tunnel opens", async () => {
  const head = await upgradeHead(gw.port, "/socket/no-token");
  assert.match(head.toString("latin1"), /^HTTP\/1\.1 302 Found\r\n/);
  const denied = headLines(head);
  assert.ok(denied.includes("location: https://login.example/?rd=%2fsocket%2fno-token"), denied.join(" | "));
  assert.ok(denied.includes("connection: close"));
  assert.ok(denied.includes("content-length: 0"), "the service's empty body, framed");
  const ws = new WebSocket(`ws://127.0.0.1:${gw.port}/socket/chat`, { headers: { authorization: "Bearer good" } });
  const [greeting] = (await once(ws, "message")) as [Buffer];
  assert.equal(greeting.toString(), "hello /socket/chat 127.0.0.1");
  ws.close();
  const check = auth.seen.find((r) => r.url === "/socket/chat");
  assert.equal(check?.method, "GET");
  assert.equal(check?.headers.upgrade, undefined, "the check is a plain request");
});

test("an upgrade whose check fails gets the 403 and never reaches the upstream", async () => {
  const head = (await upgradeHead(gw.port, "/socket-down/chat")).toString("latin1");
  assert.match(head, /^HTTP\/1\.1 403 Forbidden\r\n/);
  const ended = await telemetry.endOf("/socket-down/chat");
  assert.equal(ended.responseFlags, "UAEX");
  assert.equal(ended.localReplyDetails, "ext_authz_error");
  assert.deepEqual(ended.attempts, []);
});

test("forwardBody: the check carries the body, and the upstream gets the same bytes", async () => {
  const reply = await ask(gw.port, { method: "POST", path: "/body/small", headers: { authorization: "Bearer good", "content-type": "text/plain" }, body: "sixteen bytes ok" });
  assert.equal(reply.status, 200);
  const check = auth.seen.find((r) => r.url === "/body/small")!;
  assert.equal(check.body, "sixteen bytes ok");
  assert.equal(check.headers["content-length"], "16");
  assert.equal(reply.json()["bodyBytes"], 16, "the upstream got the body the check read");
  const ended = await telemetry.endOf("/body/small");
  assert.equal(ended.bytesReceived, 16);
  const denied = await ask(gw.port, { method: "POST", path: "/body/denied", headers: { authorization: "Bearer bad" }, body: "12345" });
  assert.equal(denied.status, 401);
  assert.equal(auth.seen.find((r) => r.url === "/body/denied")?.body, "12345");
  assert.equal((await telemetry.endOf("/body/denied")).bytesReceived, 5, "a denied request's body was received all the same");
});

test("forwardBody: a buffered body reaches mirrors whole (over their 1 MiB lag limit too) and can be retried", async () => {
  const big = Buffer.alloc(2 * 1024 * 1024, 98);
  const reply = await ask(gw.port, { method: "POST", path: "/big-body/x", headers: { authorization: "Bearer good" }, body: big });
  assert.equal(reply.status, 200);
  assert.equal(reply.json()["bodyBytes"], big.length);
  assert.equal(auth.seen.find((r) => r.url === "/big-body/x")?.bodyBytes, big.length);
  await until(() => shadow.requests.some((r) => r.url === "/big-body/x" && r.bodyBytes === big.length));
  assert.deepEqual([...(gw.stats.mirrorDrops?.entries() ?? [])], [], "no copy dropped");

  const retried = await ask(gw.port, { method: "PUT", path: "/retried-body/x", headers: { authorization: "Bearer good" }, body: "send me twice" });
  assert.equal(retried.status, 200, "the refused connection was retried with the buffered body");
  assert.equal(retried.json()["bodyBytes"], 13);
  const ended = await telemetry.endOf("/retried-body/x");
  assert.equal(ended.attempts.length, 2);
  assert.equal(ended.bytesReceived, 13, "the body counts once, not per attempt");
});

test("forwardBody: a chunked body and one sent after 100 Continue are read whole before the check", async () => {
  const chunked = await new Promise<Reply>((resolve, reject) => {
    const req = http.request({ host: "127.0.0.1", port: gw.port, method: "PUT", path: "/body/chunked", headers: { authorization: "Bearer good" }, agent: false }, (res) => collect(res, resolve, reject));
    req.on("error", reject);
    req.write("part one;");
    setTimeout(() => req.end("two"), 50);
  });
  assert.equal(chunked.status, 200);
  assert.equal(auth.seen.find((r) => r.url === "/body/chunked")?.body, "part one;two");
  assert.equal(chunked.json()["bodyBytes"], 12);

  let continued = false;
  const expecting = await new Promise<Reply>((resolve, reject) => {
    const req = http.request(
      { host: "127.0.0.1", port: gw.port, method: "POST", path: "/body/continue", headers: { authorization: "Bearer good", expect: "100-continue", "content-length": "5" }, agent: false },
      (res) => collect(res, resolve, reject),
    );
    req.on("continue", () => {
      continued = true;
      req.end("hello");
    });
    req.on("error", reject);
  });
  assert.ok(continued, "the gateway asked for the body");
  assert.equal(expecting.status, 200);
  assert.equal(auth.seen.find((r) => r.url === "/body/continue")?.body, "hello");
});

test("forwardBody: a body over maxSize is refused with 413 before any check, and the connection ends", async () => {
  // Declared too long: refused at once, before a 100 Continue would ask for it.
  const declared = await rawExchange(gw.port, "POST /body/declared HTTP/1.1\r\nHost: a.example\r\nAuthorization: Bearer good\r\nExpect: 100-continue\r\nContent-Length: 1000000\r\n\r\n");
  assert.match(declared, /^HTTP\/1\.1 413 /, "no 100 Continue first");
  assert.match(declared, /\r\nconnection: close\r\n/i);
  assert.match(declared, /"error":"request_body_too_large"/);
  // A request sent right behind a refused body is not served: the connection ends at the 413.
  const behind = await rawExchange(gw.port, "POST /body/declared-behind HTTP/1.1\r\nHost: a.example\r\nAuthorization: Bearer good\r\nContent-Length: 20\r\n\r\n01234567890123456789GET /app/behind HTTP/1.1\r\nHost: a.example\r\nAuthorization: Bearer good\r\n\r\n");
  assert.equal(behind.match(/HTTP\/1\.1 /g)?.length, 1, behind);
  assert.equal(upstreamSaw("/app/behind"), undefined);
  // Chunked: refused once the bytes read pass the limit.
  const chunked = await rawExchange(gw.port, "POST /body/chunked-large HTTP/1.1\r\nHost: a.example\r\nAuthorization: Bearer good\r\nTransfer-Encoding: chunked\r\n\r\na\r\n0123456789\r\na\r\n0123456789\r\n");
  assert.match(chunked, /^HTTP\/1\.1 413 /);
  assert.match(chunked, /\r\nconnection: close\r\n/i);
  assert.match(chunked, /"message":"the request body is larger than the 16 bytes the authorization check takes"/);
  assert.deepEqual(
    auth.seen.filter((r) => ["/body/declared", "/body/declared-behind", "/body/chunked-large", "/app/behind"].includes(r.url)),
    [],
    "no check for a refused body, nor for the request behind it",
  );
  assert.equal((await telemetry.endOf("/body/chunked-large")).status, 413);

  // With much of a large upload still unread, the answer still reaches the client (the
  // connection lingers after it, see docs/proxy.md).
  const uploader = net.connect(gw.port, "127.0.0.1");
  await once(uploader, "connect");
  let answer = "";
  uploader.on("data", (c: Buffer) => (answer += c.toString("latin1")));
  uploader.on("error", () => {});
  uploader.write("POST /body/upload HTTP/1.1\r\nHost: a.example\r\nAuthorization: Bearer good\r\nTransfer-Encoding: chunked\r\n\r\n");
  uploader.write(`1e8480\r\n`);
  uploader.write(Buffer.alloc(2_000_000, 97));
  await until(() => answer.includes('"error":"request_body_too_large"'));
  uploader.destroy();
});

test("forwardBody: a body that stops arriving runs out of the rule's request timeout: 504 request_timeout (UT)", async () => {
  const text = await rawExchange(gw.port, "POST /body/stalled HTTP/1.1\r\nHost: a.example\r\nAuthorization: Bearer good\r\nContent-Length: 10\r\n\r\nabc");
  assert.match(text, /^HTTP\/1\.1 504 /);
  assert.match(text, /"error":"request_timeout"/);
  const ended = await telemetry.endOf("/body/stalled");
  assert.equal(ended.responseFlags, "UT");
  assert.equal(ended.errorType, "timeout");
  assert.equal(ended.bytesReceived, 3);
  assert.equal(auth.seen.some((r) => r.url === "/body/stalled"), false);
});

test("forwardBody: a client that leaves mid-body ends the read; no check is sent", async () => {
  const socket = net.connect(gw.port, "127.0.0.1");
  await once(socket, "connect");
  socket.write("POST /body/abandoned HTTP/1.1\r\nHost: a.example\r\nAuthorization: Bearer good\r\nContent-Length: 10\r\n\r\nabc");
  await until(() => telemetry.events.includes("start /body/abandoned match=default/r"));
  socket.destroy();
  const ended = await telemetry.endOf("/body/abandoned");
  assert.equal(ended.errorType, "client_aborted");
  assert.equal(ended.responseFlags, "DC");
  assert.equal(auth.seen.some((r) => r.url === "/body/abandoned"), false);
});

function collect(res: http.IncomingMessage, resolve: (r: Reply) => void, reject: (e: Error) => void): void {
  const chunks: Buffer[] = [];
  res.on("data", (c: Buffer) => chunks.push(c));
  res.on("error", reject);
  res.on("end", () => {
    const body = Buffer.concat(chunks);
    resolve({ status: res.statusCode ?? 0, headers: res.headers, body, json: () => JSON.parse(body.toString("utf8")) as Record<string, unknown> });
  });
}

