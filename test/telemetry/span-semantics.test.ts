// Span names, statuses and error attributes for the outcomes a gateway sees: no route,
// 4xx, 5xx, refused upstream, retries, unknown methods, header capture and redaction.
import { test, type TestContext } from "node:test";
import assert from "node:assert/strict";
import { request as httpRequest } from "node:http";
import { closedPort, startOtlpReceiver, type ReceivedSpan } from "../support/otlp-receiver.ts";
import { gatewayYaml, get, startTracedGateway, startUpstream } from "./harness.ts";

async function setup(t: TestContext, env: Record<string, string> = {}, rules?: (upstreamPort: number) => string, handler?: Parameters<typeof startUpstream>[0]) {
  const rx = await startOtlpReceiver("http");
  t.after(() => rx.close());
  const upstream = await startUpstream(handler);
  t.after(() => upstream.close());
  const gw = await startTracedGateway(gatewayYaml({ upstreamPort: upstream.port, rules: rules?.(upstream.port) }), {
    OTEL_BSP_SCHEDULE_DELAY: "20",
    OTEL_EXPORTER_OTLP_ENDPOINT: rx.url,
    ...env,
  });
  t.after(() => gw.close());
  const spansOf = async (n: number): Promise<ReceivedSpan[]> => {
    await rx.waitForSpans((s) => s.length >= n);
    await gw.telemetry.flush(2000);
    return rx.spans.slice();
  };
  return { rx, upstream, gw, spansOf };
}

test("no matching route: SERVER span named by the method alone, 404, status UNSET, no CLIENT span", async (t) => {
  const { gw, spansOf } = await setup(t);
  const res = await get(gw.url(8080, "/nowhere/secret-id-123"));
  assert.equal(res.status, 404);
  const spans = await spansOf(1);
  assert.equal(spans.length, 1);
  const s = spans[0]!;
  assert.equal(s.kind, 2);
  assert.equal(s.name, "GET");
  assert.equal(s.status.code, 0);
  assert.equal(s.attributes["http.response.status_code"], 404);
  assert.equal(s.attributes["error.type"], undefined, "a server 4xx is not an error: semconv sets no error.type");
  assert.equal(s.attributes["http.route"], undefined);
  assert.equal(s.attributes["url.path"], "/nowhere/secret-id-123");
  assert.equal(s.attributes["tollgate.gateway.name"], "kgateway-system/http");
});

test("upstream 404: SERVER UNSET, CLIENT ERROR with error.type 404", async (t) => {
  const { gw, spansOf } = await setup(t);
  assert.equal((await get(gw.url(8080, "/api/missing"), { "x-status": "404" })).status, 404);
  const spans = await spansOf(2);
  const server = spans.find((s) => s.kind === 2)!;
  const client = spans.find((s) => s.kind === 3)!;
  assert.equal(server.status.code, 0);
  assert.equal(server.attributes["error.type"], undefined);
  assert.equal(client.status.code, 2);
  assert.equal(client.attributes["error.type"], "404");
  assert.equal(client.attributes["http.response.status_code"], 404);
});

test("upstream 200 reset mid-body: both spans ERROR with status 200 and error.type connection_reset, the access log ERROR", async (t) => {
  const { rx, gw, spansOf } = await setup(t, { OTEL_BLRP_SCHEDULE_DELAY: "20" }, undefined, (_req, res) => {
    res.writeHead(200, { "content-length": "1000" });
    res.write("only the first bytes", () => res.socket?.destroy());
  });
  const outcome = await new Promise<string>((resolve) => {
    const req = httpRequest(gw.url(8080, "/api/cut"), { agent: false }, (res) => {
      res.on("error", (err) => resolve(`${res.statusCode} ${err.message}`));
      res.on("end", () => resolve(`${res.statusCode} complete`));
      res.resume();
    });
    req.on("error", (err) => resolve(`request ${err.message}`));
    req.end();
  });
  assert.equal(outcome, "200 aborted", "the client sees the 200 and then a truncated body");
  const spans = await spansOf(2);
  for (const kind of [2, 3]) {
    const s = spans.find((x) => x.kind === kind)!;
    assert.equal(s.status.code, 2, `span kind ${kind}`);
    assert.equal(s.attributes["http.response.status_code"], 200);
    assert.equal(s.attributes["error.type"], "connection_reset");
  }
  const [log] = await rx.waitForLogs((l) => l.length >= 1);
  assert.equal(log!.severityNumber, 17);
  assert.equal(log!.severityText, "ERROR");
});

