// container.id from the kernel's view of this process: cgroup v1 paths (and cgroup v2 ones
// under the host's cgroup namespace) end in the container id (docker, containerd, cri-o,
// podman). Under a private cgroup v2 namespace the id is only visible in mountinfo, where
// docker and podman bind-mount /etc/hostname and friends from the container's own directory.
// On Kubernetes those files belong to the pod: every runtime mounts them from the pod
// sandbox's directory (containerd's `sandboxes/<id>`, CRI-O's and cri-dockerd's pause
// container), so mountinfo names the sandbox, never this container, and is not read there.
import { readFileSync } from "node:fs";

const ID = /[0-9a-f]{64}/;
const CGROUP_V1_SEGMENT = /^(?:docker-|cri-containerd-|crio-|libpod-)?([0-9a-f]{64})(?:\.scope)?$/;
const MOUNTINFO_CONTAINER = /\/(?:docker\/containers|containers|overlay-containers)\/([0-9a-f]{64})\//;

export function containerIdFromCgroup(text: string): string | undefined {
  for (const line of text.split("\n")) {
    const path = line.slice(line.indexOf(":", line.indexOf(":") + 1) + 1);
    const segments = path.split("/");
    for (let i = segments.length - 1; i >= 0; i--) {
      const m = CGROUP_V1_SEGMENT.exec(segments[i] ?? "");
      if (m) return m[1];
    }
  }
  return undefined;
}

export function containerIdFromMountinfo(text: string): string | undefined {
  for (const line of text.split("\n")) {
    if (!line.includes("/hostname") && !line.includes("/resolv.conf") && !line.includes("/hosts")) continue;
    const m = MOUNTINFO_CONTAINER.exec(line);
    if (m) return m[1];
  }
  return undefined;
}

/**
 * Reads /proc once; undefined outside a container, off Linux, and on Kubernetes when only
 * mountinfo would name a container (the pod sandbox's id there).
 */
export function detectContainerId(onKubernetes: boolean, readFile: (path: string) => string = (p) => readFileSync(p, "utf8")): string | undefined {
  const tryRead = (p: string): string => {
    try {
      return readFile(p);
    } catch {
      return "";
    }
  };
  const fromCgroup = containerIdFromCgroup(tryRead("/proc/self/cgroup"));
  if (fromCgroup !== undefined && ID.test(fromCgroup)) return fromCgroup;
  return onKubernetes ? undefined : containerIdFromMountinfo(tryRead("/proc/self/mountinfo"));
}
