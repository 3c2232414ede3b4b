// Reads deploy/kubernetes/*.yaml with the `yaml` package and exposes the objects the
// manifest tests check, failing loudly on YAML errors or a missing kind.
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { parseAllDocuments } from "yaml";

export const KUBE_DIR = new URL("../../deploy/kubernetes/", import.meta.url).pathname;

export type Obj = Record<string, unknown>;

export interface Manifest {
  readonly file: string;
  readonly object: Obj;
}

export function readManifests(): Manifest[] {
  const out: Manifest[] = [];
  for (const file of readdirSync(KUBE_DIR).filter((f) => f.endsWith(".yaml")).sort()) {
    const text = readFileSync(join(KUBE_DIR, file), "utf8");
    for (const doc of parseAllDocuments(text, { prettyErrors: true })) {
      if (doc.errors.length > 0) throw new Error(`${file}: ${doc.errors.map((e) => e.message).join("; ")}`);
      const value: unknown = doc.toJS();
      if (value === null || value === undefined) continue;
      out.push({ file, object: asObj(value, file) });
    }
  }
  return out;
}

export function byKind(manifests: readonly Manifest[], kind: string): Obj {
  const found = manifests.filter((m) => m.object["kind"] === kind);
  if (found.length !== 1) throw new Error(`expected exactly one ${kind}, found ${found.length}`);
  return found[0]!.object;
}

export function asObj(value: unknown, what: string): Obj {
  if (typeof value !== "object" || value === null || Array.isArray(value)) throw new Error(`${what}: expected a mapping`);
  return value as Obj;
}

export function asArr(value: unknown, what: string): unknown[] {
  if (!Array.isArray(value)) throw new Error(`${what}: expected a list`);
  return value;
}

/** Follows a dotted path of mapping keys, failing with the path when one is missing. */
export function at(root: Obj, path: string): unknown {
  let cur: unknown = root;
  for (const key of path.split(".")) {
    cur = asObj(cur, path)[key];
    if (cur === undefined) throw new Error(`missing ${path} (at ${key})`);
  }
  return cur;
}

export function str(root: Obj, path: string): string {
  const v = at(root, path);
  if (typeof v !== "string") throw new Error(`${path}: expected a string, got ${JSON.stringify(v)}`);
  return v;
}

/** Kubernetes CPU quantity ("2", "1500m", 0.5) in CPUs. */
export function cpuQuantity(value: unknown): number {
  const text = String(value);
  const m = /^(\d+(?:\.\d+)?)(m?)$/.exec(text);
  if (m === null) throw new Error(`not a CPU quantity: ${text}`);
  return m[2] === "m" ? Number(m[1]) / 1000 : Number(m[1]);
}
