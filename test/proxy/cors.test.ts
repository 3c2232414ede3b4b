// The HTTPRoute CORS filter end to end, against real upstreams: every case of the Gateway API
// conformance test HTTPRouteCORS on the same routes (Service refs with port 8080, which the
// Backends of the same name serve here), then what the gateway does beyond it: preflights
// never reach the upstream, refused origins get a 403, answers that name the origin vary by
// it, the upstream's own Access-Control-* headers give way, and the gateway's own answers
// (redirects, direct responses, errors) carry the headers too.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import http from "node:http";
import type { AddressInfo } from "node:net";
import { RequestFacts } from "../../src/telemetry/logs/facts.ts";
import { responseCodeDetails } from "../../src/telemetry/logs/envoy-render.ts";
import { forwardedViewOf } from "../../src/telemetry/logs/logged-request-headers.ts";
import { closedPort } from "../support/otlp-receiver.ts";
import { type RawUpgradeUpstream, headLines, startRawUpgradeUpstream, upgradeHead } from "../support/raw-upgrade.ts";
import { type TestUpstream, startUpstream } from "../support/upstreams.ts";
import { CONFORMANCE_GATEWAY, type GatewayUnderTest, type Reply, ask, conformanceBackend, startGateway } from "./harness.ts";
import { RecordingTelemetry } from "./recording-telemetry.ts";

const NS = "gateway-conformance-infra";

/**
 * The routes of the conformance suite's httproute-cors.yaml: the same names, paths and
 * filter values, written in flow style.
 */
const corsRoute = (name: string, rules: string): string => `---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: ${name}, namespace: ${NS}}
spec:
  parentRefs: [{name: same-namespace}]
  rules:${rules}
`;
const corsRule = (prefix: string, cors: string): string => `
  - matches: [{path: {type: PathPrefix, value: ${prefix}}}]
    filters: [{type: CORS, cors: ${cors}}]
    backendRefs: [{name: infra-backend-v1, port: 8080}]`;
const CONFORMANCE_ROUTES =
  corsRoute(
    "cors-multiple-origins-methods-headers",
    corsRule(
      "/cors-1",
      `{allowOrigins: ["https://www.foo.com", "https://*.bar.com"], allowMethods: [GET, OPTIONS], allowHeaders: [x-header-1, x-header-2], exposeHeaders: [x-header-3, x-header-4], allowCredentials: true, maxAge: 3600}`,
    ),
  ) +
  corsRoute("cors-wildcard-methods", corsRule("/cors-2", `{allowOrigins: ["https://www.foo.com"], allowMethods: ["*"]}`)) +
  corsRoute("cors-wildcard-origin", corsRule("/cors-wildcard-origin", `{allowOrigins: ["*"], allowMethods: [PUT], allowCredentials: false}`)) +
  corsRoute(
    "cors-wildcard-methods-headers",
    corsRule("/cors-wildcard-methods-headers", `{allowOrigins: ["*"], allowMethods: ["*"], allowHeaders: ["*"], allowCredentials: true}`) +
      corsRule("/cors-wildcard-methods-headers-unauth", `{allowOrigins: ["*"], allowMethods: ["*"], allowHeaders: ["*"], allowCredentials: false}`),
  );

