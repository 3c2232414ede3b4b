// TrafficPolicy extAuth end to end: GatewayExtensions of type ExtAuth pointing at a real
// ext_authz gRPC service (grpc-js, test/support/grpc-authz-service.ts) and a real HTTP
// authorization service, real upstreams on 127.0.0.1. Gateway- and route-level policies,
// disable, failOpen and statusOnError, the gRPC default time limit, context extensions, the
// body, percentageEnabled, and the HTTP service's header lists.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import type http from "node:http";
import { DENIAL_BODY_LIMIT_BYTES } from "../../src/proxy/auth-check.ts";
import net from "node:net";
import { once } from "node:events";
import { WebSocket } from "ws";
import { closedPort } from "../support/otlp-receiver.ts";
import { type GrpcAuthzService, startGrpcAuthzService } from "../support/grpc-authz-service.ts";
import { type HttpService, startHttpService } from "../support/http-service.ts";
import { type TestUpstream, startUpstream } from "../support/upstreams.ts";
import { GATEWAY_YAML, type GatewayUnderTest, ask, backendYaml, ref, routeYaml, startGateway, targetedTrafficPolicyYaml } from "./harness.ts";

interface SeenHttpCheck {
  readonly url: string;
  readonly headers: http.IncomingHttpHeaders;
}

/**
 * The HTTP authorization service: `Bearer good` is allowed with a user id, groups and a
 * cookie; `Bearer busy` gets a 500; `Bearer huge` a 403 whose body is over the relay limit;
 * `Bearer cut-denial` a 403 whose connection resets mid-body, `Bearer stalled-denial` one
 * whose body never ends, `Bearer busy-cut` a 500 that resets mid-body, `Bearer status-600` a
 * status past 599; anything else is denied with
 * a 401, a challenge, a reason, a debug header and a body.
 */
async function startHttpAuthz(): Promise<HttpService & { seen: SeenHttpCheck[] }> {
  const seen: SeenHttpCheck[] = [];
  const service = await startHttpService((req, res) => {
    seen.push({ url: req.url ?? "", headers: req.headers });
    req.resume();
    req.on("end", () => {
      switch (req.headers.authorization) {
        case "Bearer good":
          res.writeHead(200, { "x-user-id": "alice", "x-auth-groups": "admins", "set-cookie": "session=1" }).end();
          return;
        case "Bearer busy":
          res.writeHead(500).end("panic");
          return;
        case "Bearer huge":
          res.writeHead(403, { "content-type": "text/plain" }).end(Buffer.alloc(DENIAL_BODY_LIMIT_BYTES + 1, 97));
          return;
        case "Bearer cut-denial":
          res.writeHead(403, { "content-length": "100" });
          res.write("partial", () => res.socket?.destroy());
          return;
        case "Bearer stalled-denial":
          res.writeHead(403, { "content-type": "text/plain" });
          res.write("partial");
          return;
        case "Bearer busy-cut":
          res.writeHead(500, { "content-length": "100" });
          res.write("partial", () => res.socket?.destroy());
          return;
        case "Bearer status-600":
          res.writeHead(600).end();
          return;
        default:
          res.writeHead(401, { "www-authenticate": 'Bearer realm="edge"', "x-auth-reason": "expired", "x-auth-debug": "token-dump", "content-type": "text/plain" }).end("no");
      }
    });
  });
  return Object.assign(service, { seen });
}

const extension = (name: string, body: string): string => `---
apiVersion: gateway.kgateway.dev/v1alpha1
kind: GatewayExtension
metadata: {name: ${name}, namespace: default}
spec:
  type: ExtAuth
  extAuth:
${body}`;

const grpcService = (backend: string, extra = ""): string => `    grpcService:
      backendRef: ${ref(backend)}
${extra}`;

/** A TrafficPolicy on rule `rule` of route `r`. */
const rulePolicy = (name: string, rule: string, extAuth: string): string =>
  targetedTrafficPolicyYaml(name, "HTTPRoute", "r", `  extAuth:\n${extAuth}`).replace("name: r}]", `name: r, sectionName: ${rule}}]`);

const rule = (name: string, extra = "", backend = "app"): string => `    - name: ${name}
      matches: [{path: {type: PathPrefix, value: /${name}}}]
${extra}      backendRefs: [${ref(backend)}]
`;

