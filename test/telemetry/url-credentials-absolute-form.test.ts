// Credentials in an absolute-form request target (`GET http://user:pass@host/...`) and the
// semconv's sensitive query parameters never reach exported spans or logs.
import { test } from "node:test";
import assert from "node:assert/strict";
import { connect } from "node:net";
import { gatewayYaml, get, otelAccessLogPolicyYaml, trustingListenerPolicyYaml } from "./harness.ts";
import { startRig } from "./rig.ts";

const FAST = { OTEL_BSP_SCHEDULE_DELAY: "20", OTEL_BLRP_SCHEDULE_DELAY: "20", OTEL_METRICS_EXPORTER: "none", OTEL_LOGS_EXPORTER: "none" };
const CLIENT = 3;

/** Sends a raw HTTP/1.1 request line (absolute-form targets included) and returns the status. */
function rawRequest(port: number, requestLine: string, headers: Record<string, string>): Promise<number> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, "127.0.0.1");
    let data = "";
    socket.on("data", (d: Buffer) => {
      data += d.toString("latin1");
      const m = /^HTTP\/1\.1 (\d{3})/.exec(data);
      if (m && data.includes("\r\n\r\n")) {
        resolve(Number(m[1]));
        socket.destroy();
      }
    });
    socket.on("error", reject);
    const head = Object.entries({ ...headers, connection: "close" })
      .map(([k, v]) => `${k}: ${v}\r\n`)
      .join("");
    socket.write(`${requestLine}\r\n${head}\r\n`);
  });
}

test("no exported span or log carries URL credentials or sensitive query values, even from an absolute-form request target", async (t) => {
  const { rx, upstream, gw } = await startRig(t, {
    transport: "http",
    env: (rx) => ({ ...FAST, OTEL_LOGS_EXPORTER: "otlp", OTEL_EXPORTER_OTLP_ENDPOINT: rx.url }),
  });
  const port = Number(new URL(gw.url(8080, "/")).port);
  assert.equal(await rawRequest(port, `GET http://alice:hunter2@127.0.0.1:${port}/api/abs?sig=s3cret&keep=1 HTTP/1.1`, { host: `127.0.0.1:${port}` }), 200);
  assert.equal((await get(gw.url(8080, "/api/rel?X-Goog-Signature=g00g&keep=2"))).status, 200);
  const spans = await rx.waitForSpans((s) => s.filter((x) => x.kind === CLIENT).length >= 2);
  const logs = await rx.waitForLogs((l) => l.length >= 2);
  const clients = spans.filter((s) => s.kind === CLIENT);
  const fullUrls = clients.map((s) => String(s.attributes["url.full"])).sort();
  assert.deepEqual(fullUrls, [`http://127.0.0.1:${upstream.port}/api/abs?sig=REDACTED&keep=1`, `http://127.0.0.1:${upstream.port}/api/rel?X-Goog-Signature=REDACTED&keep=2`]);
  const text = JSON.stringify({ spans, logs }, (_k, v) => (typeof v === "bigint" ? String(v) : v));
  for (const secret of ["hunter2", "alice", "s3cret", "g00g"]) {
    const at = text.indexOf(secret);
    assert.ok(at < 0, `${secret} must not be exported; found in …${text.slice(Math.max(0, at - 300), at + 60)}`);
  }
  assert.ok(text.includes("keep=1") && text.includes("keep=2"), "other query parameters are kept");
  const absServer = spans.find((s) => s.kind === 2 && s.attributes["url.path"] === "/api/abs")!;
  assert.equal(absServer.attributes["server.address"], "127.0.0.1", "the target's host, without userinfo");
  assert.equal(absServer.attributes["server.port"], port);
});


