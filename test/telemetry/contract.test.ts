// The telemetry contract: everything actually exported (decoded from a receiver) is in the
// registry; docs/telemetry.md is the registry's current rendering; the resource and the
// env/policy precedence behave as documented.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { isRegisteredAttribute, isRegisteredResourceAttribute, spanNameShape } from "../../src/telemetry/registry.ts";
import { renderTelemetryDoc } from "../../src/telemetry/registry-doc.ts";
import { buildResourceAttributes } from "../../src/telemetry/resource/resource.ts";
import { containerIdFromCgroup, containerIdFromMountinfo, detectContainerId } from "../../src/telemetry/resource/container-id.ts";
import { isUsableEndpoint, resolveOtlpExporterConfig } from "../../src/telemetry/export/otlp-config.ts";
import { parseResourceAttributes } from "../../src/telemetry/env.ts";
import { startOtlpReceiver } from "../support/otlp-receiver.ts";
import { collectorBackend, gatewayYaml, get, startTracedGateway, startUpstream, tracingPolicyYaml } from "./harness.ts";
import { startRig } from "./rig.ts";

test("docs/telemetry.md is generated from the registry and up to date", () => {
  const committed = readFileSync(fileURLToPath(new URL("../../docs/telemetry.md", import.meta.url)), "utf8");
  assert.equal(committed, renderTelemetryDoc(), "run: node scripts/gen-telemetry-docs.ts");
});

test("every span name, attribute key and resource key exported is in the registry", async (t) => {
  // The policy's collector; the rig's receiver is the environment's default endpoint.
  const collector = await startOtlpReceiver("grpc");
  t.after(() => collector.close());
  // A configuration that turns on everything optional: captures, custom attributes of every source.
  const tracing = `    attributes:
    - {name: deployment.tier, literal: {value: edge}}
    - {name: request.tag, requestHeader: {name: x-tag}}
`;
  const { rx, gw } = await startRig(t, {
    transport: "http",
    yaml: (upstreamPort) => gatewayYaml({ upstreamPort, extra: tracingPolicyYaml(collector.port, tracing) }),
    env: (rx) => ({
      OTEL_EXPORTER_OTLP_ENDPOINT: rx.url,
      OTEL_BSP_SCHEDULE_DELAY: "20",
      OTEL_INSTRUMENTATION_HTTP_SERVER_CAPTURE_REQUEST_HEADERS: "x-tag",
      OTEL_INSTRUMENTATION_HTTP_SERVER_CAPTURE_RESPONSE_HEADERS: "content-type",
      OTEL_INSTRUMENTATION_HTTP_CLIENT_CAPTURE_REQUEST_HEADERS: "x-tag",
      K8S_POD_NAME: "tollgate-0",
      K8S_POD_UID: "uid-1",
      K8S_NAMESPACE_NAME: "kgateway-system",
      K8S_NODE_NAME: "node-a",
      K8S_CONTAINER_NAME: "tollgate",
      K8S_DEPLOYMENT_NAME: "tollgate",
      K8S_CLUSTER_NAME: "edge-1",
    }),
  });
  await get(gw.url(8080, "/api/x?sig=1"), { "x-tag": "a" });
  await get(gw.url(8080, "/api/x"), { "x-status": "500" });
  await get(gw.url(8080, "/nope"), {}, "PURGE");
  const spans = await collector.waitForSpans((s) => s.length >= 5);
  const custom = new Set(["deployment.tier", "request.tag"]);
  for (const s of spans) {
    assert.notEqual(spanNameShape(s.name), "other", `span name ${s.name}`);
    for (const key of Object.keys(s.attributes)) {
      assert.ok(isRegisteredAttribute(key, "traces") || custom.has(key), `attribute ${key} on ${s.name} is not in the registry`);
    }
    for (const key of Object.keys(s.resource.attributes)) {
      assert.ok(isRegisteredResourceAttribute(key), `resource attribute ${key} is not in the registry`);
    }
  }
  const r = spans[0]!.resource.attributes;
  assert.equal(r["k8s.pod.uid"], "uid-1");
  assert.equal(r["service.instance.id"], "uid-1", "pod uid is the instance id");
  assert.equal(r["k8s.cluster.name"], "edge-1");
  for (const required of ["service.name", "service.namespace", "service.version", "host.name", "host.arch", "process.pid", "process.runtime.name", "process.runtime.version", "telemetry.sdk.name", "telemetry.sdk.language", "telemetry.sdk.version"]) {
    assert.ok(r[required] !== undefined, `resource has ${required}`);
  }
  assert.equal(r["service.version"], JSON.parse(readFileSync(fileURLToPath(new URL("../../package.json", import.meta.url)), "utf8")).version);
  assert.equal(rx.spans.length, 0, "the policy's collector beats the env default");
});