let app: TestUpstream;
let grpcAuthz: GrpcAuthzService;
let httpAuthz: Awaited<ReturnType<typeof startHttpAuthz>>;
/** An upstream whose every answer sets a cookie of its own. */
let cookies: HttpService;
let gw: GatewayUnderTest;

before(async () => {
  app = await startUpstream("app");
  grpcAuthz = await startGrpcAuthzService();
  httpAuthz = await startHttpAuthz();
  cookies = await startHttpService((req, res) => {
    req.resume();
    res.writeHead(200, { "set-cookie": "upstream=1" }).end("ok");
  });
  const down = await closedPort();
  gw = await startGateway(
    GATEWAY_YAML +
      backendYaml("app", app.port) +
      backendYaml("grpc-authz", grpcAuthz.port) +
      backendYaml("http-authz", httpAuthz.port) +
      backendYaml("down", down) +
      backendYaml("cookies", cookies.port) +
      // Time limits far above a loaded machine's round trip wherever a test expects a verdict;
      // only "default-limit" leaves requestTimeout unset, as its test waits the default out.
      extension("default-limit", grpcService("grpc-authz") + "    statusOnError: 503\n") +
      extension("grpc-patient", grpcService("grpc-authz", "      requestTimeout: 10s\n")) +
      extension("open", grpcService("down") + "    failOpen: true\n") +
      // statusOnError 503: an unrelayable denial is Envoy's 403 all the same.
      extension("open-denials", grpcService("grpc-authz", "      requestTimeout: 10s\n") + "    failOpen: true\n    statusOnError: 503\n") +
      extension("http-open", `    httpService:\n      backendRef: ${ref("http-authz")}\n      requestTimeout: 10s\n    failOpen: true\n`) +
      // The stalled denial waits this out.
      extension("http-open-short", `    httpService:\n      backendRef: ${ref("http-authz")}\n      requestTimeout: 300ms\n    failOpen: true\n    statusOnError: 503\n`) +
      extension("closed", grpcService("down") + "    statusOnError: 503\n") +
      extension("quarter", grpcService("grpc-authz", "      requestTimeout: 10s\n") + "    percentageEnabled: 25\n") +
      extension("unsampled", grpcService("grpc-authz", "      requestTimeout: 10s\n") + "    percentageEnabled: 0\n") +
      extension(
        "http",
        `    httpService:
      backendRef: ${ref("http-authz")}
      pathPrefix: /verify
      requestTimeout: 10s
      authorizationRequest:
        headersToAdd: {X-Gateway: "tollgate 100%%"}
      authorizationResponse:
        headersToBackend: [X-User-Id]
        headersToClient: [x-auth-reason]
        headersToClientOnSuccess: [set-cookie]
    headersToForward: [x-tenant, x-gateway]
    statusOnError: 502
`,
      ) +
      extension("http-bare", `    httpService:\n      backendRef: ${ref("http-authz")}\n      requestTimeout: 10s\n`) +
      routeYaml(
        rule("gw") +
          rule("http-bare") +
          rule("default-limit") +
          rule("exempt") +
          rule("http-cookie", "", "cookies") +
          rule("open-denials") +
          rule("http-open") +
          rule("http-open-short") +
          rule("fail-open-body") +
          rule("http") +
          rule("fail-open") +
          rule("fail-closed") +
          rule("unsampled") +
          rule("quarter") +
          rule("body") +
          rule(
            "own",
            `      filters:
      - type: ExternalAuth
        externalAuth: {protocol: HTTP, backendRef: ${ref("http-authz")}, http: {path: /own}}
`,
          ),
      ) +
      targetedTrafficPolicyYaml("gateway-auth", "Gateway", "edge", "  extAuth:\n    extensionRef: {name: grpc-patient}\n    contextExtensions: {tier: gold, zone: edge-1}\n") +
      rulePolicy("default-limit", "default-limit", "    extensionRef: {name: default-limit}\n") +
      rulePolicy("exempt", "exempt", "    disable: {}\n") +
      // kgateway v2.0's spelling of the same switch, on a route of its own (a route holds 16 rules).
      routeYaml(rule("exempt-v20")).replace("name: r,", "name: r20,") +
      targetedTrafficPolicyYaml("exempt-v20", "HTTPRoute", "r20", "  extAuth:\n    enablement: DisableAll\n") +
      rulePolicy("http", "http", "    extensionRef: {name: http}\n") +
      rulePolicy("http-bare", "http-bare", "    extensionRef: {name: http-bare}\n") +
      rulePolicy("http-cookie", "http-cookie", "    extensionRef: {name: http}\n") +
      rulePolicy("open-denials", "open-denials", "    extensionRef: {name: open-denials}\n") +
      rulePolicy("http-open", "http-open", "    extensionRef: {name: http-open}\n") +
      rulePolicy("http-open-short", "http-open-short", "    extensionRef: {name: http-open-short}\n") +
      rulePolicy("fail-open-body", "fail-open-body", "    extensionRef: {name: open}\n    withRequestBody: {maxRequestBytes: 64}\n") +
      rulePolicy("fail-open", "fail-open", "    extensionRef: {name: open}\n") +
      rulePolicy("fail-closed", "fail-closed", "    extensionRef: {name: closed}\n") +
      rulePolicy("unsampled", "unsampled", "    extensionRef: {name: unsampled}\n") +
      rulePolicy("quarter", "quarter", "    extensionRef: {name: quarter}\n") +
      rulePolicy("body", "body", "    extensionRef: {name: grpc-patient}\n    withRequestBody: {maxRequestBytes: 16, packAsBytes: true}\n"),
  );
});