/** Rules for what the conformance test leaves open. */
const GATEWAY_ROUTES = `---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: cors-beyond-conformance, namespace: ${NS}}
spec:
  parentRefs: [{name: same-namespace}]
  rules:
  - matches: [{path: {type: PathPrefix, value: /own-cors}}]
    filters:
    - type: CORS
      cors: {allowOrigins: ["https://app.example", "http://*:8080"]}
    - type: ResponseHeaderModifier
      responseHeaderModifier: {set: [{name: access-control-allow-origin, value: "https://overwritten.example"}]}
    backendRefs: [{name: own-cors, port: 8080}]
  - matches: [{path: {type: PathPrefix, value: /reflect}}, {path: {type: Exact, value: /vary-star}}, {path: {type: Exact, value: /vary-list}}]
    filters:
    - type: CORS
      cors: {allowOrigins: ["https://app.example"]}
    backendRefs: [{name: own-cors, port: 8080}]
  - matches: [{path: {type: PathPrefix, value: /teapot}}]
    filters:
    - type: CORS
      cors: {allowOrigins: ["https://app.example"], allowCredentials: true, exposeHeaders: [x-brew]}
    - type: ResponseHeaderModifier
      responseHeaderModifier: {add: [{name: x-brew, value: earl-grey}]}
    - type: ExtensionRef
      extensionRef: {group: gateway.kgateway.dev, kind: DirectResponse, name: teapot}
  - matches: [{path: {type: PathPrefix, value: /plain-teapot}}]
    filters:
    - type: CORS
      cors: {allowOrigins: ["http://app.example"]}
    - type: ExtensionRef
      extensionRef: {group: gateway.kgateway.dev, kind: DirectResponse, name: teapot}
  - matches: [{path: {type: PathPrefix, value: /switch}}, {path: {type: PathPrefix, value: /refuse}}]
    filters:
    - type: CORS
      cors: {allowOrigins: ["https://app.example"]}
    backendRefs: [{name: raw-upgrade, port: 8080}]
  - matches: [{path: {type: PathPrefix, value: /expose-all}}]
    filters:
    - type: CORS
      cors: {allowOrigins: ["*"], allowCredentials: true, exposeHeaders: ["*", x-configured, date]}
    backendRefs: [{name: own-cors, port: 8080}]
  - matches: [{path: {type: PathPrefix, value: /moved}}]
    filters:
    - type: CORS
      cors: {allowOrigins: ["https://app.example"], allowMethods: [PUT]}
    - type: RequestRedirect
      requestRedirect: {hostname: elsewhere.example, statusCode: 301}
  - matches: [{path: {type: PathPrefix, value: /down}}]
    filters:
    - type: CORS
      cors: {allowOrigins: ["https://app.example"]}
    backendRefs: [{name: refused, port: 8080}]
  - matches: [{path: {type: PathPrefix, value: /no-cors}}]
    backendRefs: [{name: infra-backend-v1, port: 8080}]
---
apiVersion: gateway.kgateway.dev/v1alpha1
kind: DirectResponse
metadata: {name: teapot, namespace: ${NS}}
spec: {status: 418, body: short and stout}
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: policy-cors, namespace: ${NS}}
spec:
  parentRefs: [{name: same-namespace}]
  rules:
  - matches: [{path: {type: PathPrefix, value: /policy-cors}}]
    backendRefs: [{name: infra-backend-v1, port: 8080}]
  - matches: [{path: {type: PathPrefix, value: /policy-cors/own}}]
    filters: [{type: CORS, cors: {allowOrigins: ["https://own.example"]}}]
    backendRefs: [{name: infra-backend-v1, port: 8080}]
---
apiVersion: gateway.kgateway.dev/v1alpha1
kind: TrafficPolicy
metadata: {name: cors, namespace: ${NS}}
spec:
  targetRefs: [{group: gateway.networking.k8s.io, kind: HTTPRoute, name: policy-cors}]
  cors: {allowOrigins: ["https://app.example"], allowMethods: [PUT], maxAge: 60}
`;

let v1: TestUpstream;
/** An upstream with a CORS policy of its own, to see what the gateway's filter does to it. */
let ownCors: http.Server;
let rawUpgrade: RawUpgradeUpstream;
let gw: GatewayUnderTest;
const recorder = new RecordingTelemetry();

before(async () => {
  v1 = await startUpstream("v1");
  ownCors = http.createServer((req, res) => {
    // A common upstream policy: name back any Origin, with credentials.
    res.setHeader("access-control-allow-origin", req.headers.origin ?? "*");
    res.setHeader("access-control-allow-credentials", "true");
    res.setHeader("access-control-expose-headers", "x-secret");
    if (req.url === "/vary-star") res.setHeader("vary", "*");
    else if (req.url === "/vary-list") res.setHeader("vary", ["Accept-Encoding", "Cookie"]);
    else res.setHeader("vary", "Accept-Encoding");
    res.setHeader("set-cookie", "session=s3cret; HttpOnly");
    res.setHeader("cache-control", "no-cache");
    res.setHeader("expires", "0");
    res.setHeader("http2-settings", "AAMAAABkAAQAAP__");
    res.setHeader("x-upstream", "1");
    res.setHeader("content-type", "text/plain");
    res.end("own");
  });
  await new Promise<void>((resolve) => ownCors.listen(0, "127.0.0.1", resolve));
  const ownCorsPort = (ownCors.address() as AddressInfo).port;
  rawUpgrade = await startRawUpgradeUpstream();
  gw = await startGateway(`${CONFORMANCE_GATEWAY}${conformanceBackend("infra-backend-v1", v1.port)}${conformanceBackend("own-cors", ownCorsPort)}${conformanceBackend("refused", await closedPort())}${conformanceBackend("raw-upgrade", rawUpgrade.port)}${CONFORMANCE_ROUTES}${GATEWAY_ROUTES}`, recorder);
});

