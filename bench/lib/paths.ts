// Where things live: the repo root, the pinned Node binary every child runs on, the
// results directory. Children always run on the pinned Node so numbers do not depend on
// whichever `node` happens to be first on PATH.
import { existsSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

export const repoRoot = fileURLToPath(new URL("../../", import.meta.url));
export const benchDir = join(repoRoot, "bench");
export const resultsDir = join(benchDir, "results");
export const serversDir = join(benchDir, "servers");

export function pinnedNode(): string {
  const pinned = join(repoRoot, "node_modules", ".bin", "node");
  return existsSync(pinned) ? pinned : process.execPath;
}

export const tollgateCli = join(repoRoot, "src", "cli", "main.ts");
export const routerBench = join(benchDir, "router.bench.ts");
