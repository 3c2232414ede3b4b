// Tollgate as a black box: its CLI, a generated config file and environment variables,
// exactly as a user runs it. Telemetry is configured the documented way: a
// TelemetryPolicy in the file turns every signal on at 100% sampling, the standard
// OTEL_* variables point the OTLP/gRPC exporters at the collector.
import { existsSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { launchLeashed, type Launched } from "./launch.ts";
import { readTail } from "./nginx.ts";
import { pinnedNode, tollgateCli } from "../lib/paths.ts";
import { freePort } from "../lib/ports.ts";
import { waitFor2xx } from "../lib/wait.ts";

export type TelemetryMode = { readonly kind: "off" } | { readonly kind: "full"; readonly collectorPort: number };

export interface TollgateOptions {
  readonly name: string;
  readonly dir: string;
  readonly upstreamPort: number;
  readonly telemetry: TelemetryMode;
  /** Extra node flags, e.g. --cpu-prof. */
  readonly nodeFlags?: readonly string[];
  /** The entry point to run: `src/cli/main.ts` (default) or a built package's `bin/tollgate.js`. */
  readonly cli?: string;
  /** The Backend's connectionPool.maxConnections; undefined = the gateway default. */
  readonly maxConnections?: number;
  /** Extra environment for the gateway (tuning experiments). */
  readonly env?: Readonly<Record<string, string>>;
  readonly graceMs?: number;
}

export function tollgateAvailable(): string | undefined {
  return existsSync(tollgateCli) ? undefined : `${tollgateCli} does not exist yet`;
}

export function tollgateConfig(listenerPort: number, upstreamPort: number, telemetry: TelemetryMode, maxConnections?: number): string {
  const core = `apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata:
  name: bench
  namespace: default
spec:
  gatewayClassName: tollgate
  listeners:
    - name: http
      port: ${listenerPort}
      protocol: HTTP
---
apiVersion: gateway.tollgate.dev/v1alpha1
kind: Backend
metadata:
  name: upstream
  namespace: default
spec:
  endpoints:
    - ip:
        address: 127.0.0.1
        port: ${upstreamPort}
${maxConnections === undefined ? "" : `  connectionPool:\n    maxConnections: ${maxConnections}\n`}---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata:
  name: bench
  namespace: default
spec:
  parentRefs:
    - name: bench
  rules:
    - matches:
        - path:
            type: PathPrefix
            value: /
      backendRefs:
        - group: gateway.tollgate.dev
          kind: Backend
          name: upstream
`;
  if (telemetry.kind === "off") return core;
  return `${core}---
apiVersion: gateway.networking.x-k8s.io/v1alpha1
kind: TelemetryPolicy
metadata:
  name: bench
  namespace: default
spec:
  targetRefs:
    - group: gateway.networking.k8s.io
      kind: Gateway
      name: bench
  tracing:
    mode: "On"
    samplingRate:
      numerator: 100
      denominator: 100
  metrics:
    mode: "On"
  accessLogs:
    mode: "On"
`;
}

export function telemetryEnv(telemetry: TelemetryMode): Record<string, string> {
  if (telemetry.kind === "off") {
    return {
      OTEL_SDK_DISABLED: "true",
      OTEL_TRACES_EXPORTER: "none",
      OTEL_METRICS_EXPORTER: "none",
      OTEL_LOGS_EXPORTER: "none",
    };
  }
  return {
    OTEL_SERVICE_NAME: "tollgate-bench",
    OTEL_EXPORTER_OTLP_ENDPOINT: `http://127.0.0.1:${telemetry.collectorPort}`,
    OTEL_EXPORTER_OTLP_PROTOCOL: "grpc",
    OTEL_TRACES_EXPORTER: "otlp",
    OTEL_METRICS_EXPORTER: "otlp",
    OTEL_LOGS_EXPORTER: "otlp",
    OTEL_TRACES_SAMPLER: "always_on",
    OTEL_METRIC_EXPORT_INTERVAL: "5000",
  };
}

export async function startTollgate(options: TollgateOptions): Promise<Launched> {
  const [listenerPort, opsPort, adminPort] = [await freePort(), await freePort(), await freePort()];
  const configFile = join(options.dir, `${options.name}.yaml`);
  writeFileSync(configFile, tollgateConfig(listenerPort, options.upstreamPort, options.telemetry, options.maxConnections));
  const logFile = join(options.dir, `${options.name}.log`);
  const env: Record<string, string> = {
    TOLLGATE_OPS_ADDR: `127.0.0.1:${opsPort}`,
    TOLLGATE_ADMIN_ADDR: `127.0.0.1:${adminPort}`,
    TOLLGATE_LISTENER_HOST: "127.0.0.1",
    TOLLGATE_WATCH: "false",
    TOLLGATE_DRAIN_GRACE_MS: "0",
    TOLLGATE_DRAIN_TIMEOUT_MS: "2000",
    TOLLGATE_TELEMETRY_SHUTDOWN_TIMEOUT_MS: "1000",
    ...telemetryEnv(options.telemetry),
    ...options.env,
  };
  const launched = await launchLeashed(
    options.name,
    pinnedNode(),
    [...(options.nodeFlags ?? []), options.cli ?? tollgateCli, "run", "--config", configFile],
    { logFile, port: listenerPort, env, graceMs: options.graceMs ?? 5000 },
  );
  try {
    await waitFor2xx(`http://127.0.0.1:${listenerPort}/`, 30_000, () => launched.tracked.hasExited());
  } catch (error) {
    await launched.tracked.stop();
    throw new Error(`${options.name}: ${(error as Error).message}\n--- ${logFile} ---\n${readTail(logFile)}`);
  }
  return { ...launched, opsPort };
}
