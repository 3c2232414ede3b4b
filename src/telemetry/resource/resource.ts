// The resource: who is emitting. Built once per (gateway, policy) and shared by every
// signal, so traces, logs and metrics carry the identical identity.
//
// service.name precedence, later wins (DESIGN.md "Telemetry precedence"):
//   1. `<gateway>.<namespace>` (kgateway's default), or `tollgate` with no gateway;
//   2. service.name in OTEL_RESOURCE_ATTRIBUTES;
//   3. OTEL_SERVICE_NAME;
//   4. the policy: kgateway provider.openTelemetry.serviceName, then policy resource attributes.
// Every other attribute follows the same order: detected < OTEL_RESOURCE_ATTRIBUTES < policy.
import { randomUUID } from "node:crypto";
import { hostname } from "node:os";
import { basename } from "node:path";
import { resourceFromAttributes, type Resource } from "@opentelemetry/resources";
import { SDK_INFO } from "@opentelemetry/core";
import { K8S_RESOURCE_ENV } from "../resource-env.ts";
import { envString, parseResourceAttributes, type Env } from "../env.ts";
import { SCHEMA_URL } from "../semconv.ts";
import { TOLLGATE_VERSION } from "../version.ts";
import { detectContainerId } from "./container-id.ts";

export interface ResourceIdentity {
  /** The gateway the telemetry is about; undefined when no Gateway is configured. */
  readonly gatewayName: string | undefined;
  readonly gatewayNamespace: string | undefined;
  /** kgateway provider.openTelemetry.serviceName. */
  readonly policyServiceName: string | undefined;
  /** TelemetryPolicy / kgateway resourceAttributes. */
  readonly policyAttributes: Readonly<Record<string, string>>;
}

export type ResourceAttributes = Record<string, string | number>;

/** Facts about this process that do not change while it runs; detected once. */
export interface ProcessFacts {
  readonly instanceBase: string;
  readonly containerId: string | undefined;
}

export function detectProcessFacts(env: Env): ProcessFacts {
  return {
    instanceBase: envString(env, K8S_RESOURCE_ENV.podUid) ?? randomUUID(),
    // The kubelet sets KUBERNETES_SERVICE_HOST in every container; the Downward API variables
    // cover a pod that somehow lacks it.
    containerId: detectContainerId(envString(env, "KUBERNETES_SERVICE_HOST") !== undefined || envString(env, K8S_RESOURCE_ENV.podUid) !== undefined || envString(env, K8S_RESOURCE_ENV.podName) !== undefined),
  };
}

const ARCH: Readonly<Record<string, string>> = {
  x64: "amd64",
  arm64: "arm64",
  ia32: "x86",
  arm: "arm32",
  ppc64: "ppc64",
  s390x: "s390x",
};

export function buildResourceAttributes(
  env: Env,
  identity: ResourceIdentity,
  facts: ProcessFacts,
  workerId: number | undefined,
): ResourceAttributes {
  const k8sNamespace = envString(env, K8S_RESOURCE_ENV.namespace);
  const attrs: ResourceAttributes = {
    "service.name":
      identity.gatewayName !== undefined && identity.gatewayNamespace !== undefined
        ? `${identity.gatewayName}.${identity.gatewayNamespace}`
        : "tollgate",
    "service.namespace": identity.gatewayNamespace ?? k8sNamespace ?? "default",
    "service.version": TOLLGATE_VERSION,
    "service.instance.id": facts.instanceBase,
    "host.name": hostname(),
    "host.arch": ARCH[process.arch] ?? process.arch,
    "process.pid": process.pid,
    "process.executable.name": basename(process.execPath),
    "process.runtime.name": "nodejs",
    "process.runtime.version": process.versions.node,
    "process.runtime.description": "Node.js",
    "telemetry.sdk.name": String(SDK_INFO["telemetry.sdk.name"]),
    "telemetry.sdk.language": String(SDK_INFO["telemetry.sdk.language"]),
    "telemetry.sdk.version": String(SDK_INFO["telemetry.sdk.version"]),
    "telemetry.distro.name": "tollgate",
    "telemetry.distro.version": TOLLGATE_VERSION,
  };
  if (facts.containerId !== undefined) attrs["container.id"] = facts.containerId;
  const k8s: ReadonlyArray<readonly [string, string]> = [
    ["k8s.pod.name", K8S_RESOURCE_ENV.podName],
    ["k8s.pod.uid", K8S_RESOURCE_ENV.podUid],
    ["k8s.namespace.name", K8S_RESOURCE_ENV.namespace],
    ["k8s.node.name", K8S_RESOURCE_ENV.nodeName],
    ["k8s.container.name", K8S_RESOURCE_ENV.containerName],
    ["k8s.deployment.name", K8S_RESOURCE_ENV.deploymentName],
    ["k8s.cluster.name", K8S_RESOURCE_ENV.clusterName],
  ];
  for (const [attr, variable] of k8s) {
    const v = envString(env, variable);
    if (v !== undefined) attrs[attr] = v;
  }

  Object.assign(attrs, parseResourceAttributes(envString(env, "OTEL_RESOURCE_ATTRIBUTES")).attributes);
  const envServiceName = envString(env, "OTEL_SERVICE_NAME");
  if (envServiceName !== undefined) attrs["service.name"] = envServiceName;
  if (identity.policyServiceName !== undefined) attrs["service.name"] = identity.policyServiceName;
  Object.assign(attrs, identity.policyAttributes);
  // With --workers every worker is its own emitter: a distinct instance id keeps their
  // cumulative series and span sources apart (docs/tracing.md), whichever source set the
  // base id (an operator's OTEL_RESOURCE_ATTRIBUTES often does).
  if (workerId !== undefined) attrs["service.instance.id"] = `${String(attrs["service.instance.id"])}-worker-${workerId}`;
  return attrs;
}

/**
 * One Resource object per distinct identity. The OTLP serialisers group spans (and log
 * records) by Resource identity, so sharing the object also keeps export payloads compact.
 */
export class ResourceCache {
  readonly #env: Env;
  readonly #facts: ProcessFacts;
  readonly #workerId: number | undefined;
  readonly #byKey = new Map<string, Resource>();

  constructor(env: Env, workerId: number | undefined, facts: ProcessFacts = detectProcessFacts(env)) {
    this.#env = env;
    this.#facts = facts;
    this.#workerId = workerId;
  }

  get(identity: ResourceIdentity): Resource {
    const key = JSON.stringify([
      identity.gatewayName,
      identity.gatewayNamespace,
      identity.policyServiceName,
      Object.entries(identity.policyAttributes).sort(),
    ]);
    let resource = this.#byKey.get(key);
    if (resource === undefined) {
      resource = resourceFromAttributes(buildResourceAttributes(this.#env, identity, this.#facts, this.#workerId), {
        schemaUrl: SCHEMA_URL,
      });
      this.#byKey.set(key, resource);
    }
    return resource;
  }
}
