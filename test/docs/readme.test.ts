// The README's config walk-through must stay a file Tollgate accepts as written.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { loadConfigText } from "../../src/config/load.ts";

const readme = readFileSync(new URL("../../README.md", import.meta.url), "utf8");

function yamlBlocks(markdown: string): string[] {
  return [...markdown.matchAll(/^```yaml\n([\s\S]*?)^```$/gm)].map((m) => m[1] ?? "");
}

test("the README's config walk-through loads without diagnostics", () => {
  const blocks = yamlBlocks(readme);
  assert.equal(blocks.length, 1, "the README has one YAML walk-through");
  const result = loadConfigText(blocks[0] ?? "", "README.md");
  assert.deepEqual(result.diagnostics.map((d) => d.message), []);
  const config = result.config;
  assert.ok(config);
  assert.deepEqual(config.gateways.map((g) => g.ref.name), ["edge"]);
  const rule = config.routes[0]?.rules[0];
  assert.deepEqual(rule?.backends.map((b) => b.weight), [90, 10]);
  assert.equal(config.gateways[0]?.telemetry.tracing?.sampling?.kind, "fraction");
});
