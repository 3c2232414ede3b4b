// CPU time from /proc in clock ticks (USER_HZ, 100 per second on Linux): a process, its
// main thread (the event loop that serves requests) and the machine as a whole. Wall-clock
// profiles charge a preempted thread's waiting to whatever it was doing; these count only
// the time a CPU really ran it.
import { readFileSync } from "node:fs";

export const TICK_US = 10_000;

export interface Ticks {
  readonly user: number;
  readonly system: number;
}

function statTicks(path: string): Ticks {
  // The command name may hold spaces and parentheses; the fields after its last ")" do not.
  const text = readFileSync(path, "utf8");
  const fields = text.slice(text.lastIndexOf(") ") + 2).split(" ");
  return { user: Number(fields[11]), system: Number(fields[12]) };
}

/** utime and stime of the whole process, every thread included. */
export function processTicks(pid: number): Ticks {
  return statTicks(`/proc/${pid}/stat`);
}

/** utime and stime of the process's main thread alone. */
export function mainThreadTicks(pid: number): Ticks {
  return threadTicks(pid, pid);
}

/** utime and stime of one thread of the process. */
export function threadTicks(pid: number, tid: number | string): Ticks {
  return statTicks(`/proc/${pid}/task/${tid}/stat`);
}

export interface MachineTicks {
  /** user + nice + system + irq + softirq, over all CPUs. */
  readonly busy: number;
  /** idle + iowait, over all CPUs. */
  readonly idle: number;
  /**
   * Time the hypervisor ran something else while this VM had work for a CPU. On a shared host
   * it arrives in bursts that stall whichever process was running: the machine's share of
   * the noise, which no process's own ticks show.
   */
  readonly steal: number;
}

export function machineTicks(): MachineTicks {
  const [user = 0, nice = 0, system = 0, idle = 0, iowait = 0, irq = 0, softirq = 0, steal = 0] = readFileSync("/proc/stat", "utf8")
    .split("\n")[0]!
    .trim()
    .split(/\s+/)
    .slice(1)
    .map(Number);
  return { busy: user + nice + system + irq + softirq, idle: idle + iowait, steal };
}

/** Steal as a percentage of all CPU time between two readings. */
export function stealPercent(from: MachineTicks, to: MachineTicks): number {
  const total = to.busy + to.idle + to.steal - (from.busy + from.idle + from.steal);
  return total <= 0 ? 0 : (100 * (to.steal - from.steal)) / total;
}
