// The gateway as the container image and an installed package run it: `bin/tollgate.js`
// loading the compiled `dist/` (see the Dockerfile), not the TypeScript sources through
// Node's type stripping, whose WebAssembly parser stays resident (~30 MB) and which users
// never pay. The bench compiles the current sources into a package layout of its own in its
// work dir (bin/, dist/, config/, package.json, node_modules linked to the checkout's), so a
// stale or concurrently rebuilt `dist/` in the checkout never decides what is measured.
import { spawnSync } from "node:child_process";
import { cpSync, existsSync, mkdirSync, symlinkSync } from "node:fs";
import { join } from "node:path";
import { repoRoot } from "../lib/paths.ts";

/**
 * Compiles src/ into `<dir>/package/dist` and returns the path of that package's `bin/tollgate.js`.
 * `source` is the checkout to compile (default this one), e.g. a git worktree of an older commit
 * to compare against; it runs with this checkout's node_modules.
 */
export function buildPackage(dir: string, source: string = repoRoot): string {
  const pkg = join(dir, "package");
  mkdirSync(pkg, { recursive: true });
  const tsc = join(repoRoot, "node_modules", ".bin", "tsc");
  if (!existsSync(tsc)) throw new Error(`${tsc} is missing: run npm install`);
  const result = spawnSync(tsc, ["-p", join(source, "tsconfig.build.json"), "--outDir", join(pkg, "dist"), "--sourceMap", "false"], {
    cwd: source,
    encoding: "utf8",
    timeout: 180_000,
  });
  if (result.status !== 0) {
    throw new Error(`tsc failed (${result.status ?? result.signal ?? "?"}):\n${(result.stdout + result.stderr).slice(-4000)}`);
  }
  for (const part of ["bin", "config", "package.json"]) cpSync(join(source, part), join(pkg, part), { recursive: true });
  symlinkSync(join(repoRoot, "node_modules"), join(pkg, "node_modules"), "dir");
  return join(pkg, "bin", "tollgate.js");
}
