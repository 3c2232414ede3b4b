// The Dockerfile cannot be built here (no Docker engine), so its promises are checked
// against the code they depend on: Node 24 bases, production-only runtime install, a
// non-root user, the config path and ports the gateway really uses, an entrypoint that is
// the package's bin, and a .dockerignore that keeps every file the build needs.
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { describe, it } from "node:test";
import { loadConfigFile } from "../../src/config/load.ts";
import { DEFAULTS, ENV, parseHostPort } from "../../src/server/settings.ts";

const REPO = new URL("../../", import.meta.url).pathname;
// A CommonJS factory whose typings declare an ES default export; require() gets the factory itself.
const dockerignore = createRequire(import.meta.url)("@balena/dockerignore") as typeof import("@balena/dockerignore").default;
const dockerfile = readFileSync(`${REPO}Dockerfile`, "utf8");

interface Instruction {
  readonly op: string;
  readonly args: string;
}

/** Instructions with line continuations joined and comments dropped, split into stages. */
function stages(): Instruction[][] {
  const logical = dockerfile
    .replace(/\\\n/g, " ")
    .split("\n")
    .map((l) => l.trim())
    .filter((l) => l !== "" && !l.startsWith("#"));
  const out: Instruction[][] = [[]];
  for (const line of logical) {
    const [op = "", ...rest] = line.split(/\s+/);
    const instruction = { op: op.toUpperCase(), args: rest.join(" ") };
    if (instruction.op === "FROM") out.push([]);
    out.at(-1)!.push(instruction);
  }
  return out;
}

const all = stages();
const globalArgs = new Map(all[0]!.filter((i) => i.op === "ARG").map((i) => i.args.split("=") as [string, string]));
const byName = new Map(all.slice(1).map((s) => [/\bAS\s+(\S+)/i.exec(s[0]!.args)?.[1] ?? "final", s]));
const final = all.at(-1)!;
const args = (stage: readonly Instruction[], op: string): string[] => stage.filter((i) => i.op === op).map((i) => i.args);

describe("Dockerfile", () => {
  it("builds on Node 24 images in separate build, production-dependency and runtime stages", () => {
    assert.deepEqual([...byName.keys()], ["build", "runtime-deps", "final"]);
    assert.match(globalArgs.get("NODE_IMAGE") ?? "", /^node:24[-.]/);
    assert.match(globalArgs.get("RUNTIME_IMAGE") ?? "", /nodejs24/);
    const build = byName.get("build")!;
    assert.ok(args(build, "RUN").some((r) => r.includes("npm ci") && !r.includes("--omit=dev")), "the build stage has dev dependencies");
    assert.ok(args(build, "RUN").some((r) => r.includes("npm run build") && r.includes("npm pack")));
    const deps = byName.get("runtime-deps")!;
    assert.ok(args(deps, "RUN").some((r) => r.includes("npm ci --omit=dev")));
    assert.ok(args(final, "RUN").length === 0, "nothing runs in the distroless stage (it has no shell)");
  });

  it("runs as a non-root user with the config at /etc/tollgate/gateway.yaml and the ops port open to probes", () => {
    const user = args(final, "USER").at(-1) ?? "";
    assert.match(user, /^[1-9]\d*(:[1-9]\d*)?$/, `numeric non-root USER, got ${user}`);
    const env = args(final, "ENV").join(" ");
    assert.match(env, new RegExp(`\\b${ENV.config}=/etc/tollgate/gateway\\.yaml\\b`));
    const ops = /TOLLGATE_OPS_ADDR=(\S+)/.exec(env)?.[1] ?? DEFAULTS.opsAddr;
    assert.equal(parseHostPort(ops, ENV.opsAddr).host, "0.0.0.0");
    assert.ok(args(final, "COPY").some((c) => c.includes("config/gateway.yaml /etc/tollgate/gateway.yaml")));
    assert.ok(existsSync(`${REPO}config/gateway.yaml`));
  });

  it("exposes the default config's listener ports, the ops port and the admin port", async () => {
    const loaded = await loadConfigFile(`${REPO}config/gateway.yaml`);
    assert.ok(loaded.config);
    const listenerPorts = loaded.config.gateways.flatMap((g) => g.listeners.map((l) => l.port));
    const exposed = args(final, "EXPOSE").flatMap((e) => e.split(/\s+/)).map((p) => Number(p.replace(/\/tcp$/, "")));
    const expected = [...listenerPorts, parseHostPort(DEFAULTS.opsAddr, ENV.opsAddr).port, parseHostPort(DEFAULTS.adminAddr, ENV.adminAddr).port];
    assert.deepEqual([...new Set(exposed)].sort(), [...new Set(expected)].sort());
  });

  it("starts the package's bin with node as PID 1", () => {
    const pkg = JSON.parse(readFileSync(`${REPO}package.json`, "utf8")) as { bin: Record<string, string> };
    const entry = JSON.parse(args(final, "ENTRYPOINT").at(-1) ?? "[]") as string[];
    assert.equal(entry[0], "/nodejs/bin/node", "exec form: node itself is PID 1 and receives SIGTERM");
    assert.equal(entry[1], `/opt/tollgate/${(pkg.bin["tollgate"] ?? "").replace(/^\.\//, "")}`);
    assert.deepEqual(JSON.parse(args(final, "CMD").at(-1) ?? "[]"), ["run"]);
  });

  it("has a .dockerignore that keeps everything npm ci, the build and npm pack read", () => {
    // Docker's own pattern semantics (a port of its Go matcher), applied to the repository's files.
    const context = dockerignore().add(readFileSync(`${REPO}.dockerignore`, "utf8"));
    const pkg = JSON.parse(readFileSync(`${REPO}package.json`, "utf8")) as { files: string[] };
    const tsconfigBuild = JSON.parse(readFileSync(`${REPO}tsconfig.build.json`, "utf8")) as { include: string[]; extends: string };
    const neededRoots = [
      "package.json",
      "package-lock.json",
      "tsconfig.build.json",
      tsconfigBuild.extends.replace(/^\.\//, ""),
      ...tsconfigBuild.include.map((p) => p.split("/")[0] ?? p),
      ...pkg.files.map((f) => f.replace(/\/$/, "")).filter((f) => f !== "dist"),
    ];
    const tracked = execFileSync("git", ["ls-files"], { cwd: REPO, encoding: "utf8" }).split("\n").filter((f) => f !== "");
    const needed = tracked.filter((f) => neededRoots.some((root) => f === root || f.startsWith(`${root}/`)));
    assert.ok(needed.some((f) => f.startsWith("src/")) && needed.includes("package-lock.json"), `the needed files were found: ${needed.length}`);
    const dropped = needed.filter((f) => context.ignores(f));
    assert.deepEqual(dropped, [], "files npm ci, the build or npm pack read must reach the build context");
    for (const heavy of ["node_modules/undici/package.json", "dist/src/cli/main.js", ".git/HEAD", "test/package/dockerfile.test.ts", "bench/README.md"]) {
      assert.ok(context.ignores(heavy), `${heavy} stays out of the build context`);
    }
  });
});