test("service.name precedence: gateway default < OTEL_RESOURCE_ATTRIBUTES < OTEL_SERVICE_NAME < policy", () => {
  const facts = { instanceBase: "i-1", containerId: undefined };
  const id = { gatewayName: "http", gatewayNamespace: "kgateway-system", policyServiceName: undefined, policyAttributes: {} };
  assert.equal(buildResourceAttributes({}, id, facts, undefined)["service.name"], "http.kgateway-system");
  const withRa = { OTEL_RESOURCE_ATTRIBUTES: "service.name=from-ra,team=edge%20ops" };
  assert.equal(buildResourceAttributes(withRa, id, facts, undefined)["service.name"], "from-ra");
  assert.equal(buildResourceAttributes(withRa, id, facts, undefined)["team"], "edge ops");
  const withSn = { ...withRa, OTEL_SERVICE_NAME: "from-sn" };
  assert.equal(buildResourceAttributes(withSn, id, facts, undefined)["service.name"], "from-sn");
  const policy = { ...id, policyServiceName: "from-policy" };
  assert.equal(buildResourceAttributes(withSn, policy, facts, undefined)["service.name"], "from-policy");
  const policyAttrs = { ...policy, policyAttributes: { "service.name": "from-policy-attrs", team: "platform" } };
  const all = buildResourceAttributes(withSn, policyAttrs, facts, undefined);
  assert.equal(all["service.name"], "from-policy-attrs");
  assert.equal(all["team"], "platform");
  assert.equal(buildResourceAttributes({}, id, facts, 3)["service.instance.id"], "i-1-worker-3", "workers are distinct instances");
  const operatorId = { OTEL_RESOURCE_ATTRIBUTES: "service.instance.id=edge.pod-abc.tollgate" };
  assert.equal(buildResourceAttributes(operatorId, id, facts, 3)["service.instance.id"], "edge.pod-abc.tollgate-worker-3", "an instance id set by the environment stays distinct per worker");
  assert.equal(buildResourceAttributes(operatorId, id, facts, undefined)["service.instance.id"], "edge.pod-abc.tollgate");
  const policyId = { ...id, policyAttributes: { "service.instance.id": "from-policy" } };
  assert.equal(buildResourceAttributes({}, policyId, facts, 2)["service.instance.id"], "from-policy-worker-2");
});

test("OTEL_RESOURCE_ATTRIBUTES with one undecodable member is discarded whole, and the gateway says so", async (t) => {
  const facts = { instanceBase: "i-1", containerId: undefined };
  const id = { gatewayName: "http", gatewayNamespace: "kgateway-system", policyServiceName: undefined, policyAttributes: {} };
  const bad = { OTEL_RESOURCE_ATTRIBUTES: "deployment.environment=prod,team=%E0%A4%A,region=eu" };
  const attrs = buildResourceAttributes(bad, id, facts, undefined);
  assert.equal(attrs["deployment.environment"], undefined, "members before the bad one are not applied");
  assert.equal(attrs["region"], undefined, "members after the bad one are not applied");
  assert.equal(attrs["service.name"], "http.kgateway-system");
  const missingEquals = parseResourceAttributes("a=1,just-a-key");
  assert.deepEqual(missingEquals.attributes, {});
  assert.match(missingEquals.problem!, /OTEL_RESOURCE_ATTRIBUTES: 'just-a-key' is not key=value/);
  assert.deepEqual(parseResourceAttributes("a=1, ,b=x%2Cy,").attributes, { a: "1", b: "x,y" }, "empty members are no error");
  assert.equal(parseResourceAttributes("a=1").problem, undefined);

  const { gw } = await startRig(t, { transport: "http", env: (r) => ({ OTEL_EXPORTER_OTLP_ENDPOINT: r.url, ...bad }) });
  const warned = gw.warnings.filter((w) => w.message.startsWith("OTEL_RESOURCE_ATTRIBUTES:"));
  assert.equal(warned.length, 1, JSON.stringify(gw.warnings));
  assert.match(warned[0]!.message, /'team=%E0%A4%A' is not key=value with percent-encoding; the whole variable is ignored/);
});

