// container.id from the kernel's view of this process: cgroup v1 paths end in the container
// id (docker, containerd, cri-o, podman); under cgroup v2 the id is usually only visible in
// mountinfo, where the runtime bind-mounts /etc/hostname and friends from its container dir.
import { readFileSync } from "node:fs";

const ID = /[0-9a-f]{64}/;
const CGROUP_V1_SEGMENT = /^(?:docker-|cri-containerd-|crio-|libpod-)?([0-9a-f]{64})(?:\.scope)?$/;
const MOUNTINFO_CONTAINER = /\/(?:docker\/containers|containers|sandboxes|overlay-containers)\/([0-9a-f]{64})\//;

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

/** Reads /proc once; undefined outside a container or off Linux. */
export function detectContainerId(readFile: (path: string) => string = (p) => readFileSync(p, "utf8")): string | undefined {
  const tryRead = (p: string): string => {
    try {
      return readFile(p);
    } catch {
      return "";
    }
  };
  const fromCgroup = containerIdFromCgroup(tryRead("/proc/self/cgroup"));
  if (fromCgroup !== undefined && ID.test(fromCgroup)) return fromCgroup;
  return containerIdFromMountinfo(tryRead("/proc/self/mountinfo"));
}
