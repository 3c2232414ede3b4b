// `tollgate run` sizes V8's heap by restarting itself once with --max-semi-space-size,
// --heap-growing-percent and, when V8's own limit is higher, --max-old-space-size, each unless
// the user already set it.
import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { after, before, describe, it } from "node:test";
import { HEAP_GROWING_PERCENT, OLD_SPACE_MB, SEMI_SPACE_MB, heapFlags, heapGrowthConfigured, oldGenerationConfigured, oldSpaceCapMB, youngGenerationConfigured } from "../../src/cli/young-generation.ts";
import { REPO_ROOT } from "../support/gateway-process.ts";

describe("youngGenerationConfigured", () => {
  it("sees the size in node flags and in NODE_OPTIONS, with dashes or underscores", () => {
    assert.equal(youngGenerationConfigured(["--max-semi-space-size=32"], undefined), true);
    assert.equal(youngGenerationConfigured(["--max_semi_space_size=32"], undefined), true);
    assert.equal(youngGenerationConfigured([], "--trace-gc --max-semi-space-size=4"), true);
    assert.equal(youngGenerationConfigured(["--semi-space-growth-factor=1"], ""), true);
  });
  it("ignores other flags", () => {
    assert.equal(youngGenerationConfigured(["--cpu-prof", "--max-old-space-size=512"], "--enable-source-maps"), false);
    assert.equal(youngGenerationConfigured([], undefined), false);
  });
});

describe("oldGenerationConfigured", () => {
  it("sees --max-old-space-size and --max-heap-size in node flags and NODE_OPTIONS", () => {
    assert.equal(oldGenerationConfigured(["--max-old-space-size=4096"], undefined), true);
    assert.equal(oldGenerationConfigured(["--max_old_space_size=4096"], undefined), true);
    assert.equal(oldGenerationConfigured([], "--max-heap-size=2048"), true);
    assert.equal(oldGenerationConfigured(["--max-semi-space-size=8"], "--trace-gc"), false);
  });
});

describe("heapGrowthConfigured", () => {
  it("sees --heap-growing-percent in node flags, with dashes or underscores", () => {
    assert.equal(heapGrowthConfigured(["--heap-growing-percent=50"]), true);
    assert.equal(heapGrowthConfigured(["--trace-gc", "--heap_growing_percent=0"]), true);
    assert.equal(heapGrowthConfigured(["--max-old-space-size=512", "--max-semi-space-size=4"]), false);
  });
});

describe("oldSpaceCapMB", () => {
  const MB = 2 ** 20;
  it("caps a large host's limit at OLD_SPACE_MB", () => {
    assert.equal(oldSpaceCapMB(4144 * MB, SEMI_SPACE_MB), OLD_SPACE_MB);
  });
  it("never raises a lower limit (a small container's)", () => {
    assert.equal(oldSpaceCapMB(536 * MB, SEMI_SPACE_MB), undefined);
    assert.equal(oldSpaceCapMB((OLD_SPACE_MB + 3 * SEMI_SPACE_MB) * MB, SEMI_SPACE_MB), undefined);
  });
});

describe("heapFlags", () => {
  const large = 4144 * 2 ** 20;
  const semi = `--max-semi-space-size=${SEMI_SPACE_MB}`;
  const old = `--max-old-space-size=${OLD_SPACE_MB}`;
  const growth = `--heap-growing-percent=${HEAP_GROWING_PERCENT}`;
  it("adds all three on a large host when the user set none", () => {
    assert.deepEqual(heapFlags([], undefined, large), [semi, old, growth]);
  });
  it("leaves out the old-space cap when V8's own limit is already lower, but not the growth factor", () => {
    assert.deepEqual(heapFlags([], undefined, 280 * 2 ** 20), [semi, growth]);
  });
  it("leaves out each one the user set, by flag or NODE_OPTIONS", () => {
    assert.deepEqual(heapFlags(["--max-old-space-size=4096"], undefined, large), [semi, growth]);
    assert.deepEqual(heapFlags([], "--max-semi-space-size=16", large), [old, growth]);
    assert.deepEqual(heapFlags(["--heap-growing-percent=30"], undefined, large), [semi, old]);
    assert.deepEqual(heapFlags(["--max-semi-space-size=16", "--heap-growing-percent=30"], "--max-heap-size=512", large), []);
  });
});