test("upstream 503: both spans ERROR with error.type 503", async (t) => {
  const { gw, spansOf } = await setup(t);
  assert.equal((await get(gw.url(8080, "/api/x"), { "x-status": "503" })).status, 503);
  const spans = await spansOf(2);
  for (const s of spans) {
    assert.equal(s.status.code, 2, s.name);
    assert.equal(s.attributes["error.type"], "503");
  }
});

test("refused upstream: 502, SERVER and CLIENT ERROR with a transport error.type", async (t) => {
  const dead = await closedPort();
  const { gw, spansOf } = await setup(t);
  // Same gateway, reloaded with the route's Backend pointing at a port nobody listens on.
  gw.reload(gatewayYaml({ upstreamPort: dead }));
  const res = await get(gw.url(8080, "/api/x"));
  assert.equal(res.status, 502);
  const spans = await spansOf(2);
  const server = spans.find((s) => s.kind === 2)!;
  const client = spans.find((s) => s.kind === 3)!;
  assert.equal(server.status.code, 2);
  assert.equal(client.status.code, 2);
  assert.equal(client.attributes["http.response.status_code"], undefined);
  assert.equal(typeof client.attributes["error.type"], "string");
  assert.notEqual(client.attributes["error.type"], "");
  assert.equal(server.attributes["http.response.status_code"], 502);
});

test("retries: one CLIENT span per attempt, http.request.resend_count on the retries", async (t) => {
  let calls = 0;
  const { gw, spansOf } = await setup(
    t,
    {},
    (port) => `  - matches:
    - path: {type: PathPrefix, value: /api}
    retry: {codes: [503], attempts: 2, backoff: 1ms}
    backendRefs:
    - {name: upstream, kind: Backend, group: gateway.tollgate.dev, port: ${port}}`,
    (_req, res) => {
      calls++;
      res.writeHead(calls < 3 ? 503 : 200).end("x");
    },
  );
  assert.equal((await get(gw.url(8080, "/api/retry"))).status, 200);
  const spans = await spansOf(4);
  const server = spans.find((s) => s.kind === 2)!;
  const clients = spans.filter((s) => s.kind === 3).sort((a, b) => Number(a.startTimeUnixNano - b.startTimeUnixNano));
  assert.equal(clients.length, 3);
  assert.deepEqual(clients.map((c) => c.attributes["http.request.resend_count"]), [undefined, 1, 2]);
  assert.deepEqual(clients.map((c) => c.status.code), [2, 2, 0]);
  for (const c of clients) assert.equal(c.parentSpanId, server.spanId);
  assert.equal(server.status.code, 0);
});

test("unknown methods become _OTHER with method_original; span named HTTP; known list from env", async (t) => {
  const { gw, spansOf } = await setup(t, { OTEL_INSTRUMENTATION_HTTP_KNOWN_METHODS: "GET,POST,PURGE" });
  await get(gw.url(8080, "/api/x"), {}, "PURGE");
  await get(gw.url(8080, "/api/x"), {}, "PUT");
  const spans = await spansOf(4);
  const servers = spans.filter((s) => s.kind === 2);
  const purge = servers.find((s) => s.attributes["http.request.method"] === "PURGE");
  assert.ok(purge, "PURGE is known through the env list");
  assert.equal(purge.name, "PURGE /api/*");
  assert.equal(purge.attributes["http.request.method_original"], undefined);
  const put = servers.find((s) => s.attributes["http.request.method_original"] === "PUT")!;
  assert.equal(put.attributes["http.request.method"], "_OTHER");
  assert.equal(put.name, "HTTP /api/*");
  const putClient = spans.find((s) => s.kind === 3 && s.parentSpanId === put.spanId)!;
  assert.equal(putClient.name, "HTTP");
  assert.equal(putClient.attributes["http.request.method"], "_OTHER");
});

