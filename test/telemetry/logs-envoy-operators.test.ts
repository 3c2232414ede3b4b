// Every Envoy command operator issue 4 lists, plus %REQUEST_DURATION%, %RESPONSE_DURATION%,
// %REQUEST_TX_DURATION%, %RESPONSE_TX_DURATION%,
// %CONNECTION_ID%, %UPSTREAM_LOCAL_ADDRESS% and the downstream TLS operators, rendered in a kgateway access-log body for
// known requests and compared with what the test itself observed: its own sockets, the
// upstream's view of the connection, the exported SERVER span.
import { test } from "node:test";
import assert from "node:assert/strict";
import { Agent, createServer, request as httpRequest, type IncomingMessage } from "node:http";
import { type AddressInfo, connect } from "node:net";
import { startOtlpReceiver } from "../support/otlp-receiver.ts";
import { gatewayYaml, otelAccessLogPolicyYaml, startTracedGateway } from "./harness.ts";
import { startRig } from "./rig.ts";

const OPERATORS = [
  "%REQ(X-TEST)%",
  "%REQ(X-MISSING?X-FALLBACK)%",
  "%REQ(X-PRIMARY?X-FALLBACK)%",
  "%REQ(X-ABSENT)%",
  "%RESP(X-UP)%",
  "%RESP(X-NONE)%",
  "%RESP(X-ENVOY-UPSTREAM-SERVICE-TIME)%",
  "%RESPONSE_CODE%",
  "%RESPONSE_FLAGS%",
  "%DURATION%",
  "%START_TIME%",
  "%PROTOCOL%",
  "%BYTES_RECEIVED%",
  "%BYTES_SENT%",
  "%UPSTREAM_HOST%",
  "%UPSTREAM_CLUSTER%",
  "%ROUTE_NAME%",
  "%TRACE_ID%",
  "%SPAN_ID%",
  "%DOWNSTREAM_REMOTE_ADDRESS%",
  "%REQUEST_DURATION%",
  "%RESPONSE_DURATION%",
  "%CONNECTION_ID%",
  "%UPSTREAM_LOCAL_ADDRESS%",
  "%REQUESTED_SERVER_NAME%",
  "%DOWNSTREAM_TLS_VERSION%",
  "%DOWNSTREAM_TLS_CIPHER%",
  "%DOWNSTREAM_PEER_SUBJECT%",
  "%DOWNSTREAM_PEER_URI_SAN%",
  "%DOWNSTREAM_PEER_FINGERPRINT_256%",
] as const;

interface Sent {
  readonly status: number;
  readonly clientPort: number;
}

/** Sends the first chunk, then the rest once `release` resolves. */
function send(url: string, agent: Agent, method: string, headers: Record<string, string>, chunks: readonly string[], release: Promise<unknown> = Promise.resolve()): Promise<Sent> {
  return new Promise((resolve, reject) => {
    let clientPort = 0;
    const req = httpRequest(url, { method, headers, agent }, (res: IncomingMessage) => {
      res.resume();
      res.on("end", () => resolve({ status: res.statusCode ?? 0, clientPort }));
    });
    req.on("socket", (s) => {
      const note = (): void => {
        clientPort = s.localPort ?? 0;
      };
      if (s.localPort !== undefined) note();
      else s.once("connect", note);
    });
    req.on("error", reject);
    if (chunks.length === 0) return void req.end();
    req.write(chunks[0]);
    void release.then(() => req.end(chunks.slice(1).join("")));
  });
}

/** A rendered duration: a whole, non-negative number of milliseconds (not '-', not fractional). */
function wholeMs(rendered: string, what: string): number {
  assert.match(rendered, /^\d+$/, `${what}: '${rendered}' is a whole number of ms`);
  return Number(rendered);
}

/** A rendered integer millisecond value is the rounding of the precise one (either neighbour right at .5). */
function assertRoundedMs(rendered: string, preciseMs: number, what: string): void {
  const n = Number(rendered);
  assert.ok(Number.isInteger(n), `${what}: '${rendered}' is an integer`);
  const frac = preciseMs - Math.floor(preciseMs);
  if (Math.abs(frac - 0.5) < 0.002) assert.ok(n === Math.floor(preciseMs) || n === Math.ceil(preciseMs), `${what}: ${n} rounds ${preciseMs}`);
  else assert.equal(n, Math.round(preciseMs), `${what}: ${n} rounds ${preciseMs}`);
}