after(async () => {
  await gw.close();
  await grpcAuthz.close();
  await httpAuthz.close();
  await cookies.close();
  await app.close();
});

/** How many checks of `rule` had `outcome`. */
const countOf = (rule: string, outcome: string): number => [...gw.stats.externalAuthChecks!.entries()].find(([, r, , o]) => r === rule && o === outcome)?.[4] ?? 0;

/** `outcome count` per rule, as tollgate.ext_authz.checks counts them; `policy` '' for the HTTPRoute filter. */
const counted = (rule: string): string[] =>
  [...gw.stats.externalAuthChecks!.entries()].filter(([, r]) => r === rule).map(([, , policy, outcome, n]) => `${policy || "(filter)"} ${outcome} ${n}`);

test("a Gateway's extAuth checks the rules of its routes over gRPC, with the policy's context extensions; a denial stops the request, an allowing answer's headers reach the upstream", async () => {
  const upstreamBefore = app.requests.length;
  const checksBefore = grpcAuthz.seen.length;
  const denied = await ask(gw.port, { path: "/gw/a", headers: { authorization: "Bearer plain-deny" } });
  assert.equal(denied.status, 403);
  assert.equal(app.requests.length, upstreamBefore, "a denied request never reaches the upstream");
  const allowed = await ask(gw.port, { path: "/gw/b", headers: { authorization: "Bearer good" } });
  assert.equal(allowed.status, 200);
  assert.equal(app.requests.at(-1)!.headers["x-user-id"], "alice");
  const checks = grpcAuthz.seen.slice(checksBefore);
  assert.equal(checks.length, 2);
  assert.deepEqual(checks[0]!.request.attributes.context_extensions, { tier: "gold", zone: "edge-1" });
  assert.equal(checks[1]!.request.attributes.request.http.path, "/gw/b");
  assert.deepEqual(counted("gw"), ["default/gateway-auth denied 1", "default/gateway-auth ok 1"]);
});

test("a route's extAuth.disable exempts its rule from the Gateway's check", async () => {
  const checksBefore = grpcAuthz.seen.length;
  const reply = await ask(gw.port, { path: "/exempt/x", headers: { authorization: "Bearer plain-deny" } });
  assert.equal(reply.status, 200);
  assert.equal(grpcAuthz.seen.length, checksBefore, "the service was not asked");
  assert.deepEqual(counted("exempt"), []);
});

test("a route's extAuth.enablement: DisableAll (kgateway v2.0) exempts its rule from the Gateway's check, as disable does", async () => {
  const checksBefore = grpcAuthz.seen.length;
  const upstreamBefore = app.requests.length;
  const reply = await ask(gw.port, { path: "/exempt-v20/x", headers: { authorization: "Bearer plain-deny" } });
  assert.equal(reply.status, 200);
  assert.equal(app.requests.length, upstreamBefore + 1);
  assert.equal(app.requests.at(-1)!.url, "/exempt-v20/x");
  assert.equal(grpcAuthz.seen.length, checksBefore, "the service was not asked");
  assert.deepEqual(counted("exempt-v20"), []);
  // The rule next to it, without the switch, is checked and denied.
  const denied = await ask(gw.port, { path: "/gw/v20-neighbour", headers: { authorization: "Bearer plain-deny" } });
  assert.equal(denied.status, 403);
  assert.equal(grpcAuthz.seen.length, checksBefore + 1);
});