after(async () => {
  await gw?.close();
  await new Promise<void>((resolve) => ownCors?.close(() => resolve()));
  await rawUpgrade?.close();
  await v1?.close();
});

/** The conformance suite's ExpectedResponse, reduced to what HTTPRouteCORS uses. */
interface Expected {
  readonly statusCodes: readonly number[];
  /** Each header must hold one of these values (IgnoreWhitespace: spaces are dropped before comparing). */
  readonly valid?: Readonly<Record<string, readonly string[]>>;
  readonly absent?: readonly string[];
  /** The request reached infra-backend-v1 (its echo came back). */
  readonly reachedBackend?: boolean;
}

function expectReply(reply: Reply, expected: Expected): void {
  assert.ok(expected.statusCodes.includes(reply.status), `status ${reply.status}, expected one of ${expected.statusCodes.join(", ")}`);
  for (const [name, values] of Object.entries(expected.valid ?? {})) {
    const got = reply.headers[name];
    assert.equal(typeof got, "string", `${name} is missing (headers: ${JSON.stringify(reply.headers)})`);
    const strip = (v: string): string => v.replace(/\s+/g, "");
    assert.ok(values.map(strip).includes(strip(got as string)), `${name}: ${String(got)}, expected one of ${values.join(" | ")}`);
  }
  for (const name of expected.absent ?? []) assert.equal(reply.headers[name.toLowerCase()], undefined, `${name} must be absent`);
  if (expected.reachedBackend !== undefined) {
    const echoed = reply.headers["content-type"] === "application/json" && reply.json()["url"] !== undefined;
    assert.equal(echoed, expected.reachedBackend, `reached the backend: ${echoed}`);
  }
}

const preflight = (path: string, origin: string, method: string, headers?: string): Promise<Reply> =>
  ask(gw.port, {
    method: "OPTIONS",
    path,
    headers: { origin, "access-control-request-method": method, ...(headers === undefined ? {} : { "access-control-request-headers": headers }) },
  });

const cors1Preflight: Expected = {
  statusCodes: [200, 204],
  valid: {
    "access-control-allow-methods": ["GET, OPTIONS", "OPTIONS, GET"],
    "access-control-allow-headers": ["x-header-1, x-header-2", "x-header-2, x-header-1"],
    "access-control-expose-headers": ["x-header-3, x-header-4", "x-header-4, x-header-3"],
    "access-control-max-age": ["3600"],
    "access-control-allow-credentials": ["true"],
  },
  reachedBackend: false,
};

test("conformance: preflights from an exact origin, a wildcard origin and a deeper subdomain of it are answered with the filter's headers", async () => {
  for (const origin of ["https://www.foo.com", "https://www.bar.com", "https://xpto.www.bar.com"]) {
    const reply = await preflight("/cors-1", origin, "GET", "x-header-1, x-header-2");
    expectReply(reply, { ...cors1Preflight, valid: { ...cors1Preflight.valid, "access-control-allow-origin": [origin] } });
  }
  assert.equal(v1.requests.filter((r) => r.method === "OPTIONS").length, 0, "no preflight reaches the upstream");
});

test("conformance: a preflight from an origin the filter does not list gets no Access-Control-Allow-Origin", async () => {
  const reply = await preflight("/cors-1", "https://foobar.com", "GET");
  expectReply(reply, { statusCodes: [200, 204, 403], absent: ["access-control-allow-origin"], reachedBackend: false });
});