test("Envoy operators render exactly what happened for a known request", async (t) => {
  const rx = await startOtlpReceiver("grpc");
  t.after(() => rx.close());
  const upstreamPorts: number[] = [];
  let onArrival: (() => void) | undefined;
  const upstreamServer = createServer((req, res) => {
    upstreamPorts.push(req.socket.remotePort ?? 0);
    onArrival?.();
    req.resume();
    // Answer only once the whole body arrived, so the request ends before the response starts.
    // An upstream behind its own Envoy sends x-envoy-upstream-service-time too; the gateway's own measure is logged.
    req.on("end", () => res.writeHead(req.method === "POST" ? 201 : 200, { "x-up": "up-value", "x-envoy-upstream-service-time": "987654", "content-type": "text/plain" }).end("created!!"));
  });
  await new Promise<void>((r) => upstreamServer.listen(0, "127.0.0.1", r));
  const upstream = { port: (upstreamServer.address() as AddressInfo).port, close: () => new Promise<void>((r) => { upstreamServer.closeAllConnections(); upstreamServer.close(() => r()); }) };
  t.after(() => upstream.close());
  const yaml = gatewayYaml({ upstreamPort: upstream.port, extra: otelAccessLogPolicyYaml("operators", rx.port, `      body: "${OPERATORS.join("|")}"\n`) });
  const gw = await startTracedGateway(yaml, { OTEL_BLRP_SCHEDULE_DELAY: "20", OTEL_BSP_SCHEDULE_DELAY: "20", OTEL_EXPORTER_OTLP_ENDPOINT: rx.url, OTEL_EXPORTER_OTLP_PROTOCOL: "grpc", OTEL_METRICS_EXPORTER: "none" });
  t.after(() => gw.close());

  const keepAlive = new Agent({ keepAlive: true, maxSockets: 1 });
  t.after(() => keepAlive.destroy());
  const fresh = new Agent({ keepAlive: false });
  const headers = { "x-test": "alpha", "x-fallback": "beta", "x-primary": "gamma", "content-length": "11" };
  // The rest of the body leaves only once the upstream saw the request: causally after the
  // gateway started the upstream attempt, whatever the machine's speed.
  const arrived = new Promise<void>((r) => (onArrival = r));
  const first = await send(gw.url(8080, "/api/ops?x=1"), keepAlive, "POST", headers, ["hello ", "world"], arrived);
  onArrival = undefined;
  const second = await send(gw.url(8080, "/api/ops"), keepAlive, "GET", { "x-test": "again" }, []);
  const third = await send(gw.url(8080, "/api/ops"), fresh, "GET", {}, []);
  assert.deepEqual([first.status, second.status, third.status], [201, 200, 200]);
  assert.equal(first.clientPort, second.clientPort, "the keep-alive agent reused its connection");
  assert.notEqual(first.clientPort, third.clientPort);

  const logs = await rx.waitForLogs((l) => l.length >= 3);
  const spans = await rx.waitForSpans((s) => s.filter((x) => x.kind === 2).length >= 3);
  const fields = logs.map((l) => String(l.body).split("|"));
  for (const f of fields) assert.equal(f.length, OPERATORS.length, "one value per operator");
  const v = (i: number, op: (typeof OPERATORS)[number]): string => fields[i]![OPERATORS.indexOf(op)]!;
  const backend = gw.plan.rules[0]!.backends.entries[0]!.backend.displayName;

  const server = spans.find((s) => s.kind === 2 && s.spanId === logs[0]!.spanId)!;
  assert.ok(server);
  const expectedFirst: Record<string, string> = {
    "%REQ(X-TEST)%": "alpha",
    "%REQ(X-MISSING?X-FALLBACK)%": "beta",
    "%REQ(X-PRIMARY?X-FALLBACK)%": "gamma",
    "%REQ(X-ABSENT)%": "-",
    "%RESP(X-UP)%": "up-value",
    "%RESP(X-NONE)%": "-",
    "%RESPONSE_CODE%": "201",
    "%RESPONSE_FLAGS%": "-",
    "%START_TIME%": new Date(Number(server.startTimeUnixNano / 1_000_000n)).toISOString(),
    "%PROTOCOL%": "HTTP/1.1",
    "%BYTES_RECEIVED%": "11",
    "%BYTES_SENT%": "9",
    "%UPSTREAM_HOST%": `127.0.0.1:${upstream.port}`,
    "%UPSTREAM_CLUSTER%": backend,
    "%ROUTE_NAME%": "kgateway-system/httpbin",
    "%TRACE_ID%": server.traceId,
    "%SPAN_ID%": server.spanId,
    "%DOWNSTREAM_REMOTE_ADDRESS%": `127.0.0.1:${first.clientPort}`,
    "%UPSTREAM_LOCAL_ADDRESS%": `127.0.0.1:${upstreamPorts[0]}`,
    // Plain HTTP: no handshake to report (test/telemetry/https-telemetry.test.ts has TLS).
    "%REQUESTED_SERVER_NAME%": "-",
    "%DOWNSTREAM_TLS_VERSION%": "-",
    "%DOWNSTREAM_TLS_CIPHER%": "-",
    "%DOWNSTREAM_PEER_SUBJECT%": "-",
    "%DOWNSTREAM_PEER_URI_SAN%": "-",
    "%DOWNSTREAM_PEER_FINGERPRINT_256%": "-",
  };
  for (const [op, expected] of Object.entries(expectedFirst)) assert.equal(v(0, op as (typeof OPERATORS)[number]), expected, op);

  const durationMs = Number(server.endTimeUnixNano - server.startTimeUnixNano) / 1e6;
  assertRoundedMs(v(0, "%DURATION%"), durationMs, "%DURATION% vs the SERVER span");
  assertRoundedMs(v(0, "%RESPONSE_DURATION%"), Number(logs[0]!.attributes["tollgate.response.first_byte_ms"]), "%RESPONSE_DURATION%");
  // Timing-free: no delay is assumed, only causality. The client sent the body's end after
  // the upstream saw the request (so after the CLIENT span began); the upstream answered only
  // after reading the whole body; the response started before the exchange ended.
  const requestMs = wholeMs(v(0, "%REQUEST_DURATION%"), "%REQUEST_DURATION%");
  const responseMs = wholeMs(v(0, "%RESPONSE_DURATION%"), "%RESPONSE_DURATION%");
  const totalMs = wholeMs(v(0, "%DURATION%"), "%DURATION%");
  assert.ok(requestMs <= responseMs, `request end ${requestMs} ms is not after response start ${responseMs} ms`);
  assert.ok(responseMs <= totalMs, `response start ${responseMs} ms is not after the end ${totalMs} ms`);
  const client = spans.find((s) => s.kind === 3 && s.parentSpanId === server.spanId);
  assert.ok(client, "the request's CLIENT span was exported");
  assert.ok(client.startTimeUnixNano >= server.startTimeUnixNano && client.endTimeUnixNano <= server.endTimeUnixNano, "CLIENT span inside the SERVER span");
  // Spans and log facts read different clocks (epoch vs monotonic): 1 ms of slack covers rounding between them.
  const attemptStartMs = Math.round(Number(client.startTimeUnixNano - server.startTimeUnixNano) / 1e6);
  assert.ok(requestMs >= attemptStartMs - 1, `the body ended (${requestMs} ms) after the upstream attempt began (${attemptStartMs} ms)`);
  assert.ok(responseMs >= attemptStartMs - 1, `the response started (${responseMs} ms) after the upstream attempt began (${attemptStartMs} ms)`);
  // Upstream service time, as Envoy's router measures it: from the request's last byte to the
  // upstream response head, in whole ms (never the upstream's own header value). Each of the
  // three rendered values is rounded or truncated on its own, hence the 1 ms either way.
  for (const i of [0, 1, 2]) {
    const serviceMs = wholeMs(v(i, "%RESP(X-ENVOY-UPSTREAM-SERVICE-TIME)%"), `request ${i} upstream service time`);
    const window = wholeMs(v(i, "%RESPONSE_DURATION%"), "%RESPONSE_DURATION%") - wholeMs(v(i, "%REQUEST_DURATION%"), "%REQUEST_DURATION%");
    assert.ok(Math.abs(serviceMs - window) <= 1, `request ${i}: service time ${serviceMs} ms is the ${window} ms from the request's end to the response`);
  }

  // Bodyless requests: received whole at arrival; the others still ordered and whole numbers.
  assert.equal(v(1, "%REQUEST_DURATION%"), "0");
  for (const i of [1, 2]) {
    const response = wholeMs(v(i, "%RESPONSE_DURATION%"), `request ${i} %RESPONSE_DURATION%`);
    assert.ok(response <= wholeMs(v(i, "%DURATION%"), `request ${i} %DURATION%`));
    const span = spans.find((s) => s.kind === 2 && s.spanId === logs[i]!.spanId)!;
    assertRoundedMs(v(i, "%DURATION%"), Number(span.endTimeUnixNano - span.startTimeUnixNano) / 1e6, `request ${i} %DURATION% vs its SERVER span`);
  }
  assert.equal(v(1, "%REQ(X-TEST)%"), "again");
  assert.equal(v(1, "%BYTES_RECEIVED%"), "0");
  assert.equal(v(1, "%UPSTREAM_LOCAL_ADDRESS%"), `127.0.0.1:${upstreamPorts[1]}`);
  assert.equal(v(2, "%UPSTREAM_LOCAL_ADDRESS%"), `127.0.0.1:${upstreamPorts[2]}`);
  assert.equal(v(2, "%DOWNSTREAM_REMOTE_ADDRESS%"), `127.0.0.1:${third.clientPort}`);

  // One connection, one id; a new connection, a new one.
  assert.match(v(0, "%CONNECTION_ID%"), /^[1-9]\d*$/);
  assert.equal(v(1, "%CONNECTION_ID%"), v(0, "%CONNECTION_ID%"));
  assert.notEqual(v(2, "%CONNECTION_ID%"), v(0, "%CONNECTION_ID%"));
});