test("a rule's own ExternalAuth filter is its check: the Gateway's extAuth does not apply to it", async () => {
  const grpcBefore = grpcAuthz.seen.length;
  const httpBefore = httpAuthz.seen.length;
  const reply = await ask(gw.port, { path: "/own/x", headers: { authorization: "Bearer good" } });
  assert.equal(reply.status, 200);
  assert.equal(grpcAuthz.seen.length, grpcBefore);
  assert.equal(httpAuthz.seen.at(-1)!.url, "/own/own/x");
  assert.equal(httpAuthz.seen.length, httpBefore + 1);
  assert.deepEqual(counted("own"), ["(filter) ok 1"]);
});

test("a gRPC extension without requestTimeout gives a check 200 ms (Envoy's default), then answers statusOnError", async () => {
  const sentAt = Date.now();
  const checksBefore = grpcAuthz.seen.length;
  const reply = await ask(gw.port, { path: "/default-limit/x", headers: { authorization: "Bearer hang" } });
  assert.equal(reply.status, 503);
  assert.deepEqual(Object.keys(reply.json()), ["error", "message"]);
  assert.equal(reply.json()["error"], "ext_authz_error");
  const deadline = grpcAuthz.seen[checksBefore]!.deadlineMs;
  // Far from both the 200 ms asked for and the 10 s of the HTTPRoute filter: a clock, not a speed, is checked.
  assert.ok(deadline >= sentAt + 150 && deadline < sentAt + 1_500, `the call's deadline is ${deadline - sentAt} ms after the request`);
  assert.deepEqual(counted("default-limit"), ["default/default-limit error_refused 1"]);
});

test("failOpen lets a request through when the service cannot be reached, and counts it; without it the client gets statusOnError", async () => {
  const open = await ask(gw.port, { path: "/fail-open/x" });
  assert.equal(open.status, 200);
  assert.equal(app.requests.at(-1)!.url, "/fail-open/x");
  assert.deepEqual(counted("fail-open"), ["default/fail-open error_allowed 1"]);
  const upstreamBefore = app.requests.length;
  const closed = await ask(gw.port, { path: "/fail-closed/x" });
  assert.equal(closed.status, 503);
  assert.equal(closed.json()["error"], "ext_authz_error");
  assert.equal(app.requests.length, upstreamBefore);
  assert.deepEqual(counted("fail-closed"), ["default/fail-closed error_refused 1"]);
});

test("failOpen never lets a denial through: one the gateway cannot relay (a status outside 200-599, a body over the limit) is refused with 403 and counted as denied", async () => {
  const upstreamBefore = app.requests.length;
  for (const authorization of ["Bearer odd-status", "Bearer status-600", "Bearer body-70000", "Bearer plain-deny"]) {
    const reply = await ask(gw.port, { path: "/open-denials/x", headers: { authorization } });
    assert.equal(reply.status, 403, authorization);
  }
  const huge = await ask(gw.port, { path: "/http-open/x", headers: { authorization: "Bearer huge" } });
  assert.equal(huge.status, 403);
  assert.equal(huge.json()["error"], "ext_authz_error");
  assert.equal(app.requests.length, upstreamBefore, "no denial reached the upstream");
  assert.deepEqual(counted("open-denials"), ["default/open-denials denied 4"]);
  assert.deepEqual(counted("http-open"), ["default/http-open denied 1"]);
  const busy = await ask(gw.port, { path: "/http-open/y", headers: { authorization: "Bearer busy" } });
  assert.equal(busy.status, 200, "a 5xx is no verdict: failOpen lets the request through");
});

test("failOpen never lets an HTTP denial through that broke off (reset mid-body, stalled past the time limit) or has a status past 599", async () => {
  const upstreamBefore = app.requests.length;
  for (const authorization of ["Bearer cut-denial", "Bearer stalled-denial", "Bearer status-600"]) {
    const reply = await ask(gw.port, { path: "/http-open-short/x", headers: { authorization } });
    assert.equal(reply.status, 403, authorization);
    assert.equal(reply.json()["error"], "ext_authz_error", authorization);
  }
  assert.equal(app.requests.length, upstreamBefore);
  assert.deepEqual(counted("http-open-short"), ["default/http-open-short denied 3"]);
  const failing = await ask(gw.port, { path: "/http-open-short/y", headers: { authorization: "Bearer busy-cut" } });
  assert.equal(failing.status, 200, "a 5xx that breaks off is still no verdict");
  assert.equal(countOf("http-open-short", "error_allowed"), 1);
});