test("a refused target whose authority a credential cut short, or a Host with userinfo, exports neither part of the credential", async (t) => {
  const { rx, gw } = await startRig(t, {
    transport: "http",
    env: (rx) => ({
      ...FAST,
      OTEL_LOGS_EXPORTER: "otlp",
      OTEL_EXPORTER_OTLP_ENDPOINT: rx.url,
      OTEL_INSTRUMENTATION_HTTP_SERVER_CAPTURE_REQUEST_HEADERS: "host",
    }),
  });
  const port = Number(new URL(gw.url(8080, "/")).port);
  const host = { host: `127.0.0.1:${port}` };
  // A `/` or `?` in the password ends the authority early: it reads as host `qquser`, port `pw1x`.
  assert.equal(await rawRequest(port, `GET http://qquser:pw1x/pw2x@127.0.0.1:${port}/api/slash HTTP/1.1`, host), 400);
  assert.equal(await rawRequest(port, `GET http://qquser:pw3x?pw4x@127.0.0.1:${port}/api/query HTTP/1.1`, host), 400);
  assert.equal(await rawRequest(port, `GET /api/hosted HTTP/1.1`, { host: `qqhost:pw5x@127.0.0.1:${port}` }), 400);
  // An authority-form target (CONNECT, refused with 501) with userinfo, a `/` in its password.
  assert.equal(await rawRequest(port, `CONNECT qqconn:pw6x/pw7x@shop.example:443 HTTP/1.1`, host), 501);
  // The control: an invalid authority with no `@` after it keeps its path.
  assert.equal(await rawRequest(port, `GET http://127.0.0.1:99999/api/plain?keep=3 HTTP/1.1`, host), 400);
  const spans = await rx.waitForSpans((s) => s.filter((x) => x.kind === 2).length >= 5);
  const logs = await rx.waitForLogs((l) => l.length >= 5);
  const text = JSON.stringify({ spans, logs }, (_k, v) => (typeof v === "bigint" ? String(v) : v));
  for (const secret of ["qquser", "qqhost", "qqconn", "pw1x", "pw2x", "pw3x", "pw4x", "pw5x", "pw6x", "pw7x"]) {
    const at = text.indexOf(secret);
    assert.ok(at < 0, `${secret} must not be exported; found in …${text.slice(Math.max(0, at - 300), at + 60)}`);
  }
  const [connect] = spans.filter((s) => s.kind === 2 && s.attributes["http.request.method"] === "CONNECT");
  assert.equal(connect!.attributes["url.path"], "shop.example:443");
  assert.equal(connect!.attributes["http.response.status_code"], 501);
  const servers = spans.filter((s) => s.kind === 2 && s !== connect);
  const paths = servers.map((s) => String(s.attributes["url.path"])).sort();
  assert.deepEqual(paths, ["/REDACTED", "/REDACTED", "/api/hosted", "/api/plain"]);
  for (const span of servers) {
    assert.equal(span.attributes["http.response.status_code"], 400);
    assert.equal(span.attributes["server.address"], "127.0.0.1", "the received Host, without userinfo");
    assert.equal(span.attributes["server.port"], port);
    assert.deepEqual(span.attributes["http.request.header.host"], [`127.0.0.1:${port}`], "the captured Host, without userinfo");
  }
  assert.ok(text.includes("keep=3"), "the control's query is kept");
});

