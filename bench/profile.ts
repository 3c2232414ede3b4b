// `npm run bench:profile`: runs Tollgate under load with --cpu-prof, stops it with SIGTERM
// (its drain writes the profile), leaves the .cpuprofile in bench/results/ and prints the
// functions and packages with the most self time, plus a .txt of the same next to it.
//   --mode full|off|blackhole   telemetry as in the bench scenarios (default full)
//   --duration S                seconds of load (default 15)
//   --connections N             closed-loop connections (default 100)
//   --top N                     functions to list (default 30)
//   --summarize FILE            only print the summary of an existing .cpuprofile
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { armGlobalDeadline, stopAll } from "./lib/children.ts";
import { formatSummary, summarizeProfile } from "./lib/cpuprofile.ts";
import { repoRoot, resultsDir } from "./lib/paths.ts";
import { loadProblem, measureThroughput } from "./lib/throughput.ts";
import { setChildDeadline } from "./targets/launch.ts";
import { isGatewayMode, startPeers } from "./targets/peers.ts";
import { startTollgate, tollgateAvailable } from "./targets/tollgate.ts";

const { values } = parseArgs({
  options: {
    mode: { type: "string", default: "full" },
    duration: { type: "string", default: "15" },
    connections: { type: "string", default: "100" },
    top: { type: "string", default: "30" },
    summarize: { type: "string" },
  },
  strict: true,
});
const top = Number(values.top);

if (values.summarize !== undefined) {
  process.stdout.write(formatSummary(summarizeProfile(values.summarize, repoRoot), top) + "\n");
  process.exit(0);
}

const mode = values.mode ?? "full";
if (!isGatewayMode(mode)) {
  process.stderr.write(`--mode must be full, off or blackhole, got ${JSON.stringify(mode)}\n`);
  process.exit(2);
}
const missing = tollgateAvailable();
if (missing !== undefined) {
  process.stderr.write(`cannot profile: ${missing}\n`);
  process.exit(1);
}
const durationS = Number(values.duration);
const connections = Number(values.connections);
const log = (message: string): void => void process.stderr.write(`profile: ${message}\n`);

const budgetMs = (durationS + 120) * 1000;
armGlobalDeadline(budgetMs);
setChildDeadline(Date.now() + budgetMs + 30_000);
const workDir = mkdtempSync(join(tmpdir(), "tollgate-profile-"));
mkdirSync(resultsDir, { recursive: true });

const { upstream, telemetry } = await startPeers(mode, workDir);
const name = `tollgate-${mode}-${new Date().toISOString().replace(/[:.]/g, "-")}.cpuprofile`;
const gateway = await startTollgate({
  name: `tollgate-${mode}`,
  dir: workDir,
  upstreamPort: upstream.port,
  telemetry,
  nodeFlags: ["--cpu-prof", "--cpu-prof-dir", resultsDir, "--cpu-prof-name", name],
  graceMs: 30_000,
});
log(`gateway pid ${gateway.pid} (telemetry ${mode}); warm-up 3 s, then ${durationS} s at ${connections} connections`);
const url = `http://127.0.0.1:${gateway.port}/`;
await measureThroughput(url, { durationS: 3, connections });
const result = await measureThroughput(url, { durationS, connections });
log(`${Math.round(result.rps)} req/s, p99 ${result.p99} ms${loadProblem(result) === undefined ? "" : `; problem: ${loadProblem(result)}`}`);

log("stopping the gateway (SIGTERM) so it writes the profile");
await gateway.tracked.stop(30_000);
await stopAll(5000);

const file = join(resultsDir, name);
if (!existsSync(file)) {
  const recent = readdirSync(resultsDir).filter((f) => f.endsWith(".cpuprofile") && statSync(join(resultsDir, f)).mtimeMs > Date.now() - budgetMs);
  process.stderr.write(
    `no profile at ${file}: the gateway did not exit cleanly on SIGTERM (profiles are written at exit)` +
      (recent.length > 0 ? `; recent profiles: ${recent.join(", ")}` : "") +
      `\nlogs: ${workDir}\n`,
  );
  process.exit(1);
}
const summary = formatSummary(summarizeProfile(file, repoRoot), top);
const header = `${name}: Tollgate, telemetry ${mode}, ${durationS} s at ${connections} connections, ${Math.round(result.rps)} req/s\n`;
writeFileSync(file.replace(/\.cpuprofile$/, ".txt"), header + summary + "\n");
process.stdout.write(`\n${header}${summary}\n\nprofile: ${file}\n`);
rmSync(workDir, { recursive: true, force: true });
process.exit(loadProblem(result) === undefined ? 0 : 1);