test("conformance: simple requests from listed origins get their origin back; others get none", async () => {
  for (const origin of ["https://www.foo.com", "https://www.bar.com"]) {
    const reply = await ask(gw.port, { path: "/cors-1", headers: { origin, "access-control-request-method": "GET", "access-control-request-headers": "x-header-1, x-header-2" } });
    expectReply(reply, { statusCodes: [200], valid: { "access-control-allow-origin": [origin] }, reachedBackend: true });
  }
  const refused = await ask(gw.port, { path: "/cors-1", headers: { origin: "https://foobar.com", "access-control-request-method": "GET" } });
  expectReply(refused, { statusCodes: [200], absent: ["access-control-allow-origin"], reachedBackend: true });
});

test("conformance: allowMethods '*' allows POST; without allowCredentials no Access-Control-Allow-Credentials is sent", async () => {
  const reply = await preflight("/cors-2", "https://www.foo.com", "POST");
  expectReply(reply, {
    statusCodes: [200, 204],
    valid: { "access-control-allow-methods": ["POST", "*"], "access-control-allow-origin": ["https://www.foo.com"] },
    absent: ["access-control-allow-credentials"],
    reachedBackend: false,
  });
});

test("conformance: a wildcard origin answers '*' or the origin, with or without a port, on preflights and requests", async () => {
  for (const origin of ["https://foobar.com", "https://foobar.com:12345"]) {
    expectReply(await preflight("/cors-wildcard-origin", origin, "PUT"), {
      statusCodes: [200, 204],
      valid: { "access-control-allow-origin": [origin, "*"], "access-control-allow-methods": ["PUT"] },
      absent: ["Access-Control-Allow-Credentials"],
      reachedBackend: false,
    });
    expectReply(await ask(gw.port, { method: "PUT", path: "/cors-wildcard-origin", headers: { origin } }), {
      statusCodes: [200],
      valid: { "access-control-allow-origin": [origin, "*"] },
      absent: ["Access-Control-Allow-Credentials"],
      reachedBackend: true,
    });
  }
});

test("conformance: wildcard methods and headers with credentials name the requested ones and the origin; without credentials they may answer '*'", async () => {
  expectReply(await preflight("/cors-wildcard-methods-headers", "https://other.foo.com", "PUT", "x-header-1, x-header-2"), {
    statusCodes: [200, 204],
    valid: {
      "access-control-allow-origin": ["https://other.foo.com"],
      "access-control-allow-methods": ["PUT"],
      "access-control-allow-headers": ["x-header-1, x-header-2", "x-header-2, x-header-1"],
      "access-control-allow-credentials": ["true"],
    },
    reachedBackend: false,
  });
  expectReply(await preflight("/cors-wildcard-methods-headers-unauth", "https://other.foo.com", "PUT", "x-header-1, x-header-2"), {
    statusCodes: [200, 204],
    valid: {
      "access-control-allow-origin": ["https://other.foo.com", "*"],
      "access-control-allow-methods": ["PUT", "*"],
      "access-control-allow-headers": ["x-header-1, x-header-2", "x-header-2, x-header-1", "*"],
    },
    absent: ["access-control-allow-credentials"],
    reachedBackend: false,
  });
  expectReply(await ask(gw.port, { path: "/cors-wildcard-methods-headers", headers: { origin: "https://other.foo.com" } }), {
    statusCodes: [200],
    valid: { "access-control-allow-origin": ["https://other.foo.com"], "access-control-allow-credentials": ["true"] },
    reachedBackend: true,
  });
  expectReply(await ask(gw.port, { path: "/cors-wildcard-methods-headers-unauth", headers: { origin: "https://other.foo.com" } }), {
    statusCodes: [200],
    valid: { "access-control-allow-origin": ["https://other.foo.com", "*"] },
    absent: ["access-control-allow-credentials"],
    reachedBackend: true,
  });
});