test("on a listener that trusts forwarding headers, a forwarded host's userinfo is neither exported, logged nor forwarded", async (t) => {
  const body = `      body: "%REQ(X-FORWARDED-HOST)% %REQ(FORWARDED)%"\n`;
  const { rx, upstream, gw } = await startRig(t, {
    transport: "grpc",
    yaml: (upstreamPort, rx) =>
      gatewayYaml({ upstreamPort, extra: `${trustingListenerPolicyYaml()}---\n${otelAccessLogPolicyYaml("forwarded", rx.port, body)}` }),
    env: (rx) => ({
      ...FAST,
      OTEL_EXPORTER_OTLP_ENDPOINT: rx.url,
      OTEL_EXPORTER_OTLP_PROTOCOL: "grpc",
      OTEL_INSTRUMENTATION_HTTP_SERVER_CAPTURE_REQUEST_HEADERS: "x-forwarded-host,forwarded",
    }),
  });
  assert.equal((await get(gw.url(8080, "/api/xfh"), { "x-forwarded-host": "qqxfh:pw7x@shop.example:8443, qqtwo:pw9x@two.example" })).status, 200);
  assert.equal((await get(gw.url(8080, "/api/fwd"), { forwarded: 'for=192.0.2.1;host="qqfwd:pw8x@news.example";proto=https, for=192.0.2.2;host=plain.example' })).status, 200);
  // A quoted-string may hold `;`, `,` and escapes: the whole userinfo goes, and a `host=` inside a quoted `for=` is no parameter.
  const quoted = String.raw`for="_gw;host=keep@me";host="qqsemi:pw;qqs5,pw\"qqs6@quoted.example:8443";proto=https`;
  assert.equal((await get(gw.url(8080, "/api/quoted"), { forwarded: quoted })).status, 200);
  const spans = await rx.waitForSpans((s) => s.filter((x) => x.kind === 2).length >= 3);
  const logs = await rx.waitForLogs((l) => l.length >= 3);
  const text = JSON.stringify({ spans, logs, forwarded: upstream.seen }, (_k, v) => (typeof v === "bigint" ? String(v) : v));
  for (const secret of ["qqxfh", "qqtwo", "qqfwd", "qqsemi", "pw7x", "pw8x", "pw9x", "qqs5", "qqs6"]) {
    const at = text.indexOf(secret);
    assert.ok(at < 0, `${secret} must not be exported, logged or forwarded; found in …${text.slice(Math.max(0, at - 300), at + 60)}`);
  }
  const byPath = new Map(spans.filter((s) => s.kind === 2).map((s) => [s.attributes["url.path"], s.attributes]));
  const xfh = byPath.get("/api/xfh")!;
  assert.equal(xfh["server.address"], "shop.example");
  assert.equal(xfh["server.port"], 8443);
  assert.deepEqual(xfh["http.request.header.x-forwarded-host"], ["shop.example:8443, two.example"], "captured without userinfo");
  const fwd = byPath.get("/api/fwd")!;
  assert.equal(fwd["server.address"], "news.example");
  assert.deepEqual(fwd["http.request.header.forwarded"], ['for=192.0.2.1;host="news.example";proto=https, for=192.0.2.2;host=plain.example'], "other parameters as received");
  const strippedQuoted = 'for="_gw;host=keep@me";host="quoted.example:8443";proto=https';
  const quotedServer = byPath.get("/api/quoted")!;
  assert.equal(quotedServer["server.address"], "quoted.example");
  assert.equal(quotedServer["server.port"], 8443);
  assert.equal(quotedServer["url.scheme"], "https");
  assert.deepEqual(quotedServer["http.request.header.forwarded"], [strippedQuoted], "the quoted for= is kept as received");
  // The hosts (and the rest of each value) still reach the upstream and the access log.
  const port = new URL(gw.url(8080, "/")).host;
  const seenXfh = upstream.seen.map((h) => h["x-forwarded-host"]).filter((v) => v !== undefined && v.includes("shop.example"));
  assert.deepEqual(seenXfh, [`shop.example:8443, two.example, ${port}`]);
  assert.deepEqual(
    upstream.seen.map((h) => h.forwarded).filter((v) => v !== undefined),
    ['for=192.0.2.1;host="news.example";proto=https, for=192.0.2.2;host=plain.example', strippedQuoted],
  );
  assert.deepEqual(logs.map((l) => l.body).sort(), [
    `${port} ${strippedQuoted}`,
    `${port} for=192.0.2.1;host="news.example";proto=https, for=192.0.2.2;host=plain.example`,
    `shop.example:8443, two.example, ${port} -`,
  ]);
});

test("on a listener that does not trust forwarding headers, a captured X-Forwarded-Host or Forwarded loses its userinfo too", async (t) => {
  const { rx, upstream, gw } = await startRig(t, {
    transport: "http",
    env: (rx) => ({ ...FAST, OTEL_EXPORTER_OTLP_ENDPOINT: rx.url, OTEL_INSTRUMENTATION_HTTP_SERVER_CAPTURE_REQUEST_HEADERS: "x-forwarded-host,forwarded" }),
  });
  const headers = { "x-forwarded-host": "qqxfh:pw7x@shop.example", forwarded: 'for=192.0.2.1;host="qqfwd:pw8x@news.example"' };
  assert.equal((await get(gw.url(8080, "/api/untrusted"), headers)).status, 200);
  const [server] = (await rx.waitForSpans((s) => s.some((x) => x.kind === 2))).filter((s) => s.kind === 2);
  assert.deepEqual(server!.attributes["http.request.header.x-forwarded-host"], ["shop.example"]);
  assert.deepEqual(server!.attributes["http.request.header.forwarded"], ['for=192.0.2.1;host="news.example"']);
  assert.equal(server!.attributes["server.address"], "127.0.0.1", "an untrusted forwarded host is not the server's address");
  const text = JSON.stringify(upstream.seen);
  assert.ok(!text.includes("shop.example") && !text.includes("news.example"), `neither is forwarded from an untrusted client: ${text}`);
});

