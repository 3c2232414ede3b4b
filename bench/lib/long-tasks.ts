// Long tasks in a V8 .cpuprofile: stretches of consecutive busy (not idle) samples, i.e.
// times the event loop could not answer a request. A fixed-rate p99 is made of them, so
// they say what a latency run is waiting on where self time over the whole run does not.
import { readFileSync } from "node:fs";
import type { CallFrame as Frame, CpuProfile as Profile } from "./cpuprofile.ts";

export interface LongTaskSummary {
  readonly minMs: number;
  readonly count: number;
  readonly totalMs: number;
  readonly windowMs: number;
  readonly longestMs: readonly number[];
  /** Time inside long tasks by the user-land function that started the task (the outermost frame outside node:). */
  readonly byEntry: readonly { readonly name: string; readonly ms: number }[];
  /** Time inside long tasks by the leaf function. */
  readonly bySelf: readonly { readonly name: string; readonly ms: number }[];
}

/** Which part of the profile to read: from `fromEndMs` to `toEndMs` before its end (start-up and the drain left out). */
export interface ProfileWindow {
  readonly fromEndMs: number;
  readonly toEndMs: number;
}

export function longTasks(file: string, minMs: number, window: ProfileWindow, shorten: (url: string) => string): LongTaskSummary {
  const profile = JSON.parse(readFileSync(file, "utf8")) as Profile;
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const parentOf = new Map<number, number>();
  for (const n of profile.nodes) for (const c of n.children ?? []) parentOf.set(c, n.id);
  const samples = profile.samples ?? [];
  const deltas = profile.timeDeltas ?? [];
  const label = (f: Frame): string => `${f.functionName || "(anonymous)"}${f.url === "" ? "" : ` (${shorten(f.url)}:${f.lineNumber + 1})`}`;
  const entryOf = (id: number): string => {
    let outermost: Frame | undefined;
    for (let at: number | undefined = id; at !== undefined; at = parentOf.get(at)) {
      const f = byId.get(at)?.callFrame;
      if (f !== undefined && f.url !== "" && !f.url.startsWith("node:")) outermost = f;
    }
    const leaf = byId.get(id)!.callFrame;
    return outermost === undefined ? `${leaf.functionName} (no user-land frame)` : label(outermost);
  };

  const byEntry = new Map<string, number>();
  const bySelf = new Map<string, number>();
  const lengths: number[] = [];
  let run: { id: number; us: number }[] = [];
  const close = (): void => {
    const us = run.reduce((sum, s) => sum + s.us, 0);
    if (us >= minMs * 1000) {
      lengths.push(us / 1000);
      for (const s of run) {
        const entry = entryOf(s.id);
        byEntry.set(entry, (byEntry.get(entry) ?? 0) + s.us);
        const self = label(byId.get(s.id)!.callFrame);
        bySelf.set(self, (bySelf.get(self) ?? 0) + s.us);
      }
    }
    run = [];
  };
  const fromUs = profile.endTime - window.fromEndMs * 1000;
  const toUs = profile.endTime - window.toEndMs * 1000;
  let at = profile.startTime;
  for (let i = 0; i < samples.length; i++) {
    at += deltas[i] ?? 0;
    if (at < fromUs || at > toUs) continue;
    const id = samples[i]!;
    const us = i + 1 < deltas.length ? deltas[i + 1]! : 0;
    if (byId.get(id)?.callFrame.functionName === "(idle)") close();
    else run.push({ id, us });
  }
  close();
  const ranked = (m: Map<string, number>) => [...m].sort((a, b) => b[1] - a[1]).map(([name, us]) => ({ name, ms: us / 1000 }));
  return {
    minMs,
    count: lengths.length,
    totalMs: lengths.reduce((a, b) => a + b, 0),
    windowMs: window.fromEndMs - window.toEndMs,
    longestMs: [...lengths].sort((a, b) => b - a).slice(0, 10),
    byEntry: ranked(byEntry),
    bySelf: ranked(bySelf),
  };
}

export function formatLongTasks(s: LongTaskSummary, top: number): string {
  const lines = [
    `long tasks (busy stretches of ${s.minMs} ms or more): ${s.count} in ${(s.windowMs / 1000).toFixed(1)} s of load, ${s.totalMs.toFixed(1)} ms in all; longest ${s.longestMs.map((ms) => ms.toFixed(1)).join(", ")} ms`,
    "",
    "time in long tasks by the user-land function that started them:",
    ...s.byEntry.slice(0, top).map((e) => `  ${e.ms.toFixed(1).padStart(7)} ms  ${e.name}`),
    "",
    "time in long tasks by leaf function:",
    ...s.bySelf.slice(0, top).map((e) => `  ${e.ms.toFixed(1).padStart(7)} ms  ${e.name}`),
  ];
  return lines.join("\n");
}