test("a preflight is answered 204 with exactly the filter's headers; '*' without credentials answers '*' and varies by nothing it does not name back", async () => {
  const listed = await preflight("/cors-1", "https://www.foo.com", "GET", "x-header-1");
  assert.equal(listed.status, 204);
  assert.equal(listed.body.length, 0);
  assert.equal(listed.headers["vary"], "Origin");
  const open = await preflight("/cors-wildcard-methods-headers-unauth", "https://any.example", "DELETE");
  assert.equal(open.status, 204);
  assert.equal(open.headers["access-control-allow-origin"], "*");
  assert.equal(open.headers["access-control-allow-methods"], "*");
  assert.equal(open.headers["access-control-allow-headers"], "*");
  assert.equal(open.headers["access-control-max-age"], "5", "the Gateway API default");
  assert.equal(open.headers["vary"], undefined);
  // Requested headers are named back even without credentials: Fetch never lets `*` cover Authorization.
  const bearer = await preflight("/cors-wildcard-methods-headers-unauth", "https://any.example", "GET", "authorization,x-a");
  assert.equal(bearer.headers["access-control-allow-headers"], "authorization,x-a");
  assert.equal(bearer.headers["vary"], "Access-Control-Request-Headers");
  // With credentials the requested method and headers are named back, so the answer varies by them too.
  const named = await preflight("/cors-wildcard-methods-headers", "https://any.example", "DELETE", "x-a,x-b");
  assert.equal(named.headers["access-control-allow-methods"], "DELETE");
  assert.equal(named.headers["access-control-allow-headers"], "x-a,x-b");
  assert.equal(named.headers["vary"], "Origin, Access-Control-Request-Method, Access-Control-Request-Headers");
  // What is named back must be a method and a list of header names; anything else is not repeated.
  const odd = await preflight("/cors-wildcard-methods-headers", "https://any.example", "GE T", "x-a, x b");
  assert.equal(odd.status, 204);
  assert.equal(odd.headers["access-control-allow-methods"], undefined);
  assert.equal(odd.headers["access-control-allow-headers"], undefined);
  assert.equal(odd.headers["vary"], "Origin");
  const oddOpen = await preflight("/cors-wildcard-methods-headers-unauth", "https://any.example", "GET", "x-a;x-b");
  assert.equal(oddOpen.headers["access-control-allow-headers"], "*");
});

test("a preflight that carries a body is answered and its connection serves the next request", async () => {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  try {
    const send = (method: string, headers: http.OutgoingHttpHeaders, body?: string): Promise<{ status: number; reused: boolean }> =>
      new Promise((resolve, reject) => {
        const req = http.request({ host: "127.0.0.1", port: gw.port, method, path: "/cors-1", headers, agent }, (res) => {
          res.resume();
          res.on("end", () => resolve({ status: res.statusCode ?? 0, reused: req.reusedSocket }));
        });
        req.on("error", reject);
        req.end(body);
      });
    const first = await send("OPTIONS", { origin: "https://www.foo.com", "access-control-request-method": "GET", "content-length": "65536" }, "x".repeat(65536));
    assert.equal(first.status, 204);
    const second = await send("GET", { origin: "https://www.foo.com" });
    assert.deepEqual(second, { status: 200, reused: true });
  } finally {
    agent.destroy();
  }
});

test("a preflight from a refused origin gets a 403 with a JSON body and never reaches the upstream; OPTIONS without a requested method is forwarded", async () => {
  const before = v1.requests.length;
  const refused = await preflight("/cors-1", "https://evil.example", "GET");
  assert.equal(refused.status, 403);
  assert.deepEqual(refused.json(), { error: "cors_origin_not_allowed", message: "origin https://evil.example is not allowed by the route's CORS filter" });
  assert.equal(refused.headers["access-control-allow-origin"], undefined);
  assert.equal(v1.requests.length, before);
  const plain = await ask(gw.port, { method: "OPTIONS", path: "/cors-1", headers: { origin: "https://www.foo.com" } });
  expectReply(plain, { statusCodes: [200], valid: { "access-control-allow-origin": ["https://www.foo.com"] }, reachedBackend: true });
  // Without an Origin it is no preflight either, whatever else it carries.
  const noOrigin = await ask(gw.port, { method: "OPTIONS", path: "/cors-1", headers: { "access-control-request-method": "GET" } });
  expectReply(noOrigin, { statusCodes: [200], absent: ["access-control-allow-origin"], reachedBackend: true });
});

