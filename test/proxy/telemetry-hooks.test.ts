// The proxy calls the RequestTelemetry hooks in order with the Exchange filled.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import http from "node:http";
import { RecordingTelemetry } from "./recording-telemetry.ts";
import { type TestUpstream, closedPort, startUpstream } from "../support/upstreams.ts";
import { GATEWAY_YAML, type GatewayUnderTest, ask, backendYaml, ref, startGateway } from "./harness.ts";

let up: TestUpstream;
let gw: GatewayUnderTest;
const telemetry = new RecordingTelemetry();

function gatewayYaml(deadPort: number): string {
  return `${GATEWAY_YAML}${backendYaml("up", up.port)}${backendYaml("dead", deadPort)}---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: shop, namespace: default}
spec:
  parentRefs: [{name: edge}]
  rules:
    - name: flaky
      matches: [{path: {type: PathPrefix, value: /flaky}}]
      retry: {codes: [503], attempts: 1, backoff: 1ms}
      backendRefs: [${ref("up")}]
    - matches: [{path: {type: PathPrefix, value: /dead}}]
      backendRefs: [${ref("dead")}]
    - matches: [{path: {type: PathPrefix, value: /retried-dead}}]
      retry: {attempts: 1, backoff: 1ms}
      backendRefs: [${ref("dead")}]
    - matches: [{path: {type: PathPrefix, value: /facts}}, {path: {type: PathPrefix, value: /hang}}]
      backendRefs: [${ref("up")}]
---
apiVersion: gateway.kgateway.dev/v1alpha1
kind: HTTPListenerPolicy
metadata: {name: trust, namespace: default}
spec:
  targetRefs: [{group: gateway.networking.k8s.io, kind: Gateway, name: edge}]
  trustForwardedHeaders: true
  xffNumTrustedHops: 1
`;
}

before(async () => {
  up = await startUpstream("up");
  const dead = await closedPort();
  gw = await startGateway(gatewayYaml(dead), telemetry);
});

after(async () => {
  await gw?.close();
  await up?.close();
});