test("a denial or refusal sent before the request body was read ends the connection rather than read the upload", async () => {
  for (const [path, authorization, status] of [
    ["/http-bare/upload", "Bearer bad", "401"],
    ["/fail-closed/upload", "Bearer good", "503"],
  ] as const) {
    const socket = net.connect(gw.port, "127.0.0.1");
    await once(socket, "connect");
    socket.write(`POST ${path} HTTP/1.1\r\nHost: x\r\nAuthorization: ${authorization}\r\nContent-Length: 100000\r\n\r\nabc`);
    let answer = "";
    socket.on("data", (chunk: Buffer) => (answer += chunk.toString("latin1")));
    await once(socket, "close");
    assert.match(answer, new RegExp(`^HTTP/1\\.1 ${status} `), path);
    assert.match(answer, /\r\nconnection: close\r\n/i, path);
  }
});

test("failOpen with withRequestBody: the body read for the check that never came reaches the upstream whole", async () => {
  const reply = await ask(gw.port, { method: "POST", path: "/fail-open-body/x", body: "the whole body" });
  assert.equal(reply.status, 200);
  const seen = app.requests.at(-1)!;
  assert.equal(seen.url, "/fail-open-body/x");
  assert.equal(seen.bodyBytes, 14);
  assert.deepEqual(counted("fail-open-body"), ["default/fail-open-body error_allowed 1"]);
});

test("an HTTP extension: pathPrefix, headersToForward and headersToAdd shape the check; only headersToBackend reach the upstream; headersToClient and headersToClientOnSuccess reach the client", async () => {
  const allowed = await ask(gw.port, { path: "/http/a?q=1", headers: { authorization: "Bearer good", "x-tenant": "t1", "x-other": "o", "x-gateway": "client's" } });
  assert.equal(allowed.status, 200);
  const check = httpAuthz.seen.at(-1)!;
  assert.equal(check.url, "/verify/http/a?q=1");
  assert.equal(check.headers["x-tenant"], "t1");
  assert.equal(check.headers["x-other"], undefined, "only the listed headers go beside Host and Authorization");
  assert.equal(check.headers["x-gateway"], "tollgate 100%", "headersToAdd replaces the client's value");
  const upstream = app.requests.at(-1)!;
  assert.equal(upstream.headers["x-user-id"], "alice");
  assert.equal(upstream.headers["x-auth-groups"], undefined, "an unlisted answer header stays behind");
  assert.deepEqual(allowed.headers["set-cookie"], ["session=1"]);
  const denied = await ask(gw.port, { path: "/http/b", headers: { authorization: "Bearer bad" } });
  assert.equal(denied.status, 401);
  assert.equal(denied.body.toString(), "no");
  assert.equal(denied.headers["x-auth-reason"], "expired");
  assert.equal(denied.headers["www-authenticate"], 'Bearer realm="edge"', "a challenge always reaches the client");
  assert.equal(denied.headers["x-auth-debug"], undefined, "an unlisted denial header stays behind");
  const busy = await ask(gw.port, { path: "/http/c", headers: { authorization: "Bearer busy" } });
  assert.equal(busy.status, 502, "a 5xx is no verdict: statusOnError");
  assert.equal(busy.json()["error"], "ext_authz_error");
  assert.deepEqual(counted("http"), ["default/http ok 1", "default/http denied 1", "default/http error_refused 1"]);
  const withCookie = await ask(gw.port, { path: "/http-cookie/a", headers: { authorization: "Bearer good" } });
  assert.deepEqual(withCookie.headers["set-cookie"], ["upstream=1", "session=1"], "headersToClientOnSuccess adds to the upstream's cookies");
});

test("an HTTP extension without header lists hands none of an allowing answer's headers on (Envoy's http_service), and relays a denial whole", async () => {
  const allowed = await ask(gw.port, { path: "/http-bare/a", headers: { authorization: "Bearer good" } });
  assert.equal(allowed.status, 200);
  assert.equal(httpAuthz.seen.at(-1)!.url, "/http-bare/a");
  const upstream = app.requests.at(-1)!;
  assert.equal(upstream.url, "/http-bare/a");
  assert.equal(upstream.headers["x-user-id"], undefined);
  assert.equal(allowed.headers["set-cookie"], undefined);
  const denied = await ask(gw.port, { path: "/http-bare/b", headers: { authorization: "Bearer bad" } });
  assert.equal(denied.status, 401);
  assert.equal(denied.headers["x-auth-debug"], "token-dump");
  assert.equal(denied.headers["content-type"], "text/plain");
});