test("preflights are logged as the filter's own answers: no upstream attempt, cors_response or cors_origin_not_allowed, no error.type", async () => {
  const details = async (path: string, origin: string): Promise<{ status: number; details: string; attempts: number; errorType: string | undefined }> => {
    await preflight(path, origin, "GET");
    const exchange = await recorder.endOf(path);
    const facts = new RequestFacts(exchange, forwardedViewOf(exchange), [], []);
    return { status: facts.status, details: responseCodeDetails(facts), attempts: facts.upstreamAttempts, errorType: facts.errorType };
  };
  assert.deepEqual(await details("/cors-1/logged", "https://www.foo.com"), { status: 204, details: "cors_response", attempts: 0, errorType: undefined });
  assert.deepEqual(await details("/cors-1/refused", "https://evil.example"), { status: 403, details: "cors_origin_not_allowed", attempts: 0, errorType: undefined });
  await ask(gw.port, { path: "/teapot/logged" });
  const teapot = await recorder.endOf("/teapot/logged");
  assert.equal(responseCodeDetails(new RequestFacts(teapot, forwardedViewOf(teapot), [], [])), "direct_response", "a direct response keeps its own details");
  const answered = recorder.ended.find((e) => e.path === "/cors-1/logged")!;
  assert.ok(answered.responseStartPerfMs >= answered.startPerfMs, "the answer's start is recorded");
});

test("origins compare as browsers send them: the scheme's own port is the same origin, another port or scheme is not, and a wildcard needs a label before its suffix", async () => {
  const allowed = async (path: string, origin: string): Promise<boolean> => (await preflight(path, origin, "GET")).status === 204;
  assert.equal(await allowed("/cors-1", "https://www.foo.com:443"), true);
  assert.equal(await allowed("/cors-1", "HTTPS://WWW.FOO.COM"), true);
  assert.equal(await allowed("/cors-1", "https://www.foo.com:8443"), false);
  assert.equal(await allowed("/cors-1", "http://www.foo.com"), false);
  assert.equal(await allowed("/cors-1", "https://bar.com"), false);
  assert.equal(await allowed("/cors-1", "https://evilbar.com"), false);
  assert.equal(await allowed("/cors-1", "https://evil.example/x.bar.com"), false);
  assert.equal(await allowed("/cors-1", "https://a.bar.com:444"), false);
  assert.equal(await allowed("/cors-1", "null"), false);
  // `http://*:8080`: any host, that scheme and port only.
  assert.equal(await allowed("/own-cors", "http://localhost:8080"), true);
  assert.equal(await allowed("/own-cors", "http://localhost:8081"), false);
  assert.equal(await allowed("/own-cors", "https://localhost:8080"), false);
  // `*` with credentials names the origin back, so it must be one: not `null`, not a list.
  assert.equal(await allowed("/cors-wildcard-methods-headers", "null"), false);
  assert.equal(await allowed("/cors-wildcard-methods-headers", "https://a.example, https://b.example"), false);
  assert.equal(await allowed("/cors-wildcard-methods-headers-unauth", "null"), true);
  // Browsers send these origins too; with credentials they are named back like any other.
  for (const origin of ["http://[::1]:3000", "http://[::1]", "https://example.com.", "capacitor://localhost", "chrome-extension://abcdefgh"]) {
    const reply = await preflight("/cors-wildcard-methods-headers", origin, "PUT");
    assert.equal(reply.status, 204, origin);
    assert.equal(reply.headers["access-control-allow-origin"], origin);
  }
  assert.equal(await allowed("/cors-1", "https://www.bar.com."), false, "a trailing dot is another host to a browser");
  assert.equal(await allowed("/cors-1", "https://*.bar.com"), false, "a wildcard is config, never a request's origin");
  assert.equal(await allowed("/cors-wildcard-methods-headers", "https://*.bar.com"), false);
  assert.equal(await allowed("/cors-wildcard-methods-headers", "1http://a.example"), false, "not a URL scheme");
  assert.equal(await allowed("/plain-teapot", "http://app.example:80"), true, "http's own port");
  assert.equal(await allowed("/plain-teapot", "http://app.example:8080"), false);
  assert.equal(await allowed("/plain-teapot", "https://app.example"), false);
});

