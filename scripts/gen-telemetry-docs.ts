// Generates docs/telemetry.md from the telemetry registry (src/telemetry/registry.ts).
//   node scripts/gen-telemetry-docs.ts          writes the file
//   node scripts/gen-telemetry-docs.ts --check  exits 1 when the committed file is stale
import { readFileSync, writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { renderTelemetryDoc } from "../src/telemetry/registry-doc.ts";

const target = fileURLToPath(new URL("../docs/telemetry.md", import.meta.url));
const text = renderTelemetryDoc();
if (process.argv.includes("--check")) {
  let current = "";
  try {
    current = readFileSync(target, "utf8");
  } catch {
    // missing counts as stale
  }
  if (current !== text) {
    process.stderr.write("docs/telemetry.md is out of date: run node scripts/gen-telemetry-docs.ts\n");
    process.exit(1);
  }
} else {
  writeFileSync(target, text);
}
