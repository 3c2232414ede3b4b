// The stdout JSON access-log sink through a real gateway process, read from its stdout the
// way `kubectl logs` would: the default when no OTLP log exporter is configured, selectable
// by OTEL_LOGS_EXPORTER, one line per request with the trace context at the top level, never
// mixed with the gateway's own stderr log, and bounded when nobody reads stdout.
import { test } from "node:test";
import assert from "node:assert/strict";
import { completeLines, httpRequest, startGateway, type GatewayProcess } from "../support/gateway-process.ts";
import { startOtlpReceiver } from "../support/otlp-receiver.ts";
import { gatewayYaml, startUpstream } from "./harness.ts";

type Line = Record<string, unknown> & { attributes: Record<string, unknown> };

function stdoutLines(gw: GatewayProcess): Line[] {
  return completeLines(gw.stdout()).map((l) => JSON.parse(l) as Line);
}

async function until<T>(what: string, probe: () => T | undefined | Promise<T | undefined>, timeoutMs = 15_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await probe();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

const QUIET = { OTEL_TRACES_EXPORTER: "none", OTEL_METRICS_EXPORTER: "prometheus", OTEL_BLRP_SCHEDULE_DELAY: "20" };

test("default sink without an OTLP log exporter: one stdout JSON line per request, trace_id/span_id/trace_flags at the top level, stderr kept apart", async (t) => {
  const upstream = await startUpstream((_req, res) => {
    res.writeHead(200, { "content-type": "text/plain", "set-cookie": "sid=stdout-set-cookie; HttpOnly" }).end("upstream ok");
  });
  t.after(() => upstream.close());
  const gw = await startGateway({ config: gatewayYaml({ upstreamPort: upstream.port }), env: QUIET });
  t.after(() => gw.stop());

  const sent = 5;
  for (let i = 0; i < sent; i++) {
    const res = await httpRequest(gw.url(8080, `/api/n/${i}`), {
      headers: { "x-n": String(i), authorization: "Bearer stdout-secret", "proxy-authorization": "Basic cHJveHk=", cookie: "sid=stdout-cookie" },
    });
    assert.equal(res.status, 200);
  }
  const lines = await until("every request on stdout", () => {
    const l = stdoutLines(gw);
    return l.length >= sent ? l : undefined;
  });
  assert.equal(lines.length, sent, "exactly one line per request");
  for (const line of lines) {
    assert.equal(line["event_name"], "tollgate.access", "stdout carries access logs only");
    assert.match(String(line["trace_id"]), /^[0-9a-f]{32}$/);
    assert.match(String(line["span_id"]), /^[0-9a-f]{16}$/);
    assert.match(String(line["trace_flags"]), /^[0-9a-f]{2}$/);
    assert.equal(Number.parseInt(String(line["trace_flags"]), 16) & 1, 1, "sampled by the default parentbased_always_on");
    const n = Number(String(line.attributes["url.path"]).split("/").pop());
    const seen = upstream.seen.find((h) => h["x-n"] === String(n))!;
    assert.equal(String(seen.traceparent).split("-")[1], line["trace_id"], "the trace the upstream continued");
    assert.equal(line["severity_text"], "INFO");
    assert.equal((line["resource"] as Record<string, unknown>)["service.name"], "http.kgateway-system");
  }
  assert.deepEqual(lines.map((l) => l.attributes["url.path"]).sort(), ["/api/n/0", "/api/n/1", "/api/n/2", "/api/n/3", "/api/n/4"]);
  for (const secret of ["stdout-secret", "cHJveHk=", "stdout-cookie", "stdout-set-cookie"]) assert.ok(!gw.stdout().includes(secret), `${secret} must not reach stdout`);

  // The gateway's own log is JSON on stderr, and never an access record.
  assert.ok(gw.logs().some((l) => l.msg === "ready"));
  assert.ok(!gw.stderr().includes("tollgate.access"));
  assert.ok(!gw.stdout().includes('"msg":"ready"'));
});

test("OTEL_LOGS_EXPORTER selects the sink: console beats a configured OTLP endpoint; unset with an endpoint means OTLP; none means nothing", async (t) => {
  const upstream = await startUpstream();
  t.after(() => upstream.close());
  const rx = await startOtlpReceiver("http");
  t.after(() => rx.close());
  const config = gatewayYaml({ upstreamPort: upstream.port });

  const consoleGw = await startGateway({ config, env: { ...QUIET, OTEL_EXPORTER_OTLP_ENDPOINT: rx.url, OTEL_LOGS_EXPORTER: "console" } });
  t.after(() => consoleGw.stop());
  await httpRequest(consoleGw.url(8080, "/api/console"));
  const [line] = await until("the console line", () => {
    const l = stdoutLines(consoleGw);
    return l.length >= 1 ? l : undefined;
  });
  assert.equal(line!.attributes["url.path"], "/api/console");

  const otlpGw = await startGateway({ config, env: { ...QUIET, OTEL_EXPORTER_OTLP_ENDPOINT: rx.url } });
  t.after(() => otlpGw.stop());
  await httpRequest(otlpGw.url(8080, "/api/otlp"));
  const logs = await rx.waitForLogs((l) => l.length >= 1);
  assert.deepEqual(logs.map((l) => l.attributes["url.path"]), ["/api/otlp"], "the console gateway sent nothing over OTLP");

  const noneGw = await startGateway({ config, env: { ...QUIET, OTEL_LOGS_EXPORTER: "none" } });
  t.after(() => noneGw.stop());
  await httpRequest(noneGw.url(8080, "/api/none"));
  await otlpGw.stop();
  await noneGw.stop();
  assert.equal(otlpGw.stdout(), "", "OTLP selected: stdout stays empty");
  assert.equal(noneGw.stdout(), "", "none: no access log anywhere");
  assert.equal(rx.logs.length, 1);
});

test("nobody reading stdout: requests are unaffected, the bounded stdout buffer refuses batches, which are counted and warned about; lines + drops = requests", async (t) => {
  const upstream = await startUpstream();
  t.after(() => upstream.close());
  const gw = await startGateway({
    config: gatewayYaml({ upstreamPort: upstream.port }),
    env: { ...QUIET, OTEL_BLRP_SCHEDULE_DELAY: "5", OTEL_BLRP_MAX_EXPORT_BATCH_SIZE: "8", TOLLGATE_STDOUT_BUFFER_BYTES: "4096" },
  });
  t.after(() => gw.stop());
  // Stop reading: the pipe fills (64 KiB), then Node's own buffer passes the bound.
  gw.child.stdout!.pause();

  const sent = 240;
  const statuses: number[] = [];
  for (let i = 0; i < sent; i += 8) {
    const batch = await Promise.all(Array.from({ length: 8 }, (_, k) => httpRequest(gw.url(8080, `/api/flood/${i + k}`))));
    statuses.push(...batch.map((r) => r.status));
    // Give the batch queue a turn to export between bursts, as real traffic would.
    await new Promise((r) => setTimeout(r, 10));
  }
  assert.equal(statuses.length, sent);
  assert.deepEqual(new Set(statuses), new Set([200]), "the request path never waits for stdout");

  const warning = await gw.waitForLog((l) => String(l.msg).startsWith("telemetry export to console failed: stdout is not keeping up"));
  assert.equal(warning["signal"], "logs");

  const dropped = async (): Promise<number> => {
    const m = await httpRequest(gw.opsUrl("/metrics"));
    let n = 0;
    for (const x of m.body.matchAll(/^tollgate_telemetry_dropped_total\{([^}]*)\} (\d+)$/gm)) if (x[1]!.includes('signal="logs"')) n += Number(x[2]);
    return n;
  };
  const droppedWhileStalled = await dropped();
  assert.ok(droppedWhileStalled > 0, "refused batches are counted");

  gw.child.stdout!.resume();
  const settled = await until("every request either on stdout or counted as dropped", async () => {
    const lines = stdoutLines(gw).length;
    const d = await dropped();
    return lines + d === sent ? { lines, d } : undefined;
  });
  assert.ok(settled.lines > 0 && settled.d > 0);
  // Everything that was written is whole lines: no line was torn by the refusal.
  for (const line of stdoutLines(gw)) assert.equal(line["event_name"], "tollgate.access");
});

