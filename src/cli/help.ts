// `tollgate --help`.
import { DEFAULTS, ENV } from "../server/settings.ts";
import { DEFAULT_CONFIG } from "./config-path.ts";

export function helpText(version: string): string {
  return `tollgate ${version}: an OpenTelemetry-native Gateway API edge gateway

Usage:
  tollgate run [--config FILE] [--workers N|auto]   serve the gateway
  tollgate validate [--config FILE]                 check a config file; exit 1 on any error
  tollgate schema                                   print the config file's JSON Schema
  tollgate --version                                print the version
  tollgate --help                                   print this help

Flags:
  -c, --config FILE     config file (default: $${ENV.config}, else ${DEFAULT_CONFIG})
  -w, --workers N|auto  serve from N cluster workers (auto: one per available CPU);
                        without it one process serves
  -h, --help            help
  -v, --version         version

Environment:
  ${ENV.config}                     config file when --config is not given
  ${ENV.opsAddr}                   ops listener: /metrics /healthz /readyz (default ${DEFAULTS.opsAddr})
  ${ENV.adminAddr}                 admin listener: /config /routes (default ${DEFAULTS.adminAddr})
  ${ENV.listenerHost}              address gateway listeners bind (default ${DEFAULTS.listenerHost})
  ${ENV.portOverride}    remap config ports: 8080=18080,9090=0 or *=0 (0: ephemeral)
  ${ENV.portsFile}                 write the bound ports as JSON to this file
  ${ENV.drainGraceMs}             still accept connections this long after SIGTERM (default ${DEFAULTS.drainGraceMs})
  ${ENV.drainTimeoutMs}           max wait for in-flight requests (default ${DEFAULTS.drainTimeoutMs})
  ${ENV.telemetryShutdownTimeoutMs}  max wait for the telemetry flush (default ${DEFAULTS.telemetryShutdownTimeoutMs})
  ${ENV.reloadDebounceMs}          quiet period after a file change before reloading (default ${DEFAULTS.reloadDebounceMs})
  ${ENV.watch}                      reload when the config file changes: true|false (default true)
  ${ENV.logLevel}                  debug|info|warn|error (default info)
  OTEL_*                              OpenTelemetry SDK settings (exporters, sampling, resource)

Signals: SIGHUP reloads the config; SIGTERM/SIGINT drain, then exit 0.
Docs: docs/operations.md
`;
}