describe("capYoungGeneration", () => {
  it("runs where the re-exec it needs exists: the pinned Node on Linux has process.execve", () => {
    // The suite runs on the pinned Node 24 on Linux only, as the image does; a runtime
    // without execve would silently keep the default young generation, so it fails here.
    assert.equal(process.platform, "linux");
    assert.equal(typeof process.execve, "function");
  });

  let dir = "";
  let script = "";
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), "tollgate-young-"));
    script = join(dir, "probe.mjs");
    const module = pathToFileURL(join(REPO_ROOT, "src/cli/young-generation.ts")).href;
    await writeFile(
      script,
      `const { capYoungGeneration } = await import(${JSON.stringify(module)});\n` +
        `capYoungGeneration();\n` +
        `const { getHeapStatistics } = await import("node:v8");\n` +
        `process.stdout.write(JSON.stringify({ pid: process.pid, execArgv: process.execArgv, args: process.argv.slice(2), heapLimit: getHeapStatistics().heap_size_limit }));\n`,
    );
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  interface Probe {
    pid: number;
    childPid: number;
    execArgv: string[];
    args: string[];
    heapLimit: number;
  }
  function probe(nodeArgs: readonly string[], env: Record<string, string | undefined>): Promise<Probe> {
    return new Promise((resolve, reject) => {
      const child = spawn(process.execPath, [...nodeArgs, script, "run", "--config", "x.yaml"], { env: { ...process.env, ...env }, stdio: ["ignore", "pipe", "inherit"] });
      let out = "";
      child.stdout.setEncoding("utf8").on("data", (c: string) => (out += c));
      child.once("error", reject);
      child.once("close", (code) => {
        if (code !== 0) return reject(new Error(`probe exited ${code}: ${out}`));
        resolve({ ...(JSON.parse(out) as Omit<Probe, "childPid">), childPid: child.pid! });
      });
    });
  }

  it("restarts the same process with the caps, keeping flags and arguments", async () => {
    const result = await probe(["--no-warnings"], { NODE_OPTIONS: undefined });
    assert.equal(result.pid, result.childPid, "execve keeps the pid");
    // What the cap adds depends on this host's memory: the same function decides it here.
    const v8Default = spawnSync(process.execPath, [`--max-semi-space-size=${SEMI_SPACE_MB}`, "-p", "require('node:v8').getHeapStatistics().heap_size_limit"], {
      env: { ...process.env, NODE_OPTIONS: undefined },
      encoding: "utf8",
    });
    const expectedOld = oldSpaceCapMB(Number(v8Default.stdout.trim()), SEMI_SPACE_MB);
    assert.deepEqual(result.execArgv, [
      `--max-semi-space-size=${SEMI_SPACE_MB}`,
      ...(expectedOld === undefined ? [] : [`--max-old-space-size=${expectedOld}`]),
      `--heap-growing-percent=${HEAP_GROWING_PERCENT}`,
      "--no-warnings",
    ]);
    assert.deepEqual(result.args, ["run", "--config", "x.yaml"]);
    assert.ok(Number(v8Default.stdout) > 0, v8Default.stderr);
    if (expectedOld !== undefined) assert.ok(result.heapLimit < Number(v8Default.stdout), `V8 limit ${result.heapLimit} not below its default ${v8Default.stdout}`);
  });

  it("leaves a user's own sizes alone", async () => {
    const flags = await probe(["--max-semi-space-size=32", "--max-old-space-size=3000", "--heap-growing-percent=50"], { NODE_OPTIONS: undefined });
    assert.deepEqual(flags.execArgv, ["--max-semi-space-size=32", "--max-old-space-size=3000", "--heap-growing-percent=50"]);
    // Node refuses --heap-growing-percent in NODE_OPTIONS (exit 9), so only the sizes can come from there.
    const env = await probe([], { NODE_OPTIONS: "--max-semi-space-size=16 --max-old-space-size=3000" });
    assert.deepEqual(env.execArgv, [`--heap-growing-percent=${HEAP_GROWING_PERCENT}`]);
    const sizesOnly = await probe(["--max-semi-space-size=32", "--max-old-space-size=3000"], { NODE_OPTIONS: undefined });
    assert.deepEqual(sizesOnly.execArgv, [`--heap-growing-percent=${HEAP_GROWING_PERCENT}`, "--max-semi-space-size=32", "--max-old-space-size=3000"]);
  });
});
