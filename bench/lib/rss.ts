// Resident set size of a process, read from /proc/<pid>/status (VmRSS), so the number is
// the kernel's, not the process's own view of its heap. Reported in MB (10^6 bytes), the
// unit the bar is written in; VmRSS itself is in KiB.
import { readFileSync } from "node:fs";

export function rssMB(pid: number): number | undefined {
  try {
    const status = readFileSync(`/proc/${pid}/status`, "utf8");
    const match = /^VmRSS:\s+(\d+)\s+kB$/m.exec(status);
    return match === null ? undefined : (Number(match[1]) * 1024) / 1e6;
  } catch {
    return undefined;
  }
}

export interface RssSample {
  /** Seconds since sampling started. */
  readonly t: number;
  readonly mb: number;
}

export class RssSampler {
  readonly samples: RssSample[] = [];
  readonly #pid: number;
  readonly #started = performance.now();
  readonly #timer: NodeJS.Timeout;

  constructor(pid: number, intervalMs: number) {
    this.#pid = pid;
    this.#take();
    this.#timer = setInterval(() => this.#take(), intervalMs);
  }

  #take(): void {
    const mb = rssMB(this.#pid);
    if (mb !== undefined) this.samples.push({ t: (performance.now() - this.#started) / 1000, mb });
  }

  stop(): RssSample[] {
    clearInterval(this.#timer);
    this.#take();
    return this.samples;
  }

  peak(): number {
    return this.samples.reduce((max, s) => Math.max(max, s.mb), 0);
  }
}
