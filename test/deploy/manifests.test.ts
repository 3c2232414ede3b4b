// deploy/kubernetes/ against the code it deploys: env names from the resource contract,
// settings through the real env parser, the ConfigMap's gateway.yaml through the real
// config loader, and the probe paths on a running gateway started from that ConfigMap.
import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import { basename, dirname } from "node:path";
import { describe, it } from "node:test";
import { parse } from "yaml";
import { K8S_RESOURCE_ENV } from "../../src/telemetry/resource-env.ts";
import { readServerSettings } from "../../src/server/settings.ts";
import { loadConfigText } from "../../src/config/load.ts";
import { formatDiagnostic } from "../../src/config/diagnostics.ts";
import { httpRequest, startGateway } from "../support/gateway-process.ts";
import { KUBE_DIR, asArr, asObj, at, byKind, cpuQuantity, readManifests, str, type Obj } from "./kube-manifests.ts";

const manifests = readManifests();
const deployment = byKind(manifests, "Deployment");
const service = byKind(manifests, "Service");
const configMap = byKind(manifests, "ConfigMap");
const hpa = byKind(manifests, "HorizontalPodAutoscaler");
const pdb = byKind(manifests, "PodDisruptionBudget");
const podSpec = asObj(at(deployment, "spec.template.spec"), "pod spec");
const containers = asArr(podSpec["containers"], "containers").map((c) => asObj(c, "container"));
const container = containers[0]!;
const env = asArr(container["env"], "env").map((e) => asObj(e, "env entry"));
const ports = asArr(container["ports"], "ports").map((p) => asObj(p, "port"));
const podLabels = asObj(at(deployment, "spec.template.metadata.labels"), "pod labels");

export const CONFIGMAP_GATEWAY_FILE = "deploy/kubernetes/configmap.yaml#gateway.yaml";

function gatewayYaml(): string {
  const text = asObj(configMap["data"], "data")["gateway.yaml"];
  assert.equal(typeof text, "string");
  return text as string;
}

function literalEnv(): Record<string, string> {
  const out: Record<string, string> = {};
  for (const e of env) if (typeof e["value"] === "string") out[String(e["name"])] = e["value"];
  return out;
}

function containerPort(nameOrNumber: unknown): number {
  if (typeof nameOrNumber === "number") return nameOrNumber;
  const port = ports.find((p) => p["name"] === nameOrNumber);
  assert.ok(port, `no container port named ${String(nameOrNumber)}`);
  return Number(port["containerPort"]);
}

function matchesLabels(selector: Obj): void {
  for (const [k, v] of Object.entries(selector)) assert.equal(podLabels[k], v, `selector ${k}=${String(v)} does not select the pods`);
}