test("an upstream that answers before the request body is whole: no upstream service time, as Envoy logs it", async (t) => {
  const body = `      body: "%RESPONSE_CODE% %REQUEST_DURATION% %RESP(X-ENVOY-UPSTREAM-SERVICE-TIME)%"\n`;
  const early = createServer((req, res) => {
    // Answers at once; the rest of the body is read away afterwards.
    res.writeHead(200, { "content-type": "text/plain" }).end("early");
    req.resume();
  });
  await new Promise<void>((r) => early.listen(0, "127.0.0.1", r));
  t.after(() => new Promise<void>((r) => { early.closeAllConnections(); early.close(() => r()); }));
  const { rx, gw } = await startRig(t, {
    transport: "grpc",
    yaml: (_upstreamPort, rx) => gatewayYaml({ upstreamPort: (early.address() as AddressInfo).port, extra: otelAccessLogPolicyYaml("operators", rx.port, body) }),
    env: () => ({ OTEL_BLRP_SCHEDULE_DELAY: "20", OTEL_TRACES_EXPORTER: "none", OTEL_METRICS_EXPORTER: "none" }),
  });
  const agent = new Agent({ keepAlive: false });
  const status = await new Promise<number>((resolve, reject) => {
    const req = httpRequest(gw.url(8080, "/api/upload"), { method: "POST", agent, headers: { "content-length": "5" } }, (res) => {
      res.resume();
      // The rest of the body only after the answer arrived: the request was not whole before it.
      req.end("cde");
      res.on("end", () => resolve(res.statusCode ?? 0));
    });
    req.on("error", reject);
    req.write("ab");
  });
  assert.equal(status, 200);
  const [log] = await rx.waitForLogs((l) => l.length >= 1);
  const [code, , serviceTime] = String(log!.body).split(" ");
  assert.equal(code, "200");
  assert.equal(serviceTime, "-");
});

