// The scenarios of issue 5, in report order. Each one is a URL served by one process of
// its own (except "direct", which is the shared upstream itself), all in front of the
// same upstream.
import { launchScript, type Launched } from "./targets/launch.ts";
import { startNginxProxy } from "./targets/nginx.ts";
import { startTollgate, tollgateAvailable } from "./targets/tollgate.ts";

export interface BenchEnv {
  readonly dir: string;
  readonly upstream: { readonly kind: "nginx" | "node"; readonly port: number; readonly launched: Launched };
  readonly receiverPort: number;
  readonly blackholePort: number;
  readonly nginx: string | undefined;
  readonly tollgateNodeFlags: readonly string[];
  /** The gateway's entry point: a built package's bin/tollgate.js, or undefined for src/cli/main.ts. */
  readonly tollgateCli: string | undefined;
  readonly tollgateMaxConnections: number | undefined;
}

export type ExportCheck = "traces+logs" | "traces" | undefined;

export interface ScenarioSpec {
  readonly id: ScenarioId;
  readonly title: string;
  /** Why it cannot run on this machine, or undefined. */
  unavailable(env: BenchEnv): string | undefined;
  /** Starts its process (if any) and resolves once it serves 2xx. */
  start(env: BenchEnv): Promise<Launched | undefined>;
  /** What must reach the ack receiver while it is under load. */
  readonly exports: ExportCheck;
}

export type ScenarioId =
  | "direct"
  | "tollgate-off"
  | "tollgate-full"
  | "tollgate-blackhole"
  | "fastify-http-proxy"
  | "http-proxy"
  | "http-proxy-otel"
  | "nginx-proxy";

const upstreamUrl = (env: BenchEnv): string => `http://127.0.0.1:${env.upstream.port}`;

export const SCENARIOS: readonly ScenarioSpec[] = [
  {
    id: "direct",
    title: "direct to upstream",
    unavailable: () => undefined,
    start: async () => undefined,
    exports: undefined,
  },
  {
    id: "tollgate-off",
    title: "Tollgate, telemetry off",
    unavailable: () => tollgateAvailable(),
    start: (env) =>
      startTollgate({
        name: "tollgate-off",
        dir: env.dir,
        upstreamPort: env.upstream.port,
        telemetry: { kind: "off" },
        nodeFlags: env.tollgateNodeFlags,
        ...(env.tollgateCli === undefined ? {} : { cli: env.tollgateCli }),
        ...(env.tollgateMaxConnections === undefined ? {} : { maxConnections: env.tollgateMaxConnections }),
      }),
    exports: undefined,
  },
  {
    id: "tollgate-full",
    title: "Tollgate, full telemetry",
    unavailable: () => tollgateAvailable(),
    start: (env) =>
      startTollgate({
        name: "tollgate-full",
        dir: env.dir,
        upstreamPort: env.upstream.port,
        telemetry: { kind: "full", collectorPort: env.receiverPort },
        nodeFlags: env.tollgateNodeFlags,
        ...(env.tollgateCli === undefined ? {} : { cli: env.tollgateCli }),
        ...(env.tollgateMaxConnections === undefined ? {} : { maxConnections: env.tollgateMaxConnections }),
      }),
    exports: "traces+logs",
  },
  {
    id: "tollgate-blackhole",
    title: "Tollgate, full telemetry, collector black-holed",
    unavailable: () => tollgateAvailable(),
    start: (env) =>
      startTollgate({
        name: "tollgate-blackhole",
        dir: env.dir,
        upstreamPort: env.upstream.port,
        telemetry: { kind: "full", collectorPort: env.blackholePort },
        nodeFlags: env.tollgateNodeFlags,
        ...(env.tollgateCli === undefined ? {} : { cli: env.tollgateCli }),
        ...(env.tollgateMaxConnections === undefined ? {} : { maxConnections: env.tollgateMaxConnections }),
      }),
    exports: undefined,
  },
  {
    id: "fastify-http-proxy",
    title: "@fastify/http-proxy",
    unavailable: () => undefined,
    start: (env) => launchScript("fastify-http-proxy", "fastify-proxy.ts", ["--upstream", upstreamUrl(env)]),
    exports: undefined,
  },
  {
    id: "http-proxy",
    title: "http-proxy, keep-alive agent",
    unavailable: () => undefined,
    start: (env) => launchScript("http-proxy", "http-proxy.ts", ["--upstream", upstreamUrl(env)]),
    exports: undefined,
  },
  {
    id: "http-proxy-otel",
    title: "http-proxy + OTel Node SDK (HTTP auto-instrumentation)",
    unavailable: () => undefined,
    start: (env) =>
      launchScript(
        "http-proxy-otel",
        "http-proxy-otel.ts",
        ["--upstream", upstreamUrl(env), "--collector", `http://127.0.0.1:${env.receiverPort}`],
        { OTEL_METRICS_EXPORTER: "none", OTEL_LOGS_EXPORTER: "none", OTEL_TRACES_SAMPLER: "always_on" },
      ),
    exports: "traces",
  },
  {
    id: "nginx-proxy",
    title: "nginx reverse proxy",
    unavailable: (env) => (env.nginx === undefined ? "nginx is not installed" : undefined),
    start: (env) => startNginxProxy(env.nginx as string, env.dir, env.upstream.port),
    exports: undefined,
  },
];

export function urlOf(spec: ScenarioSpec, env: BenchEnv, launched: Launched | undefined): string {
  return spec.id === "direct" ? `${upstreamUrl(env)}/` : `http://127.0.0.1:${launched?.port ?? 0}/`;
}
