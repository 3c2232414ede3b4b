// TOLLGATE_PORTS_FILE: the bound ports as JSON, rewritten whenever they change, so tools
// and tests that start the gateway on ephemeral ports can find it. Written to a temp file
// and renamed, so a reader never sees half a file.
import { renameSync, writeFileSync } from "node:fs";
import type { HostPort } from "./settings.ts";
import type { ListenerBinding } from "./gateway.ts";

export interface BoundPorts {
  readonly pid: number;
  readonly ops: HostPort;
  readonly admin: HostPort;
  readonly listeners: readonly ListenerBinding[];
}

export function writePortsFile(path: string | undefined, ports: BoundPorts): void {
  if (path === undefined) return;
  const tmp = `${path}.${process.pid}.tmp`;
  writeFileSync(tmp, JSON.stringify(ports, null, 2) + "\n");
  renameSync(tmp, path);
}