describe("deploy/kubernetes manifests", () => {
  it("parse, and the kustomization lists every manifest file", () => {
    const kustomization = parse(readFileSync(`${KUBE_DIR}kustomization.yaml`, "utf8")) as Obj;
    const listed = asArr(kustomization["resources"], "resources").map(String).sort();
    const files = readdirSync(KUBE_DIR).filter((f) => f.endsWith(".yaml") && f !== "kustomization.yaml").sort();
    assert.deepEqual(listed, files);
    const kinds = manifests.map((m) => m.object["kind"]).sort();
    assert.deepEqual(kinds, ["ConfigMap", "Deployment", "HorizontalPodAutoscaler", "Kustomization", "Namespace", "PodDisruptionBudget", "Service"]);
  });

  it("set exactly the Downward API env names the resource code reads, from the right fields", () => {
    const expectedFieldPaths: Record<string, string> = {
      [K8S_RESOURCE_ENV.podName]: "metadata.name",
      [K8S_RESOURCE_ENV.podUid]: "metadata.uid",
      [K8S_RESOURCE_ENV.namespace]: "metadata.namespace",
      [K8S_RESOURCE_ENV.nodeName]: "spec.nodeName",
    };
    const k8sNames = env.map((e) => String(e["name"])).filter((n) => n.startsWith("K8S_")).sort();
    assert.deepEqual(k8sNames, Object.values(K8S_RESOURCE_ENV).sort());
    for (const [name, fieldPath] of Object.entries(expectedFieldPaths)) {
      const entry = env.find((e) => e["name"] === name);
      assert.ok(entry, name);
      assert.equal(str(entry, "valueFrom.fieldRef.fieldPath"), fieldPath, name);
    }
    const literals = literalEnv();
    assert.equal(literals[K8S_RESOURCE_ENV.containerName], container["name"]);
    assert.equal(literals[K8S_RESOURCE_ENV.deploymentName], str(deployment, "metadata.name"));
    assert.ok((literals[K8S_RESOURCE_ENV.clusterName] ?? "").length > 0, "cluster name set");
  });

  it("configure telemetry only through OTEL_* variables the spec defines", () => {
    const literals = literalEnv();
    const otel = Object.keys(literals).filter((n) => n.startsWith("OTEL_"));
    assert.ok(otel.length > 0);
    for (const signal of ["TRACES", "LOGS", "METRICS"]) {
      const endpoint = literals[`OTEL_EXPORTER_OTLP_${signal}_ENDPOINT`];
      assert.ok(endpoint !== undefined && new URL(endpoint).port === "4317", `${signal} endpoint is a gRPC collector`);
    }
    assert.equal(literals["OTEL_EXPORTER_OTLP_PROTOCOL"], "grpc");
  });

  it("give the gateway settings the real env parser accepts, with the ops port as a container port", () => {
    const settings = readServerSettings(literalEnv());
    assert.equal(containerPort("ops"), settings.opsAddr.port);
    assert.equal(settings.opsAddr.host, "0.0.0.0", "probes and scrapes reach the ops listener from outside the pod");
  });

  it("wait longer than the preStop sleep and the whole drain before SIGKILL", () => {
    const settings = readServerSettings(literalEnv());
    const grace = Number(podSpec["terminationGracePeriodSeconds"]) * 1000;
    const preStop = Number(at(container, "lifecycle.preStop.sleep.seconds")) * 1000;
    const drain = settings.drainGraceMs + settings.drainTimeoutMs + settings.telemetryShutdownTimeoutMs;
    assert.ok(grace > preStop + drain, `terminationGracePeriodSeconds ${grace} ms must exceed preStop ${preStop} ms + drain ${drain} ms`);
    assert.ok(literalEnv()["TOLLGATE_DRAIN_TIMEOUT_MS"] !== undefined, "drain timeout stated explicitly");
  });

  it("hold SIGTERM back while a Local-traffic load balancer moves away, and leave the replica count to the HPA", () => {
    if (at(service, "spec.externalTrafficPolicy") === "Local") {
      // Readiness turns 503 at SIGTERM; kube-proxy then has no serving endpoint on the node while the load balancer still sends there.
      assert.ok(Number(at(container, "lifecycle.preStop.sleep.seconds")) >= 10, "a preStop sleep covers the load balancer's health-check lag");
    }
    assert.equal(asObj(deployment["spec"], "spec")["replicas"], undefined, "kubectl apply would reset what the HPA scaled to");
  });

  it("probe /readyz and /healthz on the ops port", () => {
    assert.equal(str(container, "readinessProbe.httpGet.path"), "/readyz");
    assert.equal(str(container, "livenessProbe.httpGet.path"), "/healthz");
    for (const probe of ["readinessProbe", "livenessProbe", "startupProbe"]) {
      assert.equal(containerPort(at(container, `${probe}.httpGet.port`)), readServerSettings(literalEnv()).opsAddr.port, probe);
    }
  });

  it("run non-root on a read-only root filesystem with every capability dropped", () => {
    const sc = asObj(container["securityContext"], "securityContext");
    assert.equal(sc["runAsNonRoot"], true);
    assert.equal(sc["readOnlyRootFilesystem"], true);
    assert.equal(sc["allowPrivilegeEscalation"], false);
    assert.deepEqual(at(sc, "capabilities.drop"), ["ALL"]);
    assert.equal(str(sc, "seccompProfile.type"), "RuntimeDefault");
    assert.ok(Number(sc["runAsUser"]) > 0);
    assert.equal(at(podSpec, "securityContext.runAsNonRoot"), true);
    const tmp = asArr(container["volumeMounts"], "volumeMounts").map((v) => asObj(v, "mount")).find((v) => v["mountPath"] === "/tmp");
    assert.ok(tmp, "/tmp is a writable volume");
  });

  it("size --workers to the CPU limit, with requests and limits set", () => {
    const args = asArr(container["args"], "args").map(String);
    const workers = Number(args[args.indexOf("--workers") + 1]);
    assert.ok(args.includes("--workers") && Number.isInteger(workers) && workers >= 1);
    const limit = cpuQuantity(at(container, "resources.limits.cpu"));
    assert.equal(workers, Math.max(1, Math.floor(limit)));
    assert.ok(cpuQuantity(at(container, "resources.requests.cpu")) > 0);
    assert.ok(String(at(container, "resources.limits.memory")).length > 0);
    assert.ok(String(at(container, "resources.requests.memory")).length > 0);
  });

  it("mount the ConfigMap's gateway.yaml where TOLLGATE_CONFIG and --config point", () => {
    const configPath = literalEnv()["TOLLGATE_CONFIG"];
    assert.equal(configPath, "/etc/tollgate/gateway.yaml");
    const args = asArr(container["args"], "args").map(String);
    assert.equal(args[0], "run");
    assert.equal(args[args.indexOf("--config") + 1], configPath);
    const mount = asArr(container["volumeMounts"], "volumeMounts").map((v) => asObj(v, "mount")).find((v) => v["mountPath"] === dirname(configPath));
    assert.ok(mount, "config directory mounted (not subPath, so updates reach the pod)");
    assert.equal(mount["subPath"], undefined);
    const volume = asArr(podSpec["volumes"], "volumes").map((v) => asObj(v, "volume")).find((v) => v["name"] === mount["name"]);
    assert.ok(volume);
    assert.equal(str(volume, "configMap.name"), str(configMap, "metadata.name"));
    const items = asArr(at(volume, "configMap.items"), "items").map((i) => asObj(i, "item"));
    assert.deepEqual(items, [{ key: basename(configPath), path: basename(configPath) }]);
    assert.equal(typeof asObj(configMap["data"], "data")[basename(configPath)], "string");
  });

  it("select the pods from the Deployment, Service and PodDisruptionBudget; scale the Deployment", () => {
    matchesLabels(asObj(at(deployment, "spec.selector.matchLabels"), "deployment selector"));
    matchesLabels(asObj(at(service, "spec.selector"), "service selector"));
    matchesLabels(asObj(at(pdb, "spec.selector.matchLabels"), "pdb selector"));
    assert.equal(str(service, "spec.type"), "LoadBalancer");
    assert.equal(str(hpa, "spec.scaleTargetRef.kind"), "Deployment");
    assert.equal(str(hpa, "spec.scaleTargetRef.name"), str(deployment, "metadata.name"));
    assert.ok(Number(at(hpa, "spec.minReplicas")) >= 2, "a PDB with maxUnavailable 1 needs two replicas to allow evictions without an outage");
    const ns = str(deployment, "metadata.namespace");
    for (const m of manifests) {
      const kind = m.object["kind"];
      if (kind === "Namespace" || kind === "Kustomization") continue;
      assert.equal(str(m.object, "metadata.namespace"), ns, `${String(kind)} namespace`);
    }
  });

  it("hold a gateway.yaml the real config loader accepts without errors", () => {
    const result = loadConfigText(gatewayYaml(), CONFIGMAP_GATEWAY_FILE);
    const errors = result.diagnostics.filter((d) => d.severity === "error").map(formatDiagnostic);
    assert.deepEqual(errors, []);
    assert.ok(result.config);
    const backendHosts = result.config.backends.flatMap((b) => b.endpoints.map((e) => `${e.host}:${e.port}`));
    assert.deepEqual(backendHosts, ["httpbin.httpbin.svc.cluster.local:8000"], "the Service ref resolves to cluster DNS");
    assert.equal(result.config.routes.length, 1, "the route is accepted by the Gateway (ReferenceGrant honoured)");
  });

  it("expose exactly the Gateway's listener ports, plus ops, and route the Service to them", () => {
    const config = loadConfigText(gatewayYaml(), CONFIGMAP_GATEWAY_FILE).config;
    assert.ok(config);
    const listenerPorts = [...new Set(config.gateways.flatMap((g) => g.listeners.map((l) => l.port)))].sort();
    const opsPort = readServerSettings(literalEnv()).opsAddr.port;
    const servingPorts = ports.map((p) => Number(p["containerPort"])).filter((p) => p !== opsPort).sort();
    assert.deepEqual(servingPorts, listenerPorts);
    const servicePorts = asArr(at(service, "spec.ports"), "service ports").map((p) => asObj(p, "service port"));
    assert.ok(servicePorts.length > 0);
    const targets = servicePorts.map((p) => containerPort(p["targetPort"])).sort();
    assert.deepEqual(targets, listenerPorts, "every Service port lands on a Gateway listener");
  });

  it("probe paths that a gateway running the ConfigMap's gateway.yaml answers on the ops listener", async (t) => {
    const gw = await startGateway({ config: gatewayYaml() });
    t.after(() => gw.stop());
    for (const probe of ["readinessProbe", "livenessProbe", "startupProbe"]) {
      const res = await httpRequest(gw.opsUrl(str(container, `${probe}.httpGet.path`)));
      assert.equal(res.status, 200, `${probe}: ${res.body}`);
    }
    for (const p of ports.filter((p) => p["name"] !== "ops")) assert.ok(gw.port(Number(p["containerPort"])) > 0, `listener for container port ${String(p["containerPort"])}`);
    const status = await gw.stop();
    assert.deepEqual(status, { code: 0, signal: null }, "SIGTERM drains and exits 0");
  });
});
