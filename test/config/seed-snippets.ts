// Extracts YAML snippets verbatim from the seed documents at test time, so the tests load
// exactly what users copy from them: `kubectl apply -f- <<EOF ... EOF` heredocs, fenced
// ```yaml blocks that are not shell commands, and (seed 002) bare YAML in prose.
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";

export const SEEDS_DIR = fileURLToPath(new URL("../../../shared/seeds/", import.meta.url));

export interface Snippet {
  readonly seed: string;
  /** 1-based line in the seed where the YAML starts. */
  readonly line: number;
  readonly text: string;
}

function dedent(lines: readonly string[]): string {
  const indents = lines.filter((l) => l.trim() !== "").map((l) => l.length - l.trimStart().length);
  const cut = indents.length === 0 ? 0 : Math.min(...indents);
  return lines.map((l) => l.slice(cut)).join("\n") + "\n";
}

export function seedSnippets(seed: string): Snippet[] {
  const lines = readFileSync(SEEDS_DIR + seed, "utf8").split("\n");
  const out: Snippet[] = [];
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!;
    if (/kubectl apply -f-? *<<EOF\s*$/.test(line)) {
      const start = i + 1;
      let end = start;
      while (end < lines.length && lines[end]!.trim() !== "EOF") end++;
      out.push({ seed, line: start + 1, text: dedent(lines.slice(start, end)) });
      i = end;
      continue;
    }
    const fence = /^(\s*)```yaml\s*$/.exec(line);
    if (fence) {
      const start = i + 1;
      let end = start;
      while (end < lines.length && lines[end]!.trim() !== "```") end++;
      const body = lines.slice(start, end);
      // Fences holding shell commands are scanned line by line for their heredocs instead.
      if (body.some((l) => /^\s*(helm|kubectl) /.test(l))) continue;
      out.push({ seed, line: start + 1, text: dedent(body) });
      i = end;
      continue;
    }
    if (/^apiVersion: \S+$/.test(line) && (i === 0 || lines[i - 1]!.trim() === "")) {
      // Bare YAML in prose: runs while lines are YAML-looking (indented, comments, `key:`, blank).
      const start = i;
      let end = start;
      while (end < lines.length && (lines[end]!.trim() === "" || /^\s/.test(lines[end]!) || /^#/.test(lines[end]!) || /^[A-Za-z]+:/.test(lines[end]!))) end++;
      while (end > start && lines[end - 1]!.trim() === "") end--;
      out.push({ seed, line: start + 1, text: dedent(lines.slice(start, end)) });
      i = end;
    }
  }
  return out;
}

/** The snippets of a seed containing every needle; throws unless exactly `count` match. */
export function snippetsWith(seed: string, needles: readonly string[], count = 1): string[] {
  const found = seedSnippets(seed).filter((s) => needles.every((n) => s.text.includes(n)));
  if (found.length !== count) throw new Error(`${seed}: expected ${count} snippet(s) containing ${JSON.stringify(needles)}, found ${found.length}`);
  return found.map((s) => s.text);
}

export function snippetWith(seed: string, ...needles: string[]): string {
  return snippetsWith(seed, needles, 1)[0]!;
}
