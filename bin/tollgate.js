#!/usr/bin/env node
// The `tollgate` executable. Plain JavaScript so it runs on any Node and can say clearly
// when that Node is too old. An installed package runs the compiled dist/; a checkout
// without a build runs the TypeScript sources through Node's type stripping.
import { existsSync } from "node:fs";

const REQUIRED = [22, 19, 0];
const current = process.versions.node.split(".").map(Number);
const tooOld = REQUIRED.some((part, i) => {
  const same = REQUIRED.slice(0, i).every((p, j) => p === current[j]);
  return same && (current[i] ?? 0) < part;
});
if (tooOld) {
  process.stderr.write(
    `tollgate: Node.js >= ${REQUIRED.join(".")} is required, but this is Node.js ${process.versions.node}.\n` +
      "Install a current Node.js (24 LTS recommended), or run through npm scripts in a checkout, which use the pinned one.\n",
  );
  process.exit(1);
}

const compiled = new URL("../dist/cli/main.js", import.meta.url);
if (existsSync(compiled)) {
  await import(compiled.href);
} else {
  if (!process.features.typescript) {
    process.stderr.write(
      "tollgate: dist/ is missing and this Node.js cannot run TypeScript sources directly.\n" +
        "Run `npm run build` first, or run node without --no-experimental-strip-types.\n",
    );
    process.exit(1);
  }
  await import(new URL("../src/cli/main.ts", import.meta.url).href);
}
