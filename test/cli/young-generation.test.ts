// `tollgate run` caps V8's young generation by restarting itself once with
// --max-semi-space-size, unless the user already sized it.
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { after, before, describe, it } from "node:test";
import { SEMI_SPACE_MB, youngGenerationConfigured } from "../../src/cli/young-generation.ts";
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

describe("capYoungGeneration", { skip: typeof process.execve !== "function" || process.platform === "win32" ? "no process.execve here" : false }, () => {
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
        `process.stdout.write(JSON.stringify({ pid: process.pid, execArgv: process.execArgv, args: process.argv.slice(2) }));\n`,
    );
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  function probe(nodeArgs: readonly string[], env: Record<string, string | undefined>): Promise<{ pid: number; childPid: number; execArgv: string[]; args: string[] }> {
    return new Promise((resolve, reject) => {
      const child = spawn(process.execPath, [...nodeArgs, script, "run", "--config", "x.yaml"], { env: { ...process.env, ...env }, stdio: ["ignore", "pipe", "inherit"] });
      let out = "";
      child.stdout.setEncoding("utf8").on("data", (c: string) => (out += c));
      child.once("error", reject);
      child.once("close", (code) => {
        if (code !== 0) return reject(new Error(`probe exited ${code}: ${out}`));
        resolve({ ...(JSON.parse(out) as { pid: number; execArgv: string[]; args: string[] }), childPid: child.pid! });
      });
    });
  }

  it("restarts the same process with the cap, keeping flags and arguments", async () => {
    const result = await probe(["--no-warnings"], { NODE_OPTIONS: undefined });
    assert.equal(result.pid, result.childPid, "execve keeps the pid");
    assert.deepEqual(result.execArgv, [`--max-semi-space-size=${SEMI_SPACE_MB}`, "--no-warnings"]);
    assert.deepEqual(result.args, ["run", "--config", "x.yaml"]);
  });

  it("leaves a user's own size alone", async () => {
    const flag = await probe(["--max-semi-space-size=32"], { NODE_OPTIONS: undefined });
    assert.deepEqual(flag.execArgv, ["--max-semi-space-size=32"]);
    const env = await probe([], { NODE_OPTIONS: "--max-semi-space-size=16" });
    assert.deepEqual(env.execArgv, []);
  });
});