test("header capture by name as string arrays; credentials only with explicit opt-in", async (t) => {
  const { gw, spansOf } = await setup(
    t,
    {
      OTEL_INSTRUMENTATION_HTTP_SERVER_CAPTURE_REQUEST_HEADERS: "X-Request-Id,authorization,cookie",
      OTEL_INSTRUMENTATION_HTTP_SERVER_CAPTURE_RESPONSE_HEADERS: "content-type,set-cookie",
      OTEL_INSTRUMENTATION_HTTP_CLIENT_CAPTURE_REQUEST_HEADERS: "x-request-id",
      TOLLGATE_TRACES_ALLOW_SENSITIVE_HEADERS: "cookie",
    },
    undefined,
    (_req, res) => res.writeHead(200, { "content-type": "text/plain", "set-cookie": ["a=1", "b=2"] }).end("ok"),
  );
  assert.ok(gw.warnings.some((w) => /authorization/.test(w.message)), "a warning names the refused sensitive header");
  await get(gw.url(8080, "/api/x"), { "x-request-id": "req-1", authorization: "Bearer secret", cookie: "session=s" });
  const spans = await spansOf(2);
  const server = spans.find((s) => s.kind === 2)!;
  const client = spans.find((s) => s.kind === 3)!;
  assert.deepEqual(server.attributes["http.request.header.x-request-id"], ["req-1"]);
  assert.deepEqual(server.attributes["http.request.header.cookie"], ["session=s"], "explicitly allowed");
  assert.equal(server.attributes["http.request.header.authorization"], undefined);
  assert.deepEqual(server.attributes["http.response.header.content-type"], ["text/plain"]);
  assert.equal(server.attributes["http.response.header.set-cookie"], undefined);
  assert.deepEqual(client.attributes["http.request.header.x-request-id"], ["req-1"]);
  const all = JSON.stringify(spans.map((s) => s.attributes));
  assert.ok(!all.includes("Bearer secret"));
});

test("span attribute limits from env: count limit drops and counts, value length truncates", async (t) => {
  const { gw, spansOf } = await setup(t, { OTEL_SPAN_ATTRIBUTE_COUNT_LIMIT: "5", OTEL_ATTRIBUTE_VALUE_LENGTH_LIMIT: "4" });
  await get(gw.url(8080, "/api/longer-path"));
  const spans = await spansOf(2);
  const server = spans.find((s) => s.kind === 2)!;
  assert.equal(Object.keys(server.attributes).length, 5);
  assert.ok(server.droppedAttributesCount > 0);
  assert.equal(server.attributes["http.request.method"], "GET");
  assert.equal(server.attributes["http.route"], "/api");
});

test("a rule with matches of different templates reports each request's own http.route in spans and metrics", async (t) => {
  const { gw, spansOf } = await setup(t, { OTEL_METRICS_EXPORTER: "prometheus" }, (port) => `  - matches:
    - path: {type: Exact, value: /login}
    - path: {type: PathPrefix, value: /auth}
    backendRefs:
    - {name: upstream, kind: Backend, group: gateway.tollgate.dev, port: ${port}}`);
  assert.equal((await get(gw.url(8080, "/login"))).status, 200);
  assert.equal((await get(gw.url(8080, "/auth/callback"))).status, 200);
  const servers = (await spansOf(4)).filter((s) => s.kind === 2);
  assert.deepEqual(
    servers.map((s) => [s.name, s.attributes["http.route"], s.attributes["tollgate.route.name"]]).sort(),
    [
      ["GET /auth/*", "/auth/*", "kgateway-system/httpbin"],
      ["GET /login", "/login", "kgateway-system/httpbin"],
    ],
  );
  const { body } = await gw.telemetry.metrics!.render(undefined);
  const routes = [...body.matchAll(/^http_server_request_duration_seconds_count\{[^}]*http_route="([^"]*)"/gm)].map((m) => m[1]).sort();
  assert.deepEqual(routes, ["/auth/*", "/login"]);
});
