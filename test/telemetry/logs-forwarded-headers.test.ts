// Access logs read request headers as the gateway forwarded them (Envoy's %REQ()% reads its
// rewritten header map): a client's own X-Forwarded-For is not what an untrusting listener
// logs, an absolute-form request logs its target's authority, and request header filters
// show. Checked against what the real upstream received, over OTLP to a real receiver.
import { type TestContext, test } from "node:test";
import assert from "node:assert/strict";
import type { IncomingMessage, ServerResponse } from "node:http";
import net from "node:net";
import { startOtlpReceiver } from "../support/otlp-receiver.ts";
import { type TracedGateway, get, gatewayYaml, otelAccessLogPolicyYaml, startTracedGateway, startUpstream, trustingListenerPolicyYaml } from "./harness.ts";

const BODY = "%REQ(X-FORWARDED-FOR)%|%REQ(:AUTHORITY)%|%REQ(X-ADDED)%|%REQ(X-SPOOFED-ONLY)%|%REQ(CONNECTION)%|%REQ(:PATH)%";

/** A gRPC OTLP receiver and an upstream (answering with `handler` if given), closed after the test. */
async function startPeers(t: TestContext, handler?: (req: IncomingMessage, res: ServerResponse) => void) {
  const rx = await startOtlpReceiver("grpc");
  t.after(() => rx.close());
  const upstream = await startUpstream(handler);
  t.after(() => upstream.close());
  return { rx, upstream };
}

/** One /api rule to the upstream whose RequestHeaderModifier is `{${modifier}}`. */
function headerModifierRule(upstreamPort: number, modifier: string): string {
  return `  - matches:
    - path: {type: PathPrefix, value: /api}
    filters:
    - type: RequestHeaderModifier
      requestHeaderModifier: {${modifier}}
    backendRefs:
    - {name: upstream, kind: Backend, group: gateway.tollgate.dev, port: ${upstreamPort}}`;
}

/** A gateway exporting only access logs, over gRPC to `receiverUrl`, closed after the test. */
async function startLoggingGateway(t: TestContext, yaml: string, receiverUrl: string): Promise<TracedGateway> {
  const gw = await startTracedGateway(yaml, {
    OTEL_BLRP_SCHEDULE_DELAY: "20",
    OTEL_EXPORTER_OTLP_ENDPOINT: receiverUrl,
    OTEL_EXPORTER_OTLP_PROTOCOL: "grpc",
    OTEL_METRICS_EXPORTER: "none",
    OTEL_TRACES_EXPORTER: "none",
  });
  t.after(() => gw.close());
  return gw;
}

/** One raw request on its own connection; resolves once the gateway closed it. */
function rawRequest(url: string, text: string): Promise<string> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    const socket = net.connect(Number(port), hostname);
    let received = "";
    socket.setEncoding("latin1");
    socket.on("data", (chunk: string) => (received += chunk));
    socket.on("close", () => resolve(received));
    socket.on("error", reject);
    socket.write(text);
  });
}