test("a request whose small body came with its head, then waited for the one pooled connection: the wait is upstream service time, not upload", async (t) => {
  let releaseHold: (() => void) | undefined;
  let onHold: (() => void) | undefined;
  const upstreamServer = createServer((req, res) => {
    req.resume();
    if (req.url === "/api/hold") {
      releaseHold = () => res.end("held");
      onHold?.();
    } else req.on("end", () => res.end("ok"));
  });
  await new Promise<void>((r) => upstreamServer.listen(0, "127.0.0.1", r));
  t.after(() => new Promise<void>((r) => { upstreamServer.closeAllConnections(); upstreamServer.close(() => r()); }));
  const upstreamPort = (upstreamServer.address() as AddressInfo).port;
  const body = `      body: "%REQ(:PATH)% %REQUEST_DURATION% %RESPONSE_DURATION% %RESP(X-ENVOY-UPSTREAM-SERVICE-TIME)%"\n`;
  const endpoints = `  endpoints: [{ip: {address: 127.0.0.1, port: ${upstreamPort}}}]\n`;
  const { rx, gw } = await startRig(t, {
    transport: "grpc",
    yaml: (_port, rx) => gatewayYaml({ upstreamPort, extra: otelAccessLogPolicyYaml("operators", rx.port, body) }).replace(endpoints, `${endpoints}  connectionPool: {maxConnections: 1}\n`),
    env: () => ({ OTEL_BLRP_SCHEDULE_DELAY: "20", OTEL_TRACES_EXPORTER: "none", OTEL_METRICS_EXPORTER: "none" }),
  });
  const agent = new Agent({ keepAlive: false });
  const holding = new Promise<void>((r) => (onHold = r));
  const hold = send(gw.url(8080, "/api/hold"), agent, "GET", {}, []);
  await holding;
  // One write: head and the 5-byte body arrive together, and then wait for the connection.
  const post = send(gw.url(8080, "/api/post"), agent, "POST", { "content-length": "5" }, ["hello"]);
  await new Promise((r) => setTimeout(r, 300));
  releaseHold!();
  assert.deepEqual([(await hold).status, (await post).status], [200, 200]);
  const logs = await rx.waitForLogs((l) => l.length >= 2);
  const fields = String(logs.find((l) => String(l.body).startsWith("/api/post"))!.body).split(" ");
  const [requestMs, responseMs, serviceMs] = [wholeMs(fields[1]!, "%REQUEST_DURATION%"), wholeMs(fields[2]!, "%RESPONSE_DURATION%"), wholeMs(fields[3]!, "service time")];
  assert.ok(requestMs <= serviceMs, `the body was whole (${requestMs} ms) long before the answer (${serviceMs} ms after it): the wait is not upload`);
  assert.ok(Math.abs(serviceMs - (responseMs - requestMs)) <= 1, `service ${serviceMs} ms = response ${responseMs} - request ${requestMs}`);
});