describe("telemetry hooks", () => {
  test("are called in order around every attempt; propagation headers reach the upstream", async () => {
    const r = await ask(gw.port, { method: "PUT", path: "/flaky/k/1/503?x=1", body: "" });
    assert.equal(r.status, 200);
    const exchange = await telemetry.endOf("/flaky/k/1/503");
    assert.deepEqual(telemetry.eventsFor("/flaky/k/1/503"), [
      "start /flaky/k/1/503 match=default/shop",
      "attemptStart /flaky/k/1/503 #0",
      "attemptEnd /flaky/k/1/503 #0 status=503 error=503",
      "attemptStart /flaky/k/1/503 #1",
      "attemptEnd /flaky/k/1/503 #1 status=200 error=-",
      "end /flaky/k/1/503 status=200",
    ]);
    const seen = up.requests.filter((q) => q.url.startsWith("/flaky/k/"));
    assert.deepEqual(
      seen.map((q) => q.headers.traceparent),
      ["00-0af7651916cd43dd8448eb211c80319c-0000000000000001-01", "00-0af7651916cd43dd8448eb211c80319c-0000000000000002-01"],
    );
    assert.equal(exchange.method, "PUT");
    assert.equal(exchange.query, "x=1");
    assert.equal(exchange.status, 200);
    assert.equal(exchange.backend?.displayName, "default/up");
    assert.equal(exchange.match?.rule.ruleName, "flaky");
    assert.equal(exchange.attempts.length, 2);
    assert.equal(exchange.attempts[1]!.url, `http://127.0.0.1:${up.port}/flaky/k/1/503?x=1`);
    assert.equal(exchange.attempts[1]!.peerAddress, "127.0.0.1");
    assert.equal(exchange.attempts[1]!.peerPort, up.port);
    assert.equal(exchange.bytesSent, r.body.length);
    assert.ok(exchange.startTimeMs > 0 && exchange.endPerfMs >= exchange.responseStartPerfMs && exchange.responseStartPerfMs > exchange.startPerfMs);
    assert.equal(exchange.responseFlags, "");
    assert.equal(exchange.errorType, undefined);
  });

  test("fill client and server facts from trusted forwarding headers", async () => {
    await ask(gw.port, {
      method: "POST",
      path: "/facts",
      body: "12345",
      headers: { host: "internal:8080", "x-forwarded-for": "203.0.113.9, 10.0.0.2", "x-forwarded-host": "shop.example.com", "x-forwarded-proto": "https" },
    });
    const exchange = await telemetry.endOf("/facts");
    assert.equal(exchange.clientAddress, "203.0.113.9", "one trusted hop skips the right-most entry");
    assert.equal(exchange.peerAddress, "127.0.0.1");
    assert.equal(exchange.serverAddress, "shop.example.com");
    assert.equal(exchange.serverPort, 443);
    assert.equal(exchange.scheme, "https");
    assert.equal(exchange.bytesReceived, 5);
    assert.equal(exchange.protocolVersion, "1.1");
  });

  test("fill client and server facts from a trusted Forwarded header whose quoted values hold separators", async () => {
    await ask(gw.port, {
      method: "GET",
      path: "/facts/forwarded",
      headers: {
        host: "internal:8080",
        forwarded: 'for="[2001:db8::7]:4711";host="shop.example.com:8443";proto=https, for="_proxy,one;by=x";by=_gw',
      },
    });
    const exchange = await telemetry.endOf("/facts/forwarded");
    assert.equal(exchange.clientAddress, "2001:db8::7", "one trusted hop skips the right-most element, whose quoted for= holds a comma");
    assert.equal(exchange.serverAddress, "shop.example.com");
    assert.equal(exchange.serverPort, 8443);
    assert.equal(exchange.scheme, "https");
  });

  test("a Forwarded header that is not well-formed is not trusted: a client's open quote cannot swallow a proxy's element", async () => {
    await ask(gw.port, {
      method: "GET",
      path: "/facts/forged",
      // The client sent `for=198.51.100.7;x="`; two proxies appended their elements.
      headers: { host: "internal:8080", forwarded: 'for=198.51.100.7;x=";host=forged.example, for=203.0.113.9, for=10.0.0.2' },
    });
    const exchange = await telemetry.endOf("/facts/forged");
    assert.equal(exchange.clientAddress, "127.0.0.1", "the peer, not the forged address");
    assert.equal(exchange.serverAddress, "internal", "the Host, not a host= from the malformed header");
  });

  test("a missing route: NR, no error.type (a 4xx is the client's error), no attempts", async () => {
    const r = await ask(gw.port, { path: "/nothing" });
    assert.equal(r.status, 404);
    const exchange = await telemetry.endOf("/nothing");
    assert.equal(exchange.match, undefined);
    assert.equal(exchange.status, 404);
    assert.equal(exchange.errorType, undefined);
    assert.equal(exchange.responseFlags, "NR");
    assert.equal(exchange.attempts.length, 0);
    assert.deepEqual(telemetry.eventsFor("/nothing"), ["start /nothing match=none", "end /nothing status=404"]);
  });

  test("a refused upstream: UF, error.type connection_refused", async () => {
    const refused = await ask(gw.port, { path: "/dead/x" });
    assert.equal(refused.status, 502);
    const dead = await telemetry.endOf("/dead/x");
    assert.equal(dead.errorType, "connection_refused");
    assert.equal(dead.responseFlags, "UF");
    assert.equal(dead.attempts[0]!.errorType, "connection_refused");
    assert.deepEqual(telemetry.eventsFor("/dead/x").map((e) => e.split(" ")[0]), ["start", "attemptStart", "attemptEnd", "end"]);
  });

  test("a refused upstream retried to the limit: UF,URX in Envoy's order, though URX was set first", async () => {
    const refused = await ask(gw.port, { path: "/retried-dead/x" });
    assert.equal(refused.status, 502);
    const dead = await telemetry.endOf("/retried-dead/x");
    assert.equal(dead.attempts.length, 2);
    assert.equal(dead.responseFlags, "UF,URX");
  });

  test("a client abort: DC, clientAborted, attempt ended before the request", async () => {
    const req = http.get({ host: "127.0.0.1", port: gw.port, path: "/hang", agent: false });
    req.on("error", () => {});
    await up.waitFor("/hang");
    req.destroy();
    const exchange = await telemetry.endOf("/hang");
    assert.equal(exchange.clientAborted, true);
    assert.equal(exchange.responseFlags, "DC");
    assert.equal(exchange.errorType, "client_aborted");
    assert.deepEqual(telemetry.eventsFor("/hang").map((e) => e.split(" ")[0]), ["start", "attemptStart", "attemptEnd", "end"]);
  });
});

describe("onRequestEnd", () => {
  test("runs exactly once per request, whatever ends it, including a gateway closed under a request", async (t) => {
    const recording = new RecordingTelemetry();
    const own = await startGateway(gatewayYaml(await closedPort()), recording);
    let closed = false;
    // A failure before the close below must not leave this gateway holding the test process open.
    t.after(() => (closed ? undefined : own.close()));
    const answered = ["/facts/once", "/nothing/once", "/dead/once", "/retried-dead/once", "/flaky/once/1/503"];
    for (const path of answered) await ask(own.port, { path });
    const aborted = http.get({ host: "127.0.0.1", port: own.port, path: "/hang?aborted", agent: false });
    aborted.on("error", () => {});
    await up.waitFor("/hang?aborted");
    aborted.destroy();
    await recording.endOf("/hang");
    const openAtClose = ask(own.port, { path: "/hang?open-at-close" }).catch((error: unknown) => error);
    await up.waitFor("/hang?open-at-close");
    await own.close();
    closed = true;
    assert.ok((await openAtClose) instanceof Error, "the request open at close got no answer");
    // Ends caused by the close itself (sockets, pools) have run once every handle is gone.
    await new Promise((resolve) => setImmediate(resolve));
    await new Promise((resolve) => setTimeout(resolve, 0));
    const counts = (kind: string) => {
      const perPath = new Map<string, number>();
      for (const event of recording.events.filter((e) => e.startsWith(`${kind} `))) {
        const path = event.split(" ")[1]!;
        perPath.set(path, (perPath.get(path) ?? 0) + 1);
      }
      return perPath;
    };
    const expected = new Map([...answered.map((path) => [path, 1] as const), ["/hang", 2]]);
    assert.deepEqual(counts("start"), expected, "every request started once");
    assert.deepEqual(counts("end"), expected, "every request ended once");
    assert.equal(recording.ended.length, answered.length + 2);
  });
});