test("access logs show X-Forwarded-For, Host and filtered headers as forwarded, hop-by-hop headers as received", async (t) => {
  const { rx, upstream } = await startPeers(t);
  const rules = headerModifierRule(upstream.port, "set: [{name: x-added, value: by-gateway}], remove: [x-spoofed-only]");
  // The filter keeps only records whose X-Forwarded-For is not the client's forged one: CEL's
  // request.headers is the same forwarded view.
  const policy = otelAccessLogPolicyYaml("forwarded", rx.port, `      body: "${BODY}"\n`).replace(
    "  accessLog:\n  - openTelemetry:",
    "  accessLog:\n  - filter: {celFilter: {match: \"request.headers['x-forwarded-for'] != '6.6.6.6'\"}}\n    openTelemetry:",
  );
  const yaml = gatewayYaml({ upstreamPort: upstream.port, rules, extra: policy });
  const gw = await startLoggingGateway(t, yaml, rx.url);

  const forged = { "x-forwarded-for": "6.6.6.6", "x-spoofed-only": "forged" };
  assert.equal((await get(gw.url(8080, "/api/forged"), forged)).status, 200);
  const absolute = await rawRequest(
    gw.url(8080, "/"),
    "GET http://abs.example:8080/api/absolute HTTP/1.1\r\nHost: other.example\r\nConnection: close\r\nX-Forwarded-For: 6.6.6.6\r\n\r\n",
  );
  assert.match(absolute, /^HTTP\/1\.1 200 /);
  assert.equal((await get(gw.url(8080, "/unrouted"), forged)).status, 404);

  const logs = await rx.waitForLogs((l) => l.length >= 3);
  assert.equal(logs.length, 3, "no record was filtered out: none shows the forged X-Forwarded-For");
  const byPath = new Map(logs.map((l) => [String(l.body).split("|")[5], String(l.body).split("|")]));
  const [forgedSeen, absoluteSeen] = [upstream.seen[0]!, upstream.seen[1]!];

  const forgedLog = byPath.get("/api/forged")!;
  assert.equal(forgedLog[0], "127.0.0.1", "the listener does not trust the client's X-Forwarded-For");
  assert.equal(forgedLog[0], forgedSeen["x-forwarded-for"], "logged as the upstream received it");
  assert.equal(forgedLog[1], forgedSeen.host);
  assert.equal(forgedLog[2], "by-gateway", "the filter's header");
  assert.equal(forgedLog[3], "-", "removed by the filter before forwarding");
  assert.equal(forgedLog[4], "close", "hop-by-hop: as the client sent it");

  const absoluteLog = byPath.get("/api/absolute")!;
  assert.equal(absoluteLog[1], "abs.example:8080", "the target's authority, not the Host header");
  assert.equal(absoluteLog[1], absoluteSeen.host);
  assert.equal(absoluteLog[0], "127.0.0.1");

  const unrouted = byPath.get("/unrouted")!;
  assert.equal(unrouted[0], "127.0.0.1", "a request answered by the gateway shows what it would have forwarded");
  assert.equal(unrouted[3], "forged", "no filter ran for it");
});

/** Peers whose upstream answers with the URL and headers it received, as JSON. */
function startEchoPeers(t: TestContext) {
  return startPeers(t, (req, res) => {
    res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify({ url: req.url, headers: req.headers }));
  });
}

/** `/api` to the upstream, plus a rule per `[prefix, replacement]` that rewrites it first. */
function rewriteRules(upstreamPort: number, rewrites: readonly [string, string][]): string {
  const backend = `    backendRefs:
    - {name: upstream, kind: Backend, group: gateway.tollgate.dev, port: ${upstreamPort}}`;
  const rewritten = rewrites.map(
    ([prefix, replacement]) => `  - matches:
    - path: {type: PathPrefix, value: ${prefix}}
    filters:
    - type: URLRewrite
      urlRewrite: {path: {type: ReplacePrefixMatch, replacePrefixMatch: ${replacement}}}
${backend}
`,
  );
  return `${rewritten.join("")}  - matches:
    - path: {type: PathPrefix, value: /api}
${backend}`;
}

test("the default Envoy format logs the received path: a client cannot forge X-Envoy-Original-Path, a URLRewrite sets it", async (t) => {
  const { rx, upstream } = await startEchoPeers(t);
  const rules = rewriteRules(upstream.port, [["/old", "/api"]]);
  // No body: the record's body is Envoy's default format.
  const yaml = gatewayYaml({ upstreamPort: upstream.port, rules, extra: otelAccessLogPolicyYaml("default-format", rx.port, "") });
  const gw = await startLoggingGateway(t, yaml, rx.url);

  const forged = { "x-envoy-original-path": "/admin/forged", "x-envoy-retry-on": "5xx" };
  const upstreamSaw = async (path: string, headers: Record<string, string>): Promise<{ url: string; headers: Record<string, string> }> => {
    const r = await get(gw.url(8080, path), headers);
    assert.equal(r.status, 200, r.body);
    return JSON.parse(r.body) as { url: string; headers: Record<string, string> };
  };
  const plain = await upstreamSaw("/api/plain?x=1", forged);
  assert.equal(plain.url, "/api/plain?x=1");
  assert.equal(plain.headers["x-envoy-original-path"], undefined, "an untrusted client's X-Envoy-* never reaches the upstream");
  assert.equal(plain.headers["x-envoy-retry-on"], undefined);
  const rewritten = await upstreamSaw("/old/thing?q=1&Signature=s3cr3t", {});
  assert.equal(rewritten.url, "/api/thing?q=1&Signature=s3cr3t");
  assert.equal(rewritten.headers["x-envoy-original-path"], "/old/thing?q=1&Signature=s3cr3t", "Envoy's header for a rewritten path");
  const rewrittenForged = await upstreamSaw("/old/other", forged);
  assert.equal(rewrittenForged.url, "/api/other");
  assert.equal(rewrittenForged.headers["x-envoy-original-path"], "/old/other", "the gateway's value, not the client's");

  const logs = await rx.waitForLogs((l) => l.length >= 3);
  const requestLines = logs.map((l) => /^\[[^\]]+\] "([^"]*)"/.exec(String(l.body))?.[1]).sort();
  // The signed URL's credential is redacted as in :path, though it came through the header.
  assert.deepEqual(requestLines, ["GET /api/plain?x=1 HTTP/1.1", "GET /old/other HTTP/1.1", "GET /old/thing?q=1&Signature=REDACTED HTTP/1.1"]);
});

