// Behind a PROXY protocol balancer (ListenerPolicy `proxyProtocol`), what the exported
// telemetry says of the connection, decoded by a real OTLP receiver: client.address is the
// client the header names and network.peer.address the balancer's socket, on the SERVER span
// and the access log record; the access log's %DOWNSTREAM_REMOTE_ADDRESS% is the client,
// %DOWNSTREAM_DIRECT_REMOTE_ADDRESS% the balancer and %DOWNSTREAM_LOCAL_ADDRESS% the address
// the client reached at the balancer, as Envoy renders them behind its proxy_protocol filter.
import { test } from "node:test";
import assert from "node:assert/strict";
import { startOtlpReceiver } from "../support/otlp-receiver.ts";
import { Command, TransportProtocol, UnspecProxyAddress, V2ProxyProtocol } from "proxy-protocol-js";
import { rawExchange } from "../support/raw-exchange.ts";
import { gatewayYaml, otelAccessLogPolicyYaml, startTracedGateway, startUpstream } from "./harness.ts";

const BEHIND_BALANCER = `---
apiVersion: gateway.kgateway.dev/v1alpha1
kind: ListenerPolicy
metadata: {name: behind-nlb, namespace: kgateway-system}
spec:
  targetRefs: [{group: gateway.networking.k8s.io, kind: Gateway, name: http}]
  default: {proxyProtocol: {}}
`;
const BODY = "%DOWNSTREAM_REMOTE_ADDRESS%|%DOWNSTREAM_REMOTE_PORT%|%DOWNSTREAM_DIRECT_REMOTE_ADDRESS_WITHOUT_PORT%|%DOWNSTREAM_DIRECT_REMOTE_PORT%|%DOWNSTREAM_LOCAL_ADDRESS%";

test("the SERVER span and the access log name the header's client as client.address and the balancer as network.peer.address", async (t) => {
  const rx = await startOtlpReceiver("grpc");
  t.after(() => rx.close());
  const upstream = await startUpstream();
  t.after(() => upstream.close());
  const yaml = gatewayYaml({ upstreamPort: upstream.port, extra: otelAccessLogPolicyYaml("addresses", rx.port, `      body: "${BODY}"\n`) + BEHIND_BALANCER });
  const gw = await startTracedGateway(yaml, { OTEL_BLRP_SCHEDULE_DELAY: "20", OTEL_BSP_SCHEDULE_DELAY: "20", OTEL_EXPORTER_OTLP_ENDPOINT: rx.url, OTEL_EXPORTER_OTLP_PROTOCOL: "grpc", OTEL_METRICS_EXPORTER: "none" });
  t.after(() => gw.close());

  const port = Number(new URL(gw.url(8080, "/")).port);
  // No Host: server.address falls back to the address the client reached, as the header gives it.
  const answer = await rawExchange(port, "PROXY TCP4 203.0.113.7 198.51.100.1 40000 443\r\nGET /api/behind HTTP/1.0\r\n\r\n");
  assert.match(answer, /^HTTP\/1\.1 200 /);

  const [log] = await rx.waitForLogs((l) => l.length >= 1);
  const spans = await rx.waitForSpans((s) => s.some((x) => x.kind === 2));
  const [remote, remotePort, direct, directPort, local] = String(log!.body).split("|");
  assert.deepEqual([remote, remotePort, direct, local], ["203.0.113.7:40000", "40000", "127.0.0.1", "198.51.100.1:443"]);
  assert.match(directPort!, /^\d+$/);
  assert.notEqual(directPort, "40000");
  const server = spans.find((s) => s.kind === 2)!;
  for (const [what, attributes] of [["span", server.attributes], ["log record", log!.attributes]] as const) {
    assert.equal(attributes["client.address"], "203.0.113.7", what);
    assert.equal(attributes["network.peer.address"], "127.0.0.1", what);
    assert.equal(attributes["network.peer.port"], Number(directPort), what);
  }
  assert.deepEqual([server.attributes["server.address"], server.attributes["server.port"]], ["198.51.100.1", 443]);

  // A v2 LOCAL header (the balancer's health check) keeps the connection's own addresses everywhere.
  const healthCheck = Buffer.from(new V2ProxyProtocol(Command.LOCAL, TransportProtocol.UNSPEC, new UnspecProxyAddress()).build());
  assert.match(await rawExchange(port, Buffer.concat([healthCheck, Buffer.from("GET /api/health HTTP/1.0\r\n\r\n")])), /^HTTP\/1\.1 200 /);
  const logs = await rx.waitForLogs((l) => l.length >= 2);
  const [ownRemote, ownRemotePort, ownDirect, ownDirectPort, ownLocal] = String(logs[1]!.body).split("|");
  assert.deepEqual([ownRemote, ownDirect, ownLocal], [`127.0.0.1:${ownRemotePort}`, "127.0.0.1", `127.0.0.1:${port}`]);
  assert.equal(ownRemotePort, ownDirectPort);
  assert.equal(logs[1]!.attributes["client.address"], "127.0.0.1");
});
