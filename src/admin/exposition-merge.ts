// With --workers, each worker owns its instruments and the primary serves /metrics. The
// primary merges the workers' expositions into one: each family appears once, and every
// sample gains a `worker_id` label so series from different workers never collide.
import { escapeLabelValue } from "./metrics-endpoint.ts";

export interface LabelledExposition {
  /** undefined: samples are taken as they are (the primary's own families). */
  readonly labelValue: string | undefined;
  readonly body: string;
}

interface FamilyBlock {
  readonly metadata: string[];
  readonly samples: string[];
}

export function mergeExpositions(parts: readonly LabelledExposition[], labelName: string, openMetrics: boolean): string {
  const families = new Map<string, FamilyBlock>();
  for (const part of parts) {
    const label = part.labelValue === undefined ? undefined : `${labelName}="${escapeLabelValue(part.labelValue)}"`;
    const seenMetadata = new Set<string>();
    let current: string | undefined;
    for (const line of part.body.split("\n")) {
      if (line === "" || line === "# EOF") continue;
      if (line.startsWith("#")) {
        const meta = /^# (HELP|TYPE|UNIT) (\S+)/.exec(line);
        if (meta === null) continue;
        const name = meta[2] ?? "";
        current = name;
        const block = familyBlock(families, name);
        // Metadata comes from the first worker that reports the family.
        const key = `${meta[1]} ${name}`;
        if (!seenMetadata.has(key)) {
          seenMetadata.add(key);
          if (!block.metadata.some((m) => m.startsWith(`# ${meta[1]} ${name} `) || m === `# ${meta[1]} ${name}`)) {
            block.metadata.push(line);
          }
        }
        continue;
      }
      const nameEnd = sampleNameEnd(line);
      const sampleName = line.slice(0, nameEnd);
      const family = current !== undefined && sampleName.startsWith(current) ? current : sampleName;
      familyBlock(families, family).samples.push(withLabel(line, nameEnd, label));
    }
  }
  const out: string[] = [];
  for (const block of families.values()) out.push(...block.metadata, ...block.samples);
  if (openMetrics) out.push("# EOF");
  return out.join("\n") + "\n";
}

function familyBlock(families: Map<string, FamilyBlock>, name: string): FamilyBlock {
  let block = families.get(name);
  if (block === undefined) {
    block = { metadata: [], samples: [] };
    families.set(name, block);
  }
  return block;
}

function sampleNameEnd(line: string): number {
  for (let i = 0; i < line.length; i++) {
    const c = line[i];
    if (c === "{" || c === " " || c === "\t") return i;
  }
  return line.length;
}

function withLabel(line: string, nameEnd: number, label: string | undefined): string {
  if (label === undefined) return line;
  if (line[nameEnd] === "{") {
    const separator = line[nameEnd + 1] === "}" ? "" : ",";
    return `${line.slice(0, nameEnd + 1)}${label}${separator}${line.slice(nameEnd + 1)}`;
  }
  return `${line.slice(0, nameEnd)}{${label}}${line.slice(nameEnd)}`;
}
