// Content fingerprint of the config files, so a watch event that changed nothing (a
// touch, an editor's swap-file dance, a ConfigMap symlink flip to identical data) does
// not count as a reload.
import { createHash } from "node:crypto";
import { readFile } from "node:fs/promises";

export async function hashFiles(paths: readonly string[]): Promise<string> {
  const hash = createHash("sha256");
  for (const path of paths) {
    hash.update(path);
    hash.update("\0");
    try {
      hash.update(await readFile(path));
    } catch (error) {
      hash.update(`unreadable:${(error as NodeJS.ErrnoException).code ?? "error"}`);
    }
    hash.update("\0");
  }
  return hash.digest("hex");
}
