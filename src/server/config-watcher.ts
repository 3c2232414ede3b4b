// Watches the directories holding the config files: editors save by writing a new file and
// renaming it over the old one, and Kubernetes ConfigMap volumes swap a `..data` symlink, and
// both break a watch on the file itself. The files are watched too, re-armed after every
// event: a file bind-mounted on its own (`docker run -v gateway.yaml:/etc/…`) or symlinked
// from another directory changes without any event in the directory the gateway knows.
// Events are debounced; the gateway then compares file contents, so a spurious event costs a
// hash.
import { watch, type FSWatcher } from "node:fs";
import { basename, dirname } from "node:path";
import type { Logger } from "./log.ts";

export class ConfigWatcher {
  readonly #debounceMs: number;
  readonly #onChange: () => void;
  readonly #log: Logger;
  readonly #watchers = new Map<string, FSWatcher>();
  readonly #fileWatchers = new Map<string, FSWatcher>();
  #files: readonly string[] = [];
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
    this.#files = [...files];
    this.#armFiles();
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

  /** A watch on each file itself, anew: one made before a rename-save watches the replaced file. */
  #armFiles(): void {
    for (const watcher of this.#fileWatchers.values()) watcher.close();
    this.#fileWatchers.clear();
    for (const file of this.#files) {
      try {
        const watcher = watch(file, { persistent: false }, () => this.#event(null));
        // A file that went away is the directory watch's to notice.
        watcher.on("error", () => {
          watcher.close();
          this.#fileWatchers.delete(file);
        });
        this.#fileWatchers.set(file, watcher);
      } catch {
        // The file is missing right now (mid-swap); the directory watch still reports it.
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
      if (this.#closed) return;
      this.#armFiles();
      this.#onChange();
    }, this.#debounceMs);
  }

  close(): void {
    this.#closed = true;
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    for (const watcher of [...this.#watchers.values(), ...this.#fileWatchers.values()]) watcher.close();
    this.#watchers.clear();
    this.#fileWatchers.clear();
  }
}