test("withRequestBody on the policy sends the body as bytes with the check; a larger body gets 413 without a check", async () => {
  const checksBefore = grpcAuthz.seen.length;
  const reply = await ask(gw.port, { method: "POST", path: "/body/x", body: "small body" });
  assert.equal(reply.status, 200);
  const http = grpcAuthz.seen[checksBefore]!.request.attributes.request.http;
  assert.equal(http.body, "", "packAsBytes: not sent as text");
  assert.equal(http.raw_body.toString(), "small body");
  assert.equal(app.requests.at(-1)!.bodyBytes, 10);
  const large = await ask(gw.port, { method: "POST", path: "/body/y", body: "x".repeat(17) });
  assert.equal(large.status, 413);
  assert.equal(grpcAuthz.seen.length, checksBefore + 1);
});

test("percentageEnabled 0 lets every request through unchecked, counted as not_sampled", async () => {
  const checksBefore = grpcAuthz.seen.length;
  for (let i = 0; i < 3; i++) assert.equal((await ask(gw.port, { path: "/unsampled/x", headers: { authorization: "Bearer plain-deny" } })).status, 200);
  assert.equal(grpcAuthz.seen.length, checksBefore);
  assert.deepEqual(counted("unsampled"), ["default/unsampled not_sampled 3"]);
});

test("percentageEnabled 25 checks a request whose draw falls in the first quarter, and only those", async (t) => {
  const checksBefore = grpcAuthz.seen.length;
  const draw = t.mock.method(Math, "random", () => 0.2);
  assert.equal((await ask(gw.port, { path: "/quarter/in", headers: { authorization: "Bearer plain-deny" } })).status, 403);
  draw.mock.mockImplementation(() => 0.25);
  assert.equal((await ask(gw.port, { path: "/quarter/out", headers: { authorization: "Bearer plain-deny" } })).status, 200);
  draw.mock.restore();
  assert.equal(grpcAuthz.seen.length, checksBefore + 1);
  assert.deepEqual(counted("quarter"), ["default/quarter denied 1", "default/quarter not_sampled 1"]);
});

/** Whether an upgrade to `path` opens (true) or is refused (its status). */
function upgrade(path: string, headers: Record<string, string> = {}): Promise<true | number> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(`ws://127.0.0.1:${gw.port}${path}`, { headers });
    ws.on("open", () => {
      ws.close();
      resolve(true);
    });
    ws.on("unexpected-response", (_req, res) => resolve(res.statusCode ?? 0));
    ws.on("error", reject);
  });
}

test("an upgrade is checked too: statusOnError refuses it when the service cannot be reached, failOpen lets it through; both are counted", async () => {
  const refusedBefore = countOf("fail-closed", "error_refused");
  const allowedBefore = countOf("fail-open", "error_allowed");
  assert.equal(await upgrade("/fail-closed/ws"), 503);
  assert.equal(await upgrade("/fail-open/ws"), true, "failOpen lets the upgrade through");
  assert.equal(countOf("fail-closed", "error_refused"), refusedBefore + 1);
  assert.equal(countOf("fail-open", "error_allowed"), allowedBefore + 1);
});

test("an upgrade is sampled as any request: percentageEnabled 0 opens it unchecked, counted as not_sampled; a draw inside the share checks it", async (t) => {
  const checksBefore = grpcAuthz.seen.length;
  const unsampledBefore = countOf("unsampled", "not_sampled");
  assert.equal(await upgrade("/unsampled/ws", { authorization: "Bearer plain-deny" }), true);
  assert.equal(countOf("unsampled", "not_sampled"), unsampledBefore + 1);
  assert.equal(grpcAuthz.seen.length, checksBefore);
  const deniedBefore = countOf("quarter", "denied");
  const draw = t.mock.method(Math, "random", () => 0.1);
  const refused = await upgrade("/quarter/ws", { authorization: "Bearer plain-deny" });
  draw.mock.restore();
  assert.equal(refused, 403);
  assert.equal(countOf("quarter", "denied"), deniedBefore + 1);
});


