// Reads a V8 .cpuprofile (what node --cpu-prof writes) and ranks functions and packages by
// self time, so a profile can be read in a terminal without DevTools.
import { readFileSync } from "node:fs";

export interface CallFrame {
  readonly functionName: string;
  readonly url: string;
  readonly lineNumber: number;
  readonly columnNumber: number;
}
export interface ProfileNode {
  readonly id: number;
  readonly callFrame: CallFrame;
  readonly children?: readonly number[];
}
export interface CpuProfile {
  readonly nodes: readonly ProfileNode[];
  readonly startTime: number;
  readonly endTime: number;
  readonly samples?: readonly number[];
  readonly timeDeltas?: readonly number[];
}

export interface SelfTime {
  readonly name: string;
  readonly where: string;
  readonly group: string;
  readonly ms: number;
  readonly percent: number;
  /** For native frames and Node's own modules, the nearest calling library or src/ function (top 3). */
  readonly callers: readonly { readonly name: string; readonly where: string; readonly percent: number }[];
}

export interface ProfileSummary {
  readonly totalMs: number;
  /** Share of samples not idle: how busy the process was. */
  readonly busyPercent: number;
  readonly functions: readonly SelfTime[];
  readonly groups: readonly { readonly group: string; readonly ms: number; readonly percent: number }[];
}

export function summarizeProfile(file: string, repoRoot: string): ProfileSummary {
  const profile = JSON.parse(readFileSync(file, "utf8")) as CpuProfile;
  const byId = new Map<number, ProfileNode>();
  for (const node of profile.nodes) byId.set(node.id, node);
  const samples = profile.samples ?? [];
  const deltas = profile.timeDeltas ?? [];
  // A sample lasts until the next one is taken (DevTools' reading); the last gets the mean.
  const selfUs = new Map<number, number>();
  let totalUs = 0;
  const meanDelta = samples.length > 0 ? (profile.endTime - profile.startTime) / samples.length : 0;
  for (let i = 0; i < samples.length; i++) {
    const duration = i + 1 < deltas.length ? (deltas[i + 1] as number) : meanDelta;
    const id = samples[i] as number;
    selfUs.set(id, (selfUs.get(id) ?? 0) + duration);
    totalUs += duration;
  }

  const parentOf = new Map<number, number>();
  for (const node of profile.nodes) for (const child of node.children ?? []) parentOf.set(child, node.id);
  const label = (frame: CallFrame): { name: string; where: string } => ({
    name: frame.functionName === "" ? "(anonymous)" : frame.functionName,
    where: frame.url === "" ? "" : `${shortUrl(frame.url, repoRoot)}:${frame.lineNumber + 1}`,
  });
  // The nearest ancestor outside Node's own modules: which library or area asked for the work.
  const jsCaller = (id: number): { name: string; where: string } | undefined => {
    let current = parentOf.get(id);
    while (current !== undefined) {
      const frame = byId.get(current)?.callFrame;
      if (frame !== undefined && frame.url !== "" && !frame.url.startsWith("node:")) return label(frame);
      current = parentOf.get(current);
    }
    return undefined;
  };

  const functions = new Map<string, { name: string; where: string; group: string; us: number; callers: Map<string, number> }>();
  const groups = new Map<string, number>();
  let idleUs = 0;
  for (const [id, us] of selfUs) {
    const frame = byId.get(id)?.callFrame;
    if (frame === undefined) continue;
    const { name, where } = label(frame);
    if (name === "(idle)") idleUs += us;
    const group = groupOf(name, frame.url, repoRoot);
    const key = `${name}@${where}`;
    const entry = functions.get(key) ?? { name, where, group, us: 0, callers: new Map<string, number>() };
    entry.us += us;
    if ((frame.url === "" || frame.url.startsWith("node:")) && !name.startsWith("(")) {
      const caller = jsCaller(id);
      if (caller !== undefined) {
        const callerKey = `${caller.name}\u0000${caller.where}`;
        entry.callers.set(callerKey, (entry.callers.get(callerKey) ?? 0) + us);
      }
    }
    functions.set(key, entry);
    groups.set(group, (groups.get(group) ?? 0) + us);
  }
  const pct = (us: number): number => (totalUs > 0 ? (100 * us) / totalUs : 0);
  return {
    totalMs: totalUs / 1000,
    busyPercent: pct(totalUs - idleUs),
    functions: [...functions.values()]
      .sort((a, b) => b.us - a.us)
      .map((f) => ({
        name: f.name,
        where: f.where,
        group: f.group,
        ms: f.us / 1000,
        percent: pct(f.us),
        callers: [...f.callers.entries()]
          .sort((a, b) => b[1] - a[1])
          .slice(0, 3)
          .map(([key, us]) => {
            const [name = "", where = ""] = key.split("\u0000");
            return { name, where, percent: pct(us) };
          }),
      })),
    groups: [...groups.entries()].sort((a, b) => b[1] - a[1]).map(([group, us]) => ({ group, ms: us / 1000, percent: pct(us) })),
  };
}

export function shortUrl(url: string, repoRoot: string): string {
  const path = url.startsWith("file://") ? decodeURIComponent(url.slice("file://".length)) : url;
  const nm = path.lastIndexOf("/node_modules/");
  if (nm >= 0) return path.slice(nm + "/node_modules/".length);
  return path.startsWith(repoRoot) ? path.slice(repoRoot.length) : path;
}

/** Where the time went at a glance: a package, a node: module, a src/ area, or V8 itself. */
function groupOf(name: string, url: string, repoRoot: string): string {
  if (url === "") return name.startsWith("(") ? name : "(native)";
  if (url.startsWith("node:")) return url.split("/")[0] === "node:internal" ? `node:internal/${url.split("/")[1] ?? ""}` : url;
  const short = shortUrl(url, repoRoot);
  if (url.includes("/node_modules/")) {
    const parts = short.split("/");
    return (parts[0] ?? "").startsWith("@") ? `${parts[0]}/${parts[1]}` : (parts[0] ?? short);
  }
  const parts = short.split("/");
  return parts[0] === "src" && parts.length > 2 ? `src/${parts[1]}` : short;
}

export function formatSummary(summary: ProfileSummary, top: number): string {
  const lines: string[] = [];
  lines.push(`profile: ${summary.totalMs.toFixed(0)} ms sampled, ${summary.busyPercent.toFixed(1)}% busy`);
  lines.push("", `top ${top} functions by self time:`);
  lines.push("  self ms   self %  function  (where)  [group]");
  for (const f of summary.functions.slice(0, top)) {
    lines.push(`  ${f.ms.toFixed(1).padStart(7)}  ${f.percent.toFixed(2).padStart(6)}%  ${f.name}  (${f.where || "native"})  [${f.group}]`);
    for (const c of f.callers) lines.push(`                      ${c.percent.toFixed(2).padStart(6)}%  from ${c.name} (${c.where})`);
  }
  lines.push("", "self time by package / area:");
  for (const g of summary.groups.slice(0, 20)) {
    lines.push(`  ${g.ms.toFixed(1).padStart(7)}  ${g.percent.toFixed(2).padStart(6)}%  ${g.group}`);
  }
  return lines.join("\n");
}