test("a request answered without reading its body renders REQUEST_DURATION and the upstream fields as '-'", async (t) => {
  const body = `      body: "%RESPONSE_CODE% %RESPONSE_FLAGS% %REQUEST_DURATION% %UPSTREAM_HOST% %UPSTREAM_CLUSTER% %UPSTREAM_LOCAL_ADDRESS% %ROUTE_NAME% %RESP(X-ENVOY-UPSTREAM-SERVICE-TIME)% %REQUEST_TX_DURATION% %RESPONSE_TX_DURATION%"\n`;
  const { rx, gw } = await startRig(t, {
    transport: "grpc",
    yaml: (upstreamPort, rx) => gatewayYaml({ upstreamPort, extra: otelAccessLogPolicyYaml("operators", rx.port, body) }),
    env: () => ({ OTEL_BLRP_SCHEDULE_DELAY: "20", OTEL_TRACES_EXPORTER: "none", OTEL_METRICS_EXPORTER: "none" }),
  });
  const agent = new Agent({ keepAlive: false });
  // No route for /elsewhere: a 404 from the proxy, the 5-byte body never wanted.
  const sent = await new Promise<number>((resolve, reject) => {
    const req = httpRequest(gw.url(8080, "/elsewhere"), { method: "POST", agent, headers: { "content-length": "5" } }, (res) => {
      res.resume();
      res.on("end", () => resolve(res.statusCode ?? 0));
    });
    req.on("error", reject);
    req.write("ab");
    setTimeout(() => req.end("cde"), 50);
  });
  assert.equal(sent, 404);
  const [log] = await rx.waitForLogs((l) => l.length >= 1);
  assert.equal(log!.body, "404 NR - - - - - - - -");
});