test("a stdout reader that goes away (EPIPE) does not take the gateway down: requests go on, the access logs are dropped, counted and warned about", async (t) => {
  const upstream = await startUpstream();
  t.after(() => upstream.close());
  const gw = await startGateway({ config: gatewayYaml({ upstreamPort: upstream.port }), env: { ...QUIET, OTEL_BLRP_SCHEDULE_DELAY: "5" } });
  t.after(() => gw.stop());
  assert.equal((await httpRequest(gw.url(8080, "/api/before"))).status, 200);
  await until("the first line on stdout", () => (stdoutLines(gw).length > 0 ? true : undefined));
  // The reading end closes, as when a log shipper dies: the gateway's next write is EPIPE.
  gw.child.stdout!.destroy();
  const sent = 30;
  for (let i = 0; i < sent; i++) {
    assert.equal((await httpRequest(gw.url(8080, `/api/after/${i}`))).status, 200);
    await new Promise((r) => setTimeout(r, 10));
  }
  const warning = await gw.waitForLog((l) => String(l.msg).startsWith("telemetry export to console failed: stdout is closed"));
  assert.match(String(warning.msg), /EPIPE/);
  const dropped = await until("the dropped access logs counted", async () => {
    const m = await httpRequest(gw.opsUrl("/metrics"));
    let n = 0;
    for (const x of m.body.matchAll(/^tollgate_telemetry_dropped_total\{([^}]*)\} (\d+)$/gm)) if (x[1]!.includes('signal="logs"')) n += Number(x[2]);
    // The batch whose write hit EPIPE was handed to the pipe before it broke; the rest are counted.
    return n >= sent - 8 ? n : undefined;
  });
  assert.ok(dropped <= sent);
  assert.equal(gw.child.exitCode, null, "the gateway still runs");
  assert.equal((await httpRequest(gw.opsUrl("/readyz"))).status, 200);
});

