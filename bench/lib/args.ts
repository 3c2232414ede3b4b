// Command-line options of `npm run bench`. Everything has a default; --quick shrinks the
// run to a CI-sized smoke test (under a minute, no soak).
import { parseArgs } from "node:util";
import type { Settings } from "./results.ts";
import type { ScenarioId } from "../scenarios.ts";

export interface RunOptions {
  readonly settings: Settings;
  /** Only these scenarios (plus direct, which everything is compared with). */
  readonly only: readonly ScenarioId[] | undefined;
  /** Base name of the result files in bench/results/ (default `bench`, or `quick` with --quick). */
  readonly out: string;
}

export const USAGE = `usage: npm run bench -- [--quick] [--rounds N] [--duration S] [--warmup S] [--connections N]
                        [--soak S] [--only id,id,...]
  --quick        smoke run for CI: short rounds, no soak, under a minute
  --rounds N     interleaved rounds per scenario (default 5; quick 2)
  --duration S   seconds per round (default 10; quick 1)
  --warmup S     warm-up seconds per scenario (default 5; quick 0.5)
  --connections  closed-loop connections (default 100)
  --soak S       black-hole soak length (default 60; 0 skips; quick 0)
  --only LIST    scenario ids: direct, tollgate-off, tollgate-full, tollgate-blackhole,
                 fastify-http-proxy, http-proxy, http-proxy-otel, nginx-proxy
  --tollgate-node-flags "FLAGS"  extra node flags for the gateway, e.g. "--max-semi-space-size=32"
  --tollgate-entry dist|src      dist (default): build the sources into a package in the work dir and run
                 its bin/tollgate.js, as the container image does; src: run src/cli/main.ts (type stripping)
  --tollgate-max-connections N  the bench Backend's connectionPool.maxConnections (default: the gateway's, 128)
  --out NAME     result file base name in bench/results/ (default bench, quick with --quick), so a
                 subset or experiment does not overwrite the committed full run`;

export function parseRunOptions(argv: readonly string[]): RunOptions {
  const { values } = parseArgs({
    args: [...argv],
    options: {
      quick: { type: "boolean", default: false },
      rounds: { type: "string" },
      duration: { type: "string" },
      warmup: { type: "string" },
      connections: { type: "string" },
      soak: { type: "string" },
      only: { type: "string" },
      "tollgate-node-flags": { type: "string" },
      "tollgate-entry": { type: "string" },
      out: { type: "string" },
      "tollgate-max-connections": { type: "string" },
      help: { type: "boolean", default: false },
    },
    strict: true,
  });
  if (values.help === true) {
    process.stdout.write(USAGE + "\n");
    process.exit(0);
  }
  const quick = values.quick === true;
  const num = (text: string | undefined, fallback: number, name: string): number => {
    if (text === undefined) return fallback;
    const n = Number(text);
    if (!Number.isFinite(n) || n < 0) throw new Error(`--${name} must be a non-negative number, got ${JSON.stringify(text)}`);
    return n;
  };
  const settings: Settings = {
    quick,
    rounds: Math.max(1, Math.round(num(values.rounds, quick ? 2 : 5, "rounds"))),
    durationS: num(values.duration, quick ? 1 : 10, "duration"),
    warmupS: num(values.warmup, quick ? 0.5 : 5, "warmup"),
    connections: Math.max(1, Math.round(num(values.connections, 100, "connections"))),
    fixedRate: { rate: 1000, durationS: quick ? 2 : 15, warmupS: quick ? 0.5 : 3, rounds: quick ? 1 : 3, connections: 64 },
    rssConnections: 1000,
    rssDurationS: quick ? 2 : 10,
    soakS: num(values.soak, quick ? 0 : 60, "soak"),
    tollgateNodeFlags: (values["tollgate-node-flags"] ?? "").split(/\s+/).filter((f) => f !== ""),
    tollgateEntry: entryOption(values["tollgate-entry"]),
    ...(values["tollgate-max-connections"] === undefined
      ? {}
      : { tollgateMaxConnections: Math.max(1, Math.round(num(values["tollgate-max-connections"], 0, "tollgate-max-connections"))) }),
  };
  const only = values.only?.split(",").map((s) => s.trim()).filter((s) => s !== "") as ScenarioId[] | undefined;
  const out = values.out ?? (quick ? "quick" : "bench");
  if (!/^[A-Za-z0-9._-]+$/.test(out)) throw new Error(`--out must be a plain file name, got ${JSON.stringify(out)}`);
  return { settings, only, out };
}

function entryOption(text: string | undefined): "dist" | "src" {
  if (text === undefined || text === "dist") return "dist";
  if (text === "src") return "src";
  throw new Error(`--tollgate-entry must be dist or src, got ${JSON.stringify(text)}`);
}

/** An upper bound on the run's wall time, used to kill everything if it hangs. */
export function timeBudgetMs(s: Settings, scenarios: number): number {
  const perScenario = s.warmupS + s.rounds * s.durationS;
  const fixed = s.fixedRate.rounds * 3 * (s.fixedRate.warmupS + s.fixedRate.durationS);
  const seconds = scenarios * perScenario + fixed + 2 * (s.rssDurationS + 2) + s.soakS + 60 /* start-up, checks */ + 90 /* router */;
  return Math.ceil(seconds * 1.5 + 60) * 1000;
}