test("REQUEST_TX_DURATION ends with the last byte sent upstream; RESPONSE_TX_DURATION runs from the upstream's first byte to the last one sent downstream", async (t) => {
  const rx = await startOtlpReceiver("grpc");
  t.after(() => rx.close());
  let onArrival: (() => void) | undefined;
  // Reads the whole body, sends the head and a first chunk, and the rest 150 ms later.
  const upstreamServer = createServer((req, res) => {
    onArrival?.();
    req.resume();
    req.on("end", () => {
      res.writeHead(200, { "content-type": "text/plain" });
      res.write("first ");
      setTimeout(() => res.end("last"), 150);
    });
  });
  await new Promise<void>((r) => upstreamServer.listen(0, "127.0.0.1", r));
  t.after(() => new Promise<void>((r) => { upstreamServer.closeAllConnections(); upstreamServer.close(() => r()); }));
  const port = (upstreamServer.address() as AddressInfo).port;
  const ops = "%REQUEST_DURATION%|%REQUEST_TX_DURATION%|%RESPONSE_DURATION%|%RESPONSE_TX_DURATION%|%DURATION%";
  const yaml = gatewayYaml({ upstreamPort: port, extra: otelAccessLogPolicyYaml("operators", rx.port, `      body: "${ops}"\n`) });
  const gw = await startTracedGateway(yaml, { OTEL_BLRP_SCHEDULE_DELAY: "20", OTEL_EXPORTER_OTLP_ENDPOINT: rx.url, OTEL_EXPORTER_OTLP_PROTOCOL: "grpc", OTEL_TRACES_EXPORTER: "none", OTEL_METRICS_EXPORTER: "none" });
  t.after(() => gw.close());
  const arrived = new Promise<void>((r) => (onArrival = r));
  const sent = await send(gw.url(8080, "/api/tx"), new Agent({ keepAlive: false }), "POST", { "content-length": "11" }, ["hello ", "world"], arrived);
  assert.equal(sent.status, 200);
  const [log] = await rx.waitForLogs((l) => l.length >= 1);
  const [requestMs, requestTxMs, responseMs, responseTxMs, totalMs] = String(log!.body).split("|").map((v, i) => wholeMs(v, ops.split("|")[i]!));
  // The body's last byte went upstream the moment it came in: one mark, both operators.
  assert.equal(requestTxMs, requestMs);
  assert.ok(requestTxMs! <= responseMs!, `request sent at ${requestTxMs} ms, answer at ${responseMs} ms`);
  // The upstream held its last chunk 150 ms: the answer cannot have left the gateway sooner.
  assert.ok(responseTxMs! >= 140, `response tx ${responseTxMs} ms`);
  assert.ok(Math.abs(responseTxMs! - (totalMs! - responseMs!)) <= 1, `${responseTxMs} ms is the ${totalMs! - responseMs!} ms from the answer's first byte to the end`);
});

/** A gateway whose one route (extra rule fields: `rule`) goes to `handler`, logging the timing operators. */
async function timingRig(t: import("node:test").TestContext, handler: Parameters<typeof createServer>[1], rule = "", onUpgrade?: (req: IncomingMessage, socket: import("node:net").Socket) => void) {
  const rx = await startOtlpReceiver("grpc");
  t.after(() => rx.close());
  const upstreamServer = createServer(handler);
  if (onUpgrade !== undefined) upstreamServer.on("upgrade", onUpgrade);
  await new Promise<void>((r) => upstreamServer.listen(0, "127.0.0.1", r));
  t.after(() => new Promise<void>((r) => { upstreamServer.closeAllConnections(); upstreamServer.close(() => r()); }));
  const port = (upstreamServer.address() as AddressInfo).port;
  const rules = `  - matches:\n    - path: {type: PathPrefix, value: /api}\n${rule}    backendRefs:\n    - {name: upstream, kind: Backend, group: gateway.tollgate.dev, port: ${port}}`;
  const yaml = gatewayYaml({ upstreamPort: port, rules, extra: otelAccessLogPolicyYaml("operators", rx.port, `      body: "%RESPONSE_CODE%|%RESPONSE_FLAGS%|%REQUEST_TX_DURATION%|%RESPONSE_DURATION%|%RESPONSE_TX_DURATION%"\n`) });
  const gw = await startTracedGateway(yaml, { OTEL_BLRP_SCHEDULE_DELAY: "20", OTEL_EXPORTER_OTLP_ENDPOINT: rx.url, OTEL_EXPORTER_OTLP_PROTOCOL: "grpc", OTEL_TRACES_EXPORTER: "none", OTEL_METRICS_EXPORTER: "none" });
  t.after(() => gw.close());
  return { rx, gw };
}

