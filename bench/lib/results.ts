// The shape of one bench run, as written to bench/results/*.json and read by the report,
// the chart and the bar.
import type { FixedRateResult } from "./fixed-rate.ts";
import type { MachineInfo } from "./machine.ts";
import type { ReceiverStats } from "./receiver-stats.ts";
import type { RssSample } from "./rss.ts";
import type { ThroughputResult } from "./throughput.ts";
import type { ScenarioId } from "../scenarios.ts";

export interface Settings {
  readonly quick: boolean;
  readonly rounds: number;
  readonly durationS: number;
  readonly warmupS: number;
  readonly connections: number;
  readonly fixedRate: {
    readonly rate: number;
    readonly durationS: number;
    readonly warmupS: number;
    readonly rounds: number;
    readonly connections: number;
  };
  readonly rssConnections: number;
  readonly rssDurationS: number;
  /** 0 when the soak is skipped. */
  readonly soakS: number;
  /** Extra node flags for every Tollgate process (experiments such as heap sizing). */
  readonly tollgateNodeFlags: readonly string[];
  /** `dist`: the compiled package through bin/tollgate.js, as the image runs it; `src`: the sources through type stripping. */
  readonly tollgateEntry: "dist" | "src";
  /** The bench Backend's connectionPool.maxConnections, when set (else the gateway default). */
  readonly tollgateMaxConnections?: number;
}

export interface Medians {
  readonly rps: number;
  readonly p50: number;
  readonly p99: number;
  readonly p999: number;
}

export interface ScenarioResult {
  readonly id: ScenarioId;
  readonly title: string;
  status: "ok" | "failed" | "skipped";
  reason?: string;
  readonly rounds: ThroughputResult[];
  median?: Medians;
  /** This scenario's median over Tollgate full telemetry's. */
  ratioToFull?: { readonly rps: number; readonly p99: number };
}

export interface FixedRateScenario {
  readonly id: ScenarioId;
  readonly rounds: FixedRateResult[];
  median?: { readonly p50: number; readonly p99: number; readonly p999: number; readonly achievedRate: number };
  /** Median latency minus direct's median latency, ms. */
  added?: { readonly p50: number; readonly p99: number; readonly p999: number };
}

export interface RssAtConnections {
  readonly id: ScenarioId;
  readonly connections: number;
  readonly beforeMB: number;
  readonly peakMB: number;
  readonly rps: number;
  problem?: string;
}

export interface SoakResult {
  readonly id: ScenarioId;
  readonly durationS: number;
  readonly startMB: number;
  readonly endMB: number;
  readonly peakMB: number;
  /** Peak minus start: the conservative reading of "growth". */
  readonly growthMB: number;
  readonly rps: number;
  readonly samples: readonly RssSample[];
  problem?: string;
}

export interface ExportCheckResult {
  readonly id: ScenarioId;
  readonly delta: ReceiverStats;
  readonly ok: boolean;
  readonly detail: string;
}

export interface TelemetryDropsResult {
  readonly id: ScenarioId;
  /** Requests the bench sent to this gateway over the whole run. */
  readonly requestsSent: number;
  /** `signal/reason` → items, from the gateway's tollgate.telemetry.dropped; undefined if unreadable. */
  readonly dropped: Readonly<Record<string, number>> | undefined;
}

export interface RouterBenchResult {
  readonly status: "ok" | "failed" | "skipped";
  readonly reason?: string;
  readonly output?: unknown;
}

export interface BarItem {
  readonly id: string;
  readonly text: string;
  readonly value: number | undefined;
  readonly threshold: number;
  readonly comparison: ">=" | "<=";
  readonly unit: "×" | "ms" | "MB";
  /** undefined: could not be evaluated (see reason). */
  readonly held: boolean | undefined;
  readonly reason?: string;
}

export interface BenchResults {
  readonly schema: 1;
  readonly startedAt: string;
  finishedAt: string;
  readonly settings: Settings;
  readonly machine: MachineInfo;
  loadAtEnd: number;
  /** The hypervisor's steal, % of all CPU time, per phase (lib/cpu-ticks.ts). */
  readonly steal: { throughput?: number; fixedRate?: number };
  readonly upstream: "nginx" | "node";
  readonly scenarios: ScenarioResult[];
  readonly fixedRate: FixedRateScenario[];
  readonly rssAtConnections: RssAtConnections[];
  soak?: SoakResult;
  readonly exportChecks: ExportCheckResult[];
  readonly telemetryDrops: TelemetryDropsResult[];
  router: RouterBenchResult;
  bar: BarItem[];
  readonly failures: string[];
}
