// Resident memory of a process by mapping, from /proc/PID/smaps: the node binary's file
// pages, other files, the brk heap (glibc's main malloc arena) and anonymous mappings by
// size (V8 reserves its heap in large aligned regions; glibc gives each thread arena a
// 64 MB reservation), so "where is the RSS that the JS heap does not explain" has an answer.
import { readFileSync } from "node:fs";

export interface MappingGroup {
  readonly name: string;
  readonly maps: number;
  readonly rssKiB: number;
}

export function smapsGroups(pid: number): MappingGroup[] {
  const groups = new Map<string, { maps: number; rssKiB: number }>();
  let current: string | undefined;
  for (const line of readFileSync(`/proc/${pid}/smaps`, "utf8").split("\n")) {
    const header = /^([0-9a-f]+)-([0-9a-f]+) \S+ \S+ \S+ \S+\s*(.*)$/.exec(line);
    if (header !== null) {
      const sizeKiB = (parseInt(header[2] as string, 16) - parseInt(header[1] as string, 16)) / 1024;
      const path = (header[3] as string).trim();
      current = path !== "" ? (path.startsWith("/") ? `file ${path.slice(path.lastIndexOf("/") + 1)}` : path) : `anon ${sizeBucket(sizeKiB)}`;
      const g = groups.get(current) ?? { maps: 0, rssKiB: 0 };
      g.maps++;
      groups.set(current, g);
      continue;
    }
    if (current !== undefined && line.startsWith("Rss:")) {
      (groups.get(current) as { rssKiB: number }).rssKiB += Number(line.slice(4).trim().split(" ")[0]);
    }
  }
  return [...groups.entries()].map(([name, g]) => ({ name, ...g })).sort((a, b) => b.rssKiB - a.rssKiB);
}

function sizeBucket(kib: number): string {
  if (kib <= 1024) return "≤1 MiB";
  if (kib <= 16 * 1024) return "1-16 MiB";
  if (kib <= 64 * 1024) return "16-64 MiB";
  return ">64 MiB";
}
