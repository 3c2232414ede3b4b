// The documented Prometheus scrape jobs, made runnable without a Kubernetes API: the pod
// discovery is replaced by a static target carrying the labels that discovery would attach,
// so the documented relabelling is what decides the scrape address and path.
import { parse, stringify } from "yaml";

export interface PodTarget {
  readonly podIp: string;
  readonly namespace: string;
  readonly podName: string;
  /** What the pod template's annotations say (deploy/kubernetes/deployment.yaml). */
  readonly annotations: Readonly<Record<string, string>>;
  readonly labels: Readonly<Record<string, string>>;
}

const labelName = (key: string): string => key.replace(/[^A-Za-z0-9_]/g, "_");

export function withStaticPod(scrapeYaml: string, pod: PodTarget, overrides: Readonly<Record<string, unknown>> = {}): string {
  const config = parse(scrapeYaml) as { scrape_configs: Record<string, unknown>[] };
  for (const job of config.scrape_configs) {
    if (!("kubernetes_sd_configs" in job)) continue;
    delete job["kubernetes_sd_configs"];
    const meta: Record<string, string> = {
      __meta_kubernetes_namespace: pod.namespace,
      __meta_kubernetes_pod_name: pod.podName,
      __meta_kubernetes_pod_ip: pod.podIp,
    };
    for (const [k, v] of Object.entries(pod.annotations)) meta[`__meta_kubernetes_pod_annotation_${labelName(k)}`] = v;
    for (const [k, v] of Object.entries(pod.labels)) meta[`__meta_kubernetes_pod_label_${labelName(k)}`] = v;
    // Discovery's own address is the pod IP with the container port; relabelling replaces it.
    job["static_configs"] = [{ targets: [`${pod.podIp}:1`], labels: meta }];
    Object.assign(job, overrides);
  }
  return stringify(config);
}