/** GET, resolving however the answer ends (whole, cut, refused). */
function getSettled(url: string): Promise<number> {
  return new Promise((resolve) => {
    const req = httpRequest(url, { agent: new Agent({ keepAlive: false }) }, (res) => {
      res.resume();
      res.on("end", () => resolve(res.statusCode ?? 0));
      res.on("error", () => resolve(res.statusCode ?? 0));
      res.on("aborted", () => resolve(res.statusCode ?? 0));
    });
    req.on("error", () => resolve(0));
    req.end();
  });
}

test("RESPONSE_TX_DURATION is '-' for an answer the gateway made after an upstream one it discarded, and for one cut mid-body", async (t) => {
  // A 503 retried after a 2 s backoff, which the 300 ms request timeout cuts short: a 504 of the gateway's.
  const retried = await timingRig(t, (_req, res) => res.writeHead(503).end("busy"), "    timeouts: {request: 300ms}\n    retry: {codes: [503], attempts: 3, backoff: 2s}\n");
  assert.equal(await getSettled(retried.gw.url(8080, "/api/x")), 504);
  const [timedOut] = await retried.rx.waitForLogs((l) => l.length >= 1);
  const [code, , requestTx, , responseTx] = String(timedOut!.body).split("|");
  assert.equal(code, "504");
  assert.match(requestTx!, /^\d+$/, "the request did go upstream");
  assert.equal(responseTx, "-");
  // 7 bytes of a declared 100, then a reset: the client never gets the last byte.
  const cut = await timingRig(t, (_req, res) => {
    res.writeHead(200, { "content-length": "100" });
    res.write("partial");
    setTimeout(() => res.socket?.destroy(), 50);
  });
  await getSettled(cut.gw.url(8080, "/api/x"));
  const [truncated] = await cut.rx.waitForLogs((l) => l.length >= 1);
  const fields = String(truncated!.body).split("|");
  assert.equal(fields[0], "200");
  assert.equal(fields[4], "-", String(truncated!.body));
});

test("an upgrade's request head went upstream: REQUEST_TX_DURATION and RESPONSE_DURATION are its own", async (t) => {
  const { rx, gw } = await timingRig(t, (_req, res) => res.end(), "", (_req, socket) => {
    socket.write("HTTP/1.1 101 Switching Protocols\r\nupgrade: websocket\r\nconnection: upgrade\r\n\r\n");
    socket.end();
  });
  const url = new URL(gw.url(8080, "/api/ws"));
  await new Promise<void>((resolve, reject) => {
    const s = connect(Number(url.port), url.hostname, () => {
      s.write("GET /api/ws HTTP/1.1\r\nhost: x\r\nupgrade: websocket\r\nconnection: upgrade\r\nsec-websocket-key: dGhlIHNhbXBsZSBub25jZQ==\r\nsec-websocket-version: 13\r\n\r\n");
    });
    s.on("data", () => {});
    s.on("close", () => resolve());
    s.on("error", reject);
  });
  const [log] = await rx.waitForLogs((l) => l.length >= 1);
  const [code, , requestTx, response] = String(log!.body).split("|");
  assert.equal(code, "101");
  assert.ok(wholeMs(requestTx!, "%REQUEST_TX_DURATION%") <= wholeMs(response!, "%RESPONSE_DURATION%"));
});