test("exporter settings: endpoint path rules, per-signal beats generic, policy beats env", () => {
  const env = {
    OTEL_EXPORTER_OTLP_ENDPOINT: "http://collector:4318/base",
    OTEL_EXPORTER_OTLP_HEADERS: "a=1,b=2",
    OTEL_EXPORTER_OTLP_TRACES_HEADERS: "b=3",
    OTEL_EXPORTER_OTLP_TIMEOUT: "2500",
    OTEL_EXPORTER_OTLP_TRACES_COMPRESSION: "gzip",
  };
  const generic = resolveOtlpExporterConfig(env, "traces", undefined);
  assert.equal(generic.url, "http://collector:4318/base/v1/traces");
  assert.equal(generic.protocol, "http/protobuf");
  assert.deepEqual(generic.headers, { a: "1", b: "3" });
  assert.equal(generic.timeoutMs, 2500);
  assert.equal(generic.compression, "gzip");
  assert.equal(resolveOtlpExporterConfig(env, "logs", undefined).url, "http://collector:4318/base/v1/logs");
  const specific = resolveOtlpExporterConfig({ ...env, OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: "http://other:9999/custom" }, "traces", undefined);
  assert.equal(specific.url, "http://other:9999/custom", "per-signal endpoint used as-is");
  const grpc = resolveOtlpExporterConfig({ OTEL_EXPORTER_OTLP_ENDPOINT: "http://c:4317", OTEL_EXPORTER_OTLP_PROTOCOL: "grpc" }, "traces", undefined);
  assert.equal(grpc.url, "http://c:4317");
  const source = { file: "f", line: 1, col: 1, path: "p" };
  const policy = resolveOtlpExporterConfig(env, "traces", { endpoint: "http://policy:4317", protocol: "grpc", source });
  assert.equal(policy.url, "http://policy:4317");
  assert.equal(policy.endpointSource, "policy");
  assert.deepEqual(policy.headers, { a: "1", b: "3" }, "headers still come from env");
  assert.equal(resolveOtlpExporterConfig({}, "traces", undefined).url, "http://localhost:4318/v1/traces");
  assert.equal(resolveOtlpExporterConfig({ OTEL_EXPORTER_OTLP_PROTOCOL: "grpc" }, "traces", undefined).url, "http://localhost:4317");
  assert.match(resolveOtlpExporterConfig({ OTEL_EXPORTER_OTLP_CERTIFICATE: "/nonexistent.pem" }, "traces", undefined).problems[0]!, /cannot read/);
  // gRPC takes `host:port` without a scheme, as the SDK's transport does (https:// assumed).
  for (const endpoint of ["10.0.0.5:4317", "[::1]:4317", "collector.monitoring.svc:4317", "http://c:4317"]) {
    const config = resolveOtlpExporterConfig({ OTEL_EXPORTER_OTLP_ENDPOINT: endpoint, OTEL_EXPORTER_OTLP_PROTOCOL: "grpc" }, "traces", undefined);
    assert.deepEqual(config.problems, [], endpoint);
    assert.equal(isUsableEndpoint("grpc", endpoint), true, endpoint);
  }
  assert.equal(isUsableEndpoint("grpc", "https://tenant:ab/cd@c:4317"), false);
  assert.equal(isUsableEndpoint("http/protobuf", "10.0.0.5:4318"), false, "the HTTP transports need an http(s) URL");
});

test("container.id from cgroup v1 and from mountinfo (cgroup v2)", () => {
  const id = "a".repeat(12) + "0123456789abcdef".repeat(3) + "0123";
  assert.equal(containerIdFromCgroup(`12:memory:/kubepods/burstable/pod1/${id}\n0::/`), id);
  assert.equal(containerIdFromCgroup(`0::/system.slice/docker-${id}.scope`), id);
  assert.equal(containerIdFromCgroup("0::/\n4:memory:/process_api/d0616511"), undefined);
  assert.equal(containerIdFromMountinfo(`2 1 0:5 /var/lib/docker/containers/${id}/hostname /etc/hostname rw - ext4 /dev/x rw`), id);
});

