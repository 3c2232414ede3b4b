// promtool's verdict on a Prometheus text exposition: the real linter Prometheus ships, so a
// test's /metrics text is checked as a scraper's tooling would check it.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";

export function assertPromtoolAccepts(exposition: string): void {
  const lint = spawnSync("/usr/bin/promtool", ["check", "metrics"], { input: exposition, encoding: "utf8" });
  assert.equal(lint.status, 0, lint.stdout + lint.stderr);
}