test("URL-valued headers (Location, Referer, X-Envoy-Original-Path) are captured and logged without credentials or sensitive query values", async (t) => {
  const body = `      body: "%REQ(REFERER)% %RESP(LOCATION)% %REQ(X-ENVOY-ORIGINAL-PATH)%"\n`;
  const { rx, upstream, gw } = await startRig(t, {
    transport: "grpc",
    yaml: (upstreamPort, rx) =>
      gatewayYaml({
        upstreamPort,
        rules: `  - matches:
    - path: {type: PathPrefix, value: /moved}
    filters:
    - type: RequestRedirect
      requestRedirect: {hostname: new.example, statusCode: 302}
  - matches:
    - path: {type: PathPrefix, value: /old}
    filters:
    - type: URLRewrite
      urlRewrite: {path: {type: ReplacePrefixMatch, replacePrefixMatch: /api}}
    backendRefs:
    - {name: upstream, kind: Backend, group: gateway.tollgate.dev, port: ${upstreamPort}}`,
        extra: otelAccessLogPolicyYaml("url-headers", rx.port, body),
      }),
    env: (rx) => ({
      ...FAST,
      OTEL_EXPORTER_OTLP_ENDPOINT: rx.url,
      OTEL_EXPORTER_OTLP_PROTOCOL: "grpc",
      OTEL_INSTRUMENTATION_HTTP_SERVER_CAPTURE_REQUEST_HEADERS: "referer",
      OTEL_INSTRUMENTATION_HTTP_SERVER_CAPTURE_RESPONSE_HEADERS: "location",
      OTEL_INSTRUMENTATION_HTTP_CLIENT_CAPTURE_REQUEST_HEADERS: "x-envoy-original-path",
    }),
  });
  const referer = { referer: "https://qqref:pw1x@shop.example/cart?sig=qqsig1&keep=1" };
  const redirected = await get(gw.url(8080, "/moved/here?X-Goog-Signature=qqsig2&keep=2"), referer);
  assert.equal(redirected.status, 302);
  assert.equal(redirected.headers.location, "http://new.example:8080/moved/here?X-Goog-Signature=qqsig2&keep=2", "the client still gets the whole URL");
  assert.equal((await get(gw.url(8080, "/old/thing?Signature=qqsig3&keep=3"), referer)).status, 200);
  const spans = await rx.waitForSpans((s) => s.filter((x) => x.kind === 2).length >= 2 && s.some((x) => x.kind === 3));
  const logs = await rx.waitForLogs((l) => l.length >= 2);
  const text = JSON.stringify({ spans, logs }, (_k, v) => (typeof v === "bigint" ? String(v) : v));
  for (const secret of ["qqref", "pw1x", "qqsig1", "qqsig2", "qqsig3"]) {
    const at = text.indexOf(secret);
    assert.ok(at < 0, `${secret} must not be exported or logged; found in …${text.slice(Math.max(0, at - 300), at + 60)}`);
  }
  const cleanReferer = "https://REDACTED:REDACTED@shop.example/cart?sig=REDACTED&keep=1";
  const moved = spans.find((s) => s.kind === 2 && s.attributes["url.path"] === "/moved/here")!;
  assert.deepEqual(moved.attributes["http.request.header.referer"], [cleanReferer]);
  assert.deepEqual(moved.attributes["http.response.header.location"], ["http://new.example:8080/moved/here?X-Goog-Signature=REDACTED&keep=2"]);
  const client = spans.find((s) => s.kind === 3)!;
  assert.deepEqual(client.attributes["http.request.header.x-envoy-original-path"], ["/old/thing?Signature=REDACTED&keep=3"]);
  assert.deepEqual(logs.map((l) => l.body).sort(), [
    `${cleanReferer} - /old/thing?Signature=REDACTED&keep=3`,
    `${cleanReferer} http://new.example:8080/moved/here?X-Goog-Signature=REDACTED&keep=2 -`,
  ]);
  assert.ok(upstream.seen.some((h) => h["x-envoy-original-path"] === "/old/thing?Signature=qqsig3&keep=3"), "the upstream still gets the header as set");
});