test("kgateway fileSink to /dev/stdout: %REQ()%/%RESP()% of Authorization, Proxy-Authorization, Cookie and Set-Cookie print REDACTED", async (t) => {
  const upstream = await startUpstream((_req, res) => {
    res.writeHead(200, { "content-type": "text/plain", "set-cookie": "sid=file-set-cookie", authorization: "Bearer file-resp-authz", cookie: "c=file-resp-cookie" }).end("ok");
  });
  t.after(() => upstream.close());
  const policy = `apiVersion: gateway.kgateway.dev/v1alpha1
kind: HTTPListenerPolicy
metadata: {name: file-logs, namespace: kgateway-system}
spec:
  targetRefs: [{group: gateway.networking.k8s.io, kind: Gateway, name: http}]
  accessLog:
  - fileSink:
      path: /dev/stdout
      stringFormat: "%REQ(Authorization)% %REQ(Proxy-Authorization)% %REQ(Cookie)% %REQ(Set-Cookie)% %RESP(Set-Cookie)% %RESP(Authorization)% %RESP(Cookie)% %REQ(User-Agent)%"
`;
  const gw = await startGateway({ config: gatewayYaml({ upstreamPort: upstream.port, extra: policy }), env: QUIET });
  t.after(() => gw.stop());
  await httpRequest(gw.url(8080, "/api/file"), {
    headers: { authorization: "Bearer file-authz", "proxy-authorization": "Basic file-proxy", cookie: "sid=file-cookie", "set-cookie": "x=file-req-set-cookie", "user-agent": "file-ua" },
  });
  const [line] = await until("the fileSink line", () => {
    const l = stdoutLines(gw);
    return l.length >= 1 ? l : undefined;
  });
  assert.equal(line!["body"], "REDACTED REDACTED REDACTED REDACTED REDACTED REDACTED REDACTED file-ua");
  assert.doesNotMatch(gw.stdout(), /file-(authz|proxy|cookie|req-set-cookie|set-cookie|resp-authz|resp-cookie)/);
});