test("the filter owns the policy: the upstream's Access-Control-* grant is removed, the filter's written for an allowed origin, after the route's header modifier", async () => {
  const allowed = await ask(gw.port, { path: "/reflect", headers: { origin: "https://app.example" } });
  assert.equal(allowed.status, 200);
  assert.equal(allowed.headers["access-control-allow-origin"], "https://app.example");
  assert.equal(allowed.headers["access-control-allow-credentials"], undefined, "the filter does not allow credentials, whatever the upstream says");
  assert.equal(allowed.headers["access-control-expose-headers"], undefined, "the filter exposes nothing");
  assert.equal(allowed.headers["vary"], "Accept-Encoding, Origin");
  // An upstream that names back any origin with credentials cannot open what the filter refuses.
  const refused = await ask(gw.port, { path: "/reflect", headers: { origin: "https://evil.example" } });
  assert.equal(refused.status, 200);
  for (const name of ["access-control-allow-origin", "access-control-allow-credentials", "access-control-expose-headers"]) assert.equal(refused.headers[name], undefined, name);
  // A ResponseHeaderModifier runs after the upstream's grant is removed and before the filter writes.
  const modified = await ask(gw.port, { path: "/own-cors", headers: { origin: "https://evil.example" } });
  assert.equal(modified.headers["access-control-allow-origin"], "https://overwritten.example", "the header modifier's value");
  assert.equal(modified.headers["access-control-allow-credentials"], undefined);
  const modifiedAllowed = await ask(gw.port, { path: "/own-cors", headers: { origin: "https://app.example" } });
  assert.equal(modifiedAllowed.headers["access-control-allow-origin"], "https://app.example", "the filter writes last");
  // A response to a request without an Origin still varies by it: a cache must not serve it cross-origin.
  const sameOrigin = await ask(gw.port, { path: "/reflect" });
  assert.equal(sameOrigin.headers["vary"], "Accept-Encoding, Origin");
  assert.equal(sameOrigin.headers["access-control-allow-origin"], undefined);
  const varyAll = await ask(gw.port, { path: "/vary-star", headers: { origin: "https://app.example" } });
  assert.equal(varyAll.headers["vary"], "*", "Vary: * already covers Origin");
  const varyList = await ask(gw.port, { path: "/vary-list", headers: { origin: "https://app.example" } });
  assert.equal(varyList.headers["vary"], "Accept-Encoding, Cookie, Origin");
  // The filtered path strips hop-by-hop headers as the plain one does.
  assert.equal(allowed.headers["http2-settings"], undefined);
  const unfiltered = await ask(gw.port, { path: "/no-cors", headers: { origin: "https://app.example" } });
  assert.equal(unfiltered.headers["access-control-allow-origin"], undefined);
  assert.equal(unfiltered.headers["vary"], undefined);
});

test("with '*' and no credentials every response of the rule says '*', those to requests without an Origin too, so a cached copy serves a cross-origin read", async () => {
  const noOrigin = await ask(gw.port, { method: "PUT", path: "/cors-wildcard-origin" });
  assert.equal(noOrigin.status, 200);
  assert.equal(noOrigin.headers["access-control-allow-origin"], "*");
  assert.equal(noOrigin.headers["vary"], undefined);
});

test("exposeHeaders reach the actual response, where a browser reads them", async () => {
  const reply = await ask(gw.port, { path: "/cors-1", headers: { origin: "https://www.foo.com" } });
  assert.equal(reply.status, 200);
  assert.equal(reply.headers["access-control-expose-headers"], "x-header-3, x-header-4");
  assert.equal(reply.headers["access-control-allow-credentials"], "true");
});

test("exposeHeaders '*' with credentials lists the configured names and the response's own, since a browser reads '*' literally then", async () => {
  const reply = await ask(gw.port, { path: "/expose-all", headers: { origin: "https://app.example" } });
  assert.equal(reply.headers["access-control-allow-origin"], "https://app.example");
  assert.equal(reply.headers["access-control-allow-credentials"], "true");
  const exposed = String(reply.headers["access-control-expose-headers"]).split(", ");
  assert.deepEqual(exposed.slice(0, 2), ["x-configured", "date"], "the configured names first");
  assert.ok(exposed.includes("x-upstream") && exposed.includes("vary"), exposed.join(", "));
  assert.equal(new Set(exposed).size, exposed.length, `each name once: ${exposed.join(", ")}`);
  for (const name of exposed) assert.ok(!/^(content-type|content-length|cache-control|expires|access-control-.*|set-cookie)$/.test(name), `${name} needs no exposing`);
  assert.ok(reply.headers["set-cookie"] !== undefined, "the upstream sent a cookie, which a script may never read");
  // A preflight has no response headers to list, so it exposes the configured names only.
  const pre = await preflight("/expose-all", "https://app.example", "GET");
  assert.equal(pre.headers["access-control-expose-headers"], "x-configured, date");
});

