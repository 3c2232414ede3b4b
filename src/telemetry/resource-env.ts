// Environment variables the resource reads, as a Kubernetes Deployment sets them through
// the Downward API. deploy/kubernetes/ and its test import this list, so the manifests and
// the code cannot drift apart.

export const K8S_RESOURCE_ENV = {
  /** metadata.name → k8s.pod.name */
  podName: "K8S_POD_NAME",
  /** metadata.uid → k8s.pod.uid, also service.instance.id */
  podUid: "K8S_POD_UID",
  /** metadata.namespace → k8s.namespace.name */
  namespace: "K8S_NAMESPACE_NAME",
  /** spec.nodeName → k8s.node.name */
  nodeName: "K8S_NODE_NAME",
  /** The container's own name (a literal in the manifest) → k8s.container.name */
  containerName: "K8S_CONTAINER_NAME",
  /** The Deployment's name (a literal or a pod label) → k8s.deployment.name */
  deploymentName: "K8S_DEPLOYMENT_NAME",
  /** A literal set per cluster → k8s.cluster.name */
  clusterName: "K8S_CLUSTER_NAME",
} as const;

export type K8sResourceEnvName = (typeof K8S_RESOURCE_ENV)[keyof typeof K8S_RESOURCE_ENV];
