// Watches the directories holding the config files, not the files: editors save by
// writing a new file and renaming it over the old one, and Kubernetes ConfigMap volumes
// swap a `..data` symlink, and both break a watch on the file itself. Events are
// debounced; the gateway then compares file contents, so a spurious event costs a hash.
import { watch, type FSWatcher } from "node:fs";
import { basename, dirname } from "node:path";
import type { Logger } from "./log.ts";

export class ConfigWatcher {
  readonly #debounceMs: number;
  readonly #onChange: () => void;
  readonly #log: Logger;
  readonly #watchers = new Map<string, FSWatcher>();
  #names = new Set<string>();
  #timer: NodeJS.Timeout | undefined;
  #closed = false;

  constructor(debounceMs: number, onChange: () => void, log: Logger) {
    this.#debounceMs = debounceMs;
    this.#onChange = onChange;
    this.#log = log;
  }

  /** Watch exactly the directories of `files` (call again after a reload changes the set). */
  update(files: readonly string[]): void {
    if (this.#closed) return;
    const dirs = new Set(files.map((f) => dirname(f)));
    this.#names = new Set(files.map((f) => basename(f)));
    for (const [dir, watcher] of this.#watchers) {
      if (!dirs.has(dir)) {
        watcher.close();
        this.#watchers.delete(dir);
      }
    }
    for (const dir of dirs) {
      if (this.#watchers.has(dir)) continue;
      try {
        const watcher = watch(dir, { persistent: false }, (_event, filename) => this.#event(filename));
        watcher.on("error", (error) => {
          this.#log.warn("config watch failed; reload with SIGHUP instead", { dir, error });
          watcher.close();
          this.#watchers.delete(dir);
        });
        this.#watchers.set(dir, watcher);
      } catch (error) {
        this.#log.warn("cannot watch the config directory; reload with SIGHUP instead", { dir, error });
      }
    }
  }

  #event(filename: string | Buffer | null): void {
    const name = filename === null ? undefined : filename.toString();
    // Kubernetes projects ConfigMaps through `..data`/`..TIMESTAMP` entries; take those too.
    if (name !== undefined && !this.#names.has(name) && !name.startsWith("..")) return;
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      if (!this.#closed) this.#onChange();
    }, this.#debounceMs);
  }

  close(): void {
    this.#closed = true;
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    for (const watcher of this.#watchers.values()) watcher.close();
    this.#watchers.clear();
  }
}