test("container.id on Kubernetes: cgroup paths name the container, mountinfo only the pod sandbox", () => {
  const own = "b".repeat(64);
  const sandbox = "a".repeat(64);
  // containerd under a private cgroup v2 namespace: /proc/self/cgroup is `0::/`, and the
  // hostname and resolv.conf files come from the sandbox's directory.
  const containerdMountinfo = [
    `1200 1100 8:1 /var/lib/containerd/io.containerd.grpc.v1.cri/sandboxes/${sandbox}/hostname /etc/hostname rw,relatime - ext4 /dev/sda1 rw`,
    `1201 1100 8:1 /var/lib/containerd/io.containerd.grpc.v1.cri/sandboxes/${sandbox}/resolv.conf /etc/resolv.conf rw,relatime - ext4 /dev/sda1 rw`,
    `1202 1100 8:1 /var/lib/kubelet/pods/0b6c5f2e/etc-hosts /etc/hosts rw,relatime - ext4 /dev/sda1 rw`,
  ].join("\n");
  const files = (cgroup: string, mountinfo: string) => (path: string): string => (path === "/proc/self/cgroup" ? cgroup : mountinfo);
  assert.equal(containerIdFromMountinfo(containerdMountinfo), undefined, "a containerd sandbox directory is never a container's own");
  assert.equal(detectContainerId(true, files("0::/\n", containerdMountinfo)), undefined);
  // cri-dockerd and CRI-O mount the pause container's files, in paths docker and podman also use.
  const dockerStyle = `2 1 0:5 /var/lib/docker/containers/${sandbox}/hostname /etc/hostname rw - ext4 /dev/x rw`;
  assert.equal(detectContainerId(true, files("0::/\n", dockerStyle)), undefined, "on Kubernetes mountinfo names the sandbox");
  assert.equal(detectContainerId(false, files("0::/\n", dockerStyle)), sandbox, "outside Kubernetes it is the container's own directory");
  // The host's cgroup namespace (or cgroup v1) shows the container's own scope.
  assert.equal(detectContainerId(true, files(`0::/kubepods.slice/kubepods-pod1.slice/cri-containerd-${own}.scope\n`, containerdMountinfo)), own);
});

test("OTEL_SDK_DISABLED=true: no spans, no exporters; OTEL_TRACES_EXPORTER=none: no export, propagation still works", async (t) => {
  const rx = await startOtlpReceiver("http");
  t.after(() => rx.close());
  const upstream = await startUpstream();
  t.after(() => upstream.close());
  const off = await startTracedGateway(gatewayYaml({ upstreamPort: upstream.port }), { OTEL_SDK_DISABLED: "true", OTEL_EXPORTER_OTLP_ENDPOINT: rx.url });
  t.after(() => off.close());
  assert.equal(off.telemetry.disabled, true);
  assert.equal((await get(off.url(8080, "/api/x"))).status, 200);
  const none = await startTracedGateway(gatewayYaml({ upstreamPort: upstream.port }), { OTEL_TRACES_EXPORTER: "none", OTEL_EXPORTER_OTLP_ENDPOINT: rx.url });
  t.after(() => none.close());
  assert.equal((await get(none.url(8080, "/api/x"))).status, 200);
  assert.match(String(upstream.seen[1]!.traceparent), /^00-[0-9a-f]{32}-[0-9a-f]{16}-03$/);
  await off.telemetry.flush(1000);
  await none.telemetry.flush(1000);
  assert.equal(rx.spans.length, 0);
});

test("reload: onPlan moves export to the new policy's collector", async (t) => {
  const a = await startOtlpReceiver("grpc");
  const b = await startOtlpReceiver("grpc");
  t.after(() => a.close());
  t.after(() => b.close());
  const upstream = await startUpstream();
  t.after(() => upstream.close());
  const policy = (port: number) => `apiVersion: gateway.kgateway.dev/v1alpha1
kind: ListenerPolicy
metadata: {name: tracing, namespace: kgateway-system}
spec:
  targetRefs: [{group: gateway.networking.k8s.io, kind: Gateway, name: http}]
  default:
    httpSettings:
      tracing:
        provider:
          openTelemetry:
            grpcService:
              backendRef: {name: otel-collector, namespace: kgateway-system, port: 4317}
---
${collectorBackend("otel-collector", "kgateway-system", port)}`;
  const gw = await startTracedGateway(gatewayYaml({ upstreamPort: upstream.port, extra: policy(a.port) }), { OTEL_BSP_SCHEDULE_DELAY: "20" });
  t.after(() => gw.close());
  await get(gw.url(8080, "/api/1"));
  await a.waitForSpans((s) => s.length >= 2);
  gw.reload(gatewayYaml({ upstreamPort: upstream.port, extra: policy(b.port) }));
  await get(gw.url(8080, "/api/2"));
  await b.waitForSpans((s) => s.length >= 2);
  await gw.telemetry.flush(2000);
  assert.equal(a.spans.length, 2);
  assert.deepEqual(b.spans.map((s) => s.attributes["url.path"]).filter(Boolean), ["/api/2"]);
});