test("kgateway fileSink jsonFormat: the stdout line's body is the dictionary rendered, typed as Envoy types it (a header that is `-` stays text), keys sorted, secrets redacted", async (t) => {
  const upstream = await startUpstream((_req, res) => {
    res.writeHead(201, { "content-type": "text/plain", "x-served-by": "json-upstream" }).end("created");
  });
  t.after(() => upstream.close());
  const policy = `apiVersion: gateway.kgateway.dev/v1alpha1
kind: HTTPListenerPolicy
metadata: {name: json-logs, namespace: kgateway-system}
spec:
  targetRefs: [{group: gateway.networking.k8s.io, kind: Gateway, name: http}]
  accessLog:
  - fileSink:
      path: /dev/stdout
      jsonFormat:
        status: "%RESPONSE_CODE%"
        duration: "%DURATION%"
        requestTx: "%REQUEST_TX_DURATION%"
        responseTx: "%RESPONSE_TX_DURATION%"
        sent: "%BYTES_SENT%"
        flags: "%RESPONSE_FLAGS%"
        upstream: "%UPSTREAM_HOST%"
        request:
          line: "%REQ(:METHOD)% %REQ(:PATH)%"
          authorization: "%REQ(Authorization)%"
          absent: "%REQ(X-Absent)%"
          servedBy: "%RESP(X-Served-By)%"
        schema: 2
        internal: false
        note: null
        kind: access
        referer: "%REQ(Referer)%"
        around: "[%REQ(X-Absent)%]"
        percent: "100%%"
        tags: ["%REQ(:METHOD)%", 1, {code: "%RESPONSE_CODE%"}]
`;
  const gw = await startGateway({ config: gatewayYaml({ upstreamPort: upstream.port, extra: policy }), env: QUIET });
  t.after(() => gw.stop());
  const res = await httpRequest(gw.url(8080, "/api/json?x=1"), { headers: { authorization: "Bearer json-secret", referer: "-" } });
  assert.equal(res.status, 201);
  const [line] = await until("the jsonFormat line", () => {
    const l = stdoutLines(gw);
    return l.length >= 1 ? l : undefined;
  });
  const body = line!["body"] as Record<string, unknown>;
  for (const key of ["duration", "requestTx", "responseTx"]) {
    assert.equal(typeof body[key], "number", key);
    assert.ok((body[key] as number) >= 0, key);
  }
  assert.deepEqual({ ...body, duration: 0, requestTx: 0, responseTx: 0 }, {
    status: 201,
    duration: 0,
    requestTx: 0,
    responseTx: 0,
    sent: 7,
    flags: "-",
    upstream: `127.0.0.1:${upstream.port}`,
    request: { line: "GET /api/json?x=1", authorization: "REDACTED", absent: null, servedBy: "json-upstream" },
    schema: 2,
    internal: false,
    note: null,
    kind: "access",
    referer: "-",
    around: "[-]",
    percent: "100%",
    tags: ["GET", 1, { code: 201 }],
  });
  assert.deepEqual(Object.keys(body), Object.keys(body).sort(), "keys in sorted order, as Envoy writes them");
  assert.deepEqual(Object.keys(body["request"] as object), ["absent", "authorization", "line", "servedBy"]);
  assert.match(String(line!["trace_id"]), /^[0-9a-f]{32}$/, "the envelope keeps the trace context");
  assert.doesNotMatch(gw.stdout(), /json-secret/);
});