test("the gateway's own answers on a CORS rule carry the headers: a redirect, a direct response, an upstream error; a preflight comes before the redirect", async () => {
  const pre = await preflight("/moved", "https://app.example", "PUT");
  assert.equal(pre.status, 204);
  assert.equal(pre.headers["access-control-allow-methods"], "PUT");
  assert.equal(pre.headers["location"], undefined);
  const moved = await ask(gw.port, { path: "/moved/x", headers: { origin: "https://app.example" } });
  assert.equal(moved.status, 301);
  assert.equal(moved.headers["location"], "http://elsewhere.example:8080/moved/x");
  assert.equal(moved.headers["access-control-allow-origin"], "https://app.example");
  const down = await ask(gw.port, { path: "/down", headers: { origin: "https://app.example" } });
  assert.equal(down.status, 502);
  assert.equal(down.json()["error"], "upstream_connect_failed");
  assert.equal(down.headers["access-control-allow-origin"], "https://app.example");
  assert.equal(down.headers["vary"], "Origin");
  const teapot = await ask(gw.port, { path: "/teapot", headers: { origin: "https://app.example" } });
  assert.equal(teapot.status, 418);
  assert.equal(teapot.body.toString(), "short and stout");
  assert.equal(teapot.headers["x-brew"], "earl-grey");
  assert.equal(teapot.headers["access-control-allow-origin"], "https://app.example");
  assert.equal(teapot.headers["access-control-allow-credentials"], "true");
  assert.equal(teapot.headers["access-control-expose-headers"], "x-brew");
  // Without a ResponseHeaderModifier, a direct response takes the same way.
  const plainTeapot = await ask(gw.port, { path: "/plain-teapot", headers: { origin: "http://app.example" } });
  assert.equal(plainTeapot.status, 418);
  assert.equal(plainTeapot.headers["access-control-allow-origin"], "http://app.example");
  assert.equal(plainTeapot.headers["vary"], "Origin");
  const downRefused = await ask(gw.port, { path: "/down", headers: { origin: "https://evil.example" } });
  assert.equal(downRefused.status, 502);
  assert.equal(downRefused.headers["access-control-allow-origin"], undefined);
});

test("an upgrade on a CORS rule loses the upstream's grant too, on the 101 and on a refusal; the filter adds nothing, since browsers apply no CORS to it", async () => {
  for (const path of ["/switch", "/refuse"]) {
    const lines = headLines(await upgradeHead(gw.port, path));
    assert.ok(lines.some((l) => l.startsWith("x-name:")), `the upstream's answer came through: ${lines.join(" | ")}`);
    assert.ok(!lines.some((l) => l.startsWith("access-control-")), `${path}: ${lines.join(" | ")}`);
  }
});

test("a kgateway TrafficPolicy's cors works as the route's filter: preflights answered, responses decorated", async () => {
  const pre = await preflight("/policy-cors", "https://app.example", "PUT");
  assert.equal(pre.status, 204);
  assert.equal(pre.headers["access-control-allow-origin"], "https://app.example");
  assert.equal(pre.headers["access-control-allow-methods"], "PUT");
  assert.equal(pre.headers["access-control-max-age"], "60");
  expectReply(await ask(gw.port, { path: "/policy-cors", headers: { origin: "https://app.example" } }), {
    statusCodes: [200],
    valid: { "access-control-allow-origin": ["https://app.example"], vary: ["Origin"] },
    reachedBackend: true,
  });
  assert.equal((await preflight("/policy-cors", "https://evil.example", "PUT")).status, 403);
  // A rule's own filter is the more specific: the policy does not reach it.
  assert.equal((await preflight("/policy-cors/own", "https://own.example", "PUT")).status, 204);
  assert.equal((await preflight("/policy-cors/own", "https://app.example", "PUT")).status, 403);
});
