// A minimal, valid exposition of the gateway's own counters, used when telemetry does not
// provide a Prometheus renderer. Names follow the OTel→Prometheus rules for the gateway
// instruments (`tollgate.config.reloads` → `tollgate_config_reloads_total`).
import type { GatewayStats } from "../telemetry/hooks.ts";
import {
  escapeLabelValue,
  OPENMETRICS_CONTENT_TYPE,
  PROMETHEUS_TEXT_CONTENT_TYPE,
  wantsOpenMetrics,
  type MetricsBody,
  type MetricsEndpoint,
} from "./metrics-endpoint.ts";

export interface BuildInfo {
  readonly version: string;
}

type Labels = Readonly<Record<string, string>>;

export interface MetricFamily {
  readonly name: string;
  readonly type: "counter" | "gauge";
  readonly help: string;
  readonly samples: readonly { readonly labels: Labels; readonly value: number }[];
}

export function fallbackMetrics(stats: GatewayStats, build: BuildInfo, generation: () => number): MetricsEndpoint {
  return {
    async render(accept: string | undefined): Promise<MetricsBody> {
      const families: MetricFamily[] = [
        {
          name: "tollgate_build_info",
          type: "gauge",
          help: "Tollgate build information; always 1.",
          samples: [{ labels: { version: build.version, nodejs_version: process.version }, value: 1 }],
        },
        {
          name: "tollgate_config_reloads",
          type: "counter",
          help: "Config reload attempts since start, by outcome.",
          samples: [
            { labels: { outcome: "success" }, value: stats.reloads.success },
            { labels: { outcome: "failure" }, value: stats.reloads.failure },
          ],
        },
        {
          name: "tollgate_config_generation",
          type: "gauge",
          help: "Generation of the config plan currently serving.",
          samples: [{ labels: {}, value: generation() }],
        },
        {
          name: "tollgate_upstream_retries",
          type: "counter",
          help: "Upstream retries since start, by backend.",
          samples: [...stats.retries].map(([backend, value]) => ({ labels: { backend }, value })),
        },
        {
          name: "tollgate_jwt_jwks_fetches",
          type: "counter",
          help: "Remote JWKS fetches of JWT providers since start, by provider (namespace/extension/provider) and outcome (success or failure).",
          samples: [...(stats.jwksFetches?.entries() ?? [])].map(([provider, outcome, value]) => ({ labels: { provider, outcome }, value })),
        },
        {
          name: "tollgate_upstream_mirrors_dropped",
          type: "counter",
          help: "RequestMirror copies not sent or given up mid-body, by backend and reason.",
          samples: [...(stats.mirrorDrops?.entries() ?? [])].map(([backend, reason, value]) => ({ labels: { backend, reason }, value })),
        },
        {
          name: "tollgate_rate_limit_over_limit",
          type: "counter",
          help: "Requests a local rate limit found over its limit, by route, rule, the TrafficPolicy whose limit it was, and whether they were refused (enforced) or let through.",
          samples: [...(stats.rateLimits?.entries() ?? [])].map(([route, rule, policy, enforced, value]) => ({ labels: { route, rule, policy, enforced: String(enforced) }, value })),
        },
        {
          name: "tollgate_rate_limit_checks",
          type: "counter",
          help: "Global rate limit checks, by route, rule, the TrafficPolicy whose limit it was, and outcome: ok, over_limit, error_allowed or error_refused.",
          samples: [...(stats.globalRateLimits?.entries() ?? [])].map(([route, rule, policy, outcome, value]) => ({ labels: { route, rule, policy, outcome }, value })),
        },
        {
          name: "tollgate_ext_authz_checks",
          type: "counter",
          help: "ExternalAuth checks, by route, rule, the TrafficPolicy that gave the check (none for the HTTPRoute filter), and outcome: ok, denied, error_allowed, error_refused or not_sampled.",
          samples: [...(stats.externalAuthChecks?.entries() ?? [])].map(([route, rule, policy, outcome, value]) => ({ labels: { route, rule, policy, outcome }, value })),
        },
        {
          name: "tollgate_access_control_denied",
          type: "counter",
          help: "Requests a TrafficPolicy rbac, acl, basicAuth, apiKeyAuth, jwtAuth or csrf refused, by route, rule, the policy that refused them, and kind (rbac, acl, basic_auth, api_key_auth, jwt_auth or csrf).",
          samples: [...(stats.accessDenials?.entries() ?? [])].map(([route, rule, policy, kind, value]) => ({ labels: { route, rule, policy, kind }, value })),
        },
        {
          name: "tollgate_fault_injections",
          type: "counter",
          help: "Faults a TrafficPolicy faultInjection injected, by route, rule, policy and kind: delay, abort, response_rate_limit, or overflow (none, as maxActiveFaults were active).",
          samples: [...(stats.faultInjections?.entries() ?? [])].map(([route, rule, policy, kind, value]) => ({ labels: { route, rule, policy, kind }, value })),
        },
        {
          name: "tollgate_csrf_checks",
          type: "counter",
          help: "State-changing requests a TrafficPolicy csrf checked, enforced or shadowed, by route, rule, policy and outcome: valid, invalid or missing_origin.",
          samples: [...(stats.csrfChecks?.entries() ?? [])].map(([route, rule, policy, outcome, value]) => ({ labels: { route, rule, policy, outcome }, value })),
        },
        {
          name: "tollgate_compression_responses",
          type: "counter",
          help: "Upstream responses of rules with a TrafficPolicy responseCompression, by route, rule, policy and outcome: the coding compressed in (gzip, br, zstd), or why not.",
          samples: [...(stats.compressions?.entries() ?? [])].map(([route, rule, policy, outcome, value]) => ({ labels: { route, rule, policy, outcome }, value })),
        },
        {
          name: "tollgate_compression_bytes",
          type: "counter",
          help: "Response body bytes through TrafficPolicy responseCompression, by route, rule, policy and stage: uncompressed (in) or compressed (out).",
          samples: [...(stats.compressionBytes?.entries() ?? [])].map(([route, rule, policy, stage, value]) => ({ labels: { route, rule, policy, stage }, value })),
        },
        {
          name: "tollgate_decompression_requests",
          type: "counter",
          help: "Request bodies a TrafficPolicy requestDecompression decoded, by route, rule, policy, encoding and outcome: decompressed, invalid, inflate_limit or abandoned.",
          samples: [...(stats.decompressions?.byCoding() ?? [])].map(([route, rule, policy, encoding, outcome, value]) => ({ labels: { route, rule, policy, encoding, outcome }, value })),
        },
        {
          name: "tollgate_listener_tls_handshake_errors",
          type: "counter",
          help: "TLS handshakes an HTTPS listener failed, by port and reason: timeout, no_certificate, client_certificate, client_closed or protocol.",
          samples: [...(stats.tlsHandshakeErrors?.entries() ?? [])].map(([port, reason, value]) => ({ labels: { server_port: String(port), reason }, value })),
        },
        {
          name: "tollgate_listener_proxy_protocol_errors",
          type: "counter",
          help: "Connections a PROXY protocol listener port closed before any request, by port and reason: invalid, timeout or client_closed.",
          samples: [...(stats.proxyProtocolErrors?.entries() ?? [])].map(([port, reason, value]) => ({ labels: { server_port: String(port), reason }, value })),
        },
        {
          name: "tollgate_upstream_open_connections",
          type: "gauge",
          help: "Open upstream connections, by backend.",
          samples: [...stats.openConnections()].map(([backend, value]) => ({ labels: { backend }, value })),
        },
        {
          name: "tollgate_upstream_pending_requests",
          type: "gauge",
          help: "Requests waiting for a free upstream connection, by backend.",
          samples: [...stats.pendingRequests()].map(([backend, value]) => ({ labels: { backend }, value })),
        },
        {
          name: "tollgate_telemetry_hook_errors",
          type: "counter",
          help: "Telemetry hook calls that threw; the request went on, its telemetry may be incomplete. By hook.",
          samples: [...stats.telemetryHookErrors].map(([hook, value]) => ({ labels: { hook }, value })),
        },
      ];
      return renderFamilies(families, wantsOpenMetrics(accept));
    },
  };
}

export function renderFamilies(families: readonly MetricFamily[], openMetrics: boolean): MetricsBody {
  const lines: string[] = [];
  for (const family of families) {
    // Prometheus text names the counter family with its _total suffix; OpenMetrics without.
    const familyName = family.type === "counter" && !openMetrics ? `${family.name}_total` : family.name;
    const sampleName = family.type === "counter" ? `${family.name}_total` : family.name;
    lines.push(`# HELP ${familyName} ${family.help}`);
    lines.push(`# TYPE ${familyName} ${family.type}`);
    for (const sample of family.samples) lines.push(`${sampleName}${renderLabels(sample.labels)} ${sample.value}`);
  }
  if (openMetrics) lines.push("# EOF");
  return {
    contentType: openMetrics ? OPENMETRICS_CONTENT_TYPE : PROMETHEUS_TEXT_CONTENT_TYPE,
    body: lines.join("\n") + "\n",
  };
}

function renderLabels(labels: Labels): string {
  const keys = Object.keys(labels);
  if (keys.length === 0) return "";
  return `{${keys.map((k) => `${k}="${escapeLabelValue(labels[k] ?? "")}"`).join(",")}}`;
}
