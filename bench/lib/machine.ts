// The machine the numbers were taken on, read from the system.
import { spawnSync } from "node:child_process";
import { cpus, loadavg, release, totalmem } from "node:os";
import { pinnedNode } from "./paths.ts";

export interface MachineInfo {
  readonly cpuModel: string;
  readonly cores: number;
  readonly memoryGiB: number;
  readonly node: string;
  readonly kernel: string;
  readonly nginx: string | undefined;
  /** 1-minute load average when the run started: above ~0.5 on this box, others were busy. */
  readonly loadAtStart: number;
}

export function readMachine(nginx: string | undefined): MachineInfo {
  const list = cpus();
  return {
    cpuModel: list[0]?.model.trim() ?? "unknown",
    cores: list.length,
    memoryGiB: Math.round((totalmem() / 2 ** 30) * 10) / 10,
    node: commandOutput(pinnedNode(), ["--version"]) ?? process.version,
    kernel: `Linux ${release()}`,
    nginx: nginx === undefined ? undefined : commandOutput(nginx, ["-v"])?.replace(/^nginx version:\s*/, ""),
    loadAtStart: loadavg()[0] ?? 0,
  };
}

export function currentLoad(): number {
  return loadavg()[0] ?? 0;
}

function commandOutput(command: string, args: readonly string[]): string | undefined {
  // nginx -v prints on stderr, node --version on stdout.
  const result = spawnSync(command, args, { encoding: "utf8", timeout: 5000 });
  const text = `${result.stdout ?? ""}${result.stderr ?? ""}`.trim();
  return text === "" ? undefined : text;
}