test("as in Envoy, any configured path rewrite sets X-Envoy-Original-Path, over a trusted proxy's value", async (t) => {
  const { rx, upstream } = await startEchoPeers(t);
  const rules = rewriteRules(upstream.port, [
    ["/old", "/api"],
    ["/same", "/same"],
  ]);
  const yaml = gatewayYaml({ upstreamPort: upstream.port, rules, extra: otelAccessLogPolicyYaml("default-format", rx.port, "") + trustingListenerPolicyYaml() });
  const gw = await startLoggingGateway(t, yaml, rx.url);
  const fromFront = { "x-envoy-original-path": "/front/original" };
  const originalPathSeen = async (path: string): Promise<string | undefined> => {
    const r = await get(gw.url(8080, path), fromFront);
    assert.equal(r.status, 200, r.body);
    return (JSON.parse(r.body) as { headers: Record<string, string> }).headers["x-envoy-original-path"];
  };
  assert.equal(await originalPathSeen("/api/kept"), "/front/original", "no rewrite: the trusted proxy's value goes on");
  assert.equal(await originalPathSeen("/old/moved?q=1"), "/old/moved?q=1", "this hop's received target replaces it");
  assert.equal(await originalPathSeen("/same/unchanged"), "/same/unchanged", "a rewrite that changes nothing sets it too");
  const logs = await rx.waitForLogs((l) => l.length >= 3);
  const requestLines = logs.map((l) => /^\[[^\]]+\] "([^"]*)"/.exec(String(l.body))?.[1]).sort();
  assert.deepEqual(requestLines, ["GET /front/original HTTP/1.1", "GET /old/moved?q=1 HTTP/1.1", "GET /same/unchanged HTTP/1.1"]);
});

test("headers the gateway consumes (hop-by-hop, Expect) log as received, a filter-set one as set; naming a header in Connection brings nothing back", async (t) => {
  const { rx, upstream } = await startPeers(t);
  const rules = headerModifierRule(upstream.port, "set: [{name: te, value: trailers}]");
  // CEL's request.headers is the same view: a record is kept only when it shows the Expect
  // the gateway consumed.
  const body = "%REQ(X-ENVOY-ORIGINAL-PATH?:PATH)%|%REQ(X-CLIENT-HOP)%|%REQ(EXPECT)%|%REQ(TE)%";
  const policy = otelAccessLogPolicyYaml("consumed", rx.port, `      body: "${body}"\n`).replace(
    "  accessLog:\n  - openTelemetry:",
    "  accessLog:\n  - filter: {celFilter: {match: \"request.headers['expect'] == '100-continue'\"}}\n    openTelemetry:",
  );
  const gw = await startLoggingGateway(t, gatewayYaml({ upstreamPort: upstream.port, rules, extra: policy }), rx.url);

  // First a record the filter drops; records leave in order, so it cannot trail the kept one.
  assert.equal((await get(gw.url(8080, "/api/no-expect"), { te: "deflate" })).status, 200);
  const answer = await rawRequest(
    gw.url(8080, "/"),
    "GET /api/hop HTTP/1.1\r\nHost: hop.example\r\nConnection: close, X-Envoy-Original-Path, X-Client-Hop\r\n" +
      "X-Envoy-Original-Path: /admin/forged\r\nX-Client-Hop: secret-hop\r\nTE: deflate\r\nExpect: 100-continue\r\n\r\n",
  );
  // An interim 100 Continue may come first: Expect asked for one.
  assert.match(answer, /^(HTTP\/1\.1 100 Continue\r\n\r\n)?HTTP\/1\.1 200 /);
  assert.equal(upstream.seen[1]!["x-client-hop"], undefined, "named in Connection: not forwarded");
  assert.equal(upstream.seen[1]!.te, "trailers", "the filter's TE is what went upstream");

  const logs = await rx.waitForLogs((l) => l.length >= 1);
  assert.deepEqual(
    logs.map((l) => String(l.body)),
    ["/api/hop|-|100-continue|trailers"],
  );
});
