// tollgate.upstream.retries, tollgate.upstream.open_connections and
// tollgate.upstream.pending_requests on a real gateway process's /metrics after known traffic:
// retries counted per backend exactly, open connections following what the upstream actually
// holds open, pending requests following the pool's queue.
import { test } from "node:test";
import assert from "node:assert/strict";
import { createServer, type ServerResponse } from "node:http";
import type { AddressInfo, Socket } from "node:net";
import { httpRequest, startGateway } from "../support/gateway-process.ts";
import { backendYaml, catchAllRouteYaml, GATEWAY_YAML, ref, routeYaml } from "../proxy/harness.ts";
import { sampleValue, startUpstream } from "./fixtures.ts";

const CONFIG = (flakyPort: number, heldPort: number): string => `${GATEWAY_YAML}${routeYaml(`    - matches: [{path: {type: PathPrefix, value: /flaky}}]
      retry: {codes: [503], attempts: 3, backoff: 1ms}
      backendRefs: [${ref("flaky")}]
    - matches: [{path: {type: PathPrefix, value: /held}}]
      backendRefs: [${ref("held")}]
`)}${backendYaml("flaky", flakyPort)}${backendYaml("held", heldPort)}`;

async function metrics(url: string): Promise<string> {
  const res = await httpRequest(url);
  assert.equal(res.status, 200);
  return res.body;
}

async function until(what: string, probe: () => Promise<boolean>, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await probe())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

test("retries and open upstream connections on /metrics match the traffic sent", async (t) => {
  // /flaky/N/ID answers 503 to its first N attempts, then 200.
  const failuresLeft = new Map<string, number>();
  const flaky = createServer((req, res) => {
    req.resume();
    const path = req.url ?? "";
    if (!failuresLeft.has(path)) failuresLeft.set(path, Number(path.split("/")[2] ?? 0));
    const left = failuresLeft.get(path)!;
    failuresLeft.set(path, left - 1);
    res.writeHead(left > 0 ? 503 : 200, { "content-type": "text/plain" }).end(left > 0 ? "again" : "ok");
  });
  const held: ServerResponse[] = [];
  const heldSockets = new Set<Socket>();
  const holder = createServer((req, res) => {
    req.resume();
    held.push(res);
  });
  holder.on("connection", (s: Socket) => {
    heldSockets.add(s);
    s.on("close", () => heldSockets.delete(s));
  });
  for (const s of [flaky, holder]) await new Promise<void>((r) => s.listen(0, "127.0.0.1", r));
  t.after(() => {
    for (const s of [flaky, holder]) {
      s.closeAllConnections();
      s.close();
    }
  });
  const gw = await startGateway({ config: CONFIG((flaky.address() as AddressInfo).port, (holder.address() as AddressInfo).port), env: { OTEL_TRACES_EXPORTER: "none", OTEL_LOGS_EXPORTER: "none", OTEL_METRICS_EXPORTER: "prometheus" } });
  t.after(() => gw.stop());

  // 0 + 1 + 2 + 2 failures before success: 5 retries, every request ends 200.
  for (const [n, id] of [[0, "a"], [1, "b"], [2, "c"], [2, "d"]] as const) assert.equal((await httpRequest(gw.url(8080, `/flaky/${n}/${id}`))).status, 200);
  // More failures than `attempts: 3` retries allow: 3 retries, then the last 503 is returned.
  assert.equal((await httpRequest(gw.url(8080, `/flaky/9/e`))).status, 503);
  const afterRetries = await metrics(gw.opsUrl("/metrics"));
  const retries = (backend: string, body: string): number | undefined => sampleValue(body, "tollgate_upstream_retries_total", { tollgate_backend_name: backend });
  assert.equal(retries("default/flaky", afterRetries), 8, `retries counted per backend:\n${afterRetries.split("\n").filter((l) => l.includes("retries")).join("\n")}`);

  // Two requests held by the upstream need two upstream connections at once.
  const inFlight = [httpRequest(gw.url(8080, "/held/a")), httpRequest(gw.url(8080, "/held/b"))];
  await until("both requests held", async () => held.length === 2);
  const open = async (): Promise<number | undefined> => sampleValue(await metrics(gw.opsUrl("/metrics")), "tollgate_upstream_open_connections", { tollgate_backend_name: "default/held" });
  assert.equal(heldSockets.size, 2);
  await until("open_connections 2", async () => (await open()) === 2);
  for (const res of held) res.writeHead(200).end("done");
  assert.deepEqual((await Promise.all(inFlight)).map((r) => r.status), [200, 200]);
  // The upstream closes its side: the gauge follows the sockets down.
  holder.closeAllConnections();
  await until("open_connections 0", async () => (await open()) === 0);
  assert.equal(retries("default/held", await metrics(gw.opsUrl("/metrics"))) ?? 0, 0, "no retries for a backend that never failed");
});

const NARROW = (port: number): string => `${GATEWAY_YAML}${catchAllRouteYaml("narrow")}---
apiVersion: gateway.tollgate.dev/v1alpha1
kind: Backend
metadata: {name: narrow, namespace: default}
spec:
  endpoints: [{ip: {address: 127.0.0.1, port: ${port}}}]
  connectionPool: {maxConnections: 1}
`;

// The OTel instruments (Prometheus pull) and the server's fallback exposition (metrics
// exporter `none`) name the backend label differently; both must carry the gauge.
for (const c of [
  { exporter: "prometheus", label: "tollgate_backend_name" },
  { exporter: "none", label: "backend" },
]) {
  test(`pending upstream requests on /metrics (OTEL_METRICS_EXPORTER=${c.exporter}): requests waiting for the one connection, then none`, async (t) => {
    const upstream = await startUpstream("narrow");
    t.after(() => upstream.close());
    const gw = await startGateway({ config: NARROW(upstream.port), env: { OTEL_TRACES_EXPORTER: "none", OTEL_LOGS_EXPORTER: "none", OTEL_METRICS_EXPORTER: c.exporter } });
    t.after(() => gw.stop());
    const pending = async (): Promise<number | undefined> => sampleValue(await metrics(gw.opsUrl("/metrics")), "tollgate_upstream_pending_requests", { [c.label]: "default/narrow" });

    assert.equal((await httpRequest(gw.url(8080, "/warm"))).status, 200);
    assert.equal(await pending(), 0, "nothing waits on an idle pool");
    upstream.hold();
    const sent = ["/a", "/b", "/c"].map((p) => httpRequest(gw.url(8080, p)));
    await upstream.heldCount(1);
    // One request holds the only connection; the other two wait in the pool's queue.
    await until("pending_requests 2", async () => (await pending()) === 2);
    assert.equal(upstream.received.length, 2, "only the warm-up and the first held request reached the upstream");
    upstream.release();
    assert.deepEqual((await Promise.all(sent)).map((r) => r.status), [200, 200, 200]);
    await until("pending_requests 0", async () => (await pending()) === 0);
    assert.equal(upstream.received.length, 4);
  });
}
