// The pieces behind /metrics and the process settings, checked on their own.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { mergeExpositions } from "../../src/admin/exposition-merge.ts";
import { renderFamilies } from "../../src/admin/fallback-metrics.ts";
import { wantsOpenMetrics } from "../../src/admin/metrics-endpoint.ts";
import { parseHostPort, parsePortOverrides, readServerSettings, SettingsError } from "../../src/server/settings.ts";

describe("mergeExpositions", () => {
  const worker = (n: number): string =>
    [
      "# HELP http_server_request_duration_seconds Duration.",
      "# TYPE http_server_request_duration_seconds histogram",
      `http_server_request_duration_seconds_bucket{le="0.1",http_route="/a"} ${n}`,
      `http_server_request_duration_seconds_count{http_route="/a"} ${n}`,
      "# HELP up_thing A gauge without labels.",
      "# TYPE up_thing gauge",
      `up_thing ${n}`,
      "# TYPE empty_labels counter",
      `empty_labels_total{} ${n}`,
      "# EOF",
      "",
    ].join("\n");

  it("declares each family once and labels every worker sample", () => {
    const merged = mergeExpositions(
      [
        { labelValue: undefined, body: "# TYPE tollgate_cluster_workers gauge\ntollgate_cluster_workers{state=\"ready\"} 2\n" },
        { labelValue: "1", body: worker(1) },
        { labelValue: "2", body: worker(2) },
      ],
      "worker_id",
      true,
    );
    assert.equal(
      merged,
      [
        "# TYPE tollgate_cluster_workers gauge",
        'tollgate_cluster_workers{state="ready"} 2',
        "# HELP http_server_request_duration_seconds Duration.",
        "# TYPE http_server_request_duration_seconds histogram",
        'http_server_request_duration_seconds_bucket{worker_id="1",le="0.1",http_route="/a"} 1',
        'http_server_request_duration_seconds_count{worker_id="1",http_route="/a"} 1',
        'http_server_request_duration_seconds_bucket{worker_id="2",le="0.1",http_route="/a"} 2',
        'http_server_request_duration_seconds_count{worker_id="2",http_route="/a"} 2',
        "# HELP up_thing A gauge without labels.",
        "# TYPE up_thing gauge",
        'up_thing{worker_id="1"} 1',
        'up_thing{worker_id="2"} 2',
        "# TYPE empty_labels counter",
        'empty_labels_total{worker_id="1"} 1',
        'empty_labels_total{worker_id="2"} 2',
        "# EOF",
        "",
      ].join("\n"),
    );
  });

  it("ends Prometheus text without # EOF", () => {
    const merged = mergeExpositions([{ labelValue: "1", body: worker(1) }], "worker_id", false);
    assert.ok(!merged.includes("# EOF"));
    assert.ok(merged.endsWith('empty_labels_total{worker_id="1"} 1\n'));
  });
});

describe("fallback exposition", () => {
  it("names counters per format", () => {
    const family = { name: "tollgate_config_reloads", type: "counter" as const, help: "Reloads.", samples: [{ labels: { outcome: 'a"b' }, value: 3 }] };
    assert.equal(
      renderFamilies([family], false).body,
      '# HELP tollgate_config_reloads_total Reloads.\n# TYPE tollgate_config_reloads_total counter\ntollgate_config_reloads_total{outcome="a\\"b"} 3\n',
    );
    assert.equal(
      renderFamilies([family], true).body,
      '# HELP tollgate_config_reloads Reloads.\n# TYPE tollgate_config_reloads counter\ntollgate_config_reloads_total{outcome="a\\"b"} 3\n# EOF\n',
    );
  });

  it("negotiates OpenMetrics only when accepted", () => {
    assert.equal(wantsOpenMetrics(undefined), false);
    assert.equal(wantsOpenMetrics("text/plain;version=0.0.4"), false);
    assert.equal(wantsOpenMetrics("application/openmetrics-text;version=1.0.0,text/plain;q=0.5"), true);
    assert.equal(wantsOpenMetrics("application/openmetrics-text;q=0,text/plain"), false);
  });
});

describe("server settings", () => {
  it("parses addresses", () => {
    assert.deepEqual(parseHostPort("0.0.0.0:15020", "X"), { host: "0.0.0.0", port: 15020 });
    assert.deepEqual(parseHostPort("[::1]:0", "X"), { host: "::1", port: 0 });
    assert.deepEqual(parseHostPort(":9000", "X"), { host: "0.0.0.0", port: 9000 });
    assert.throws(() => parseHostPort("localhost", "TOLLGATE_OPS_ADDR"), new SettingsError('TOLLGATE_OPS_ADDR="localhost": expected host:port, e.g. 0.0.0.0:15020 or [::1]:15020'));
    assert.throws(() => parseHostPort("h:70000", "X"), /port must be a number from 0 to 65535/);
  });

  it("parses port overrides", () => {
    const o = parsePortOverrides("8080=0, 9090=19090", "V");
    assert.deepEqual([...o.byPort], [[8080, 0], [9090, 19090]]);
    assert.equal(o.wildcard, undefined);
    assert.equal(parsePortOverrides("*=0", "V").wildcard, 0);
    assert.throws(() => parsePortOverrides("8080", "V"), /V: "8080" is not CONFIG_PORT=BIND_PORT/);
  });

  it("has the documented defaults and rejects bad numbers", () => {
    const s = readServerSettings({});
    assert.deepEqual(s.opsAddr, { host: "0.0.0.0", port: 15020 });
    assert.deepEqual(s.adminAddr, { host: "127.0.0.1", port: 15000 });
    assert.equal(s.listenerHost, "0.0.0.0");
    assert.equal(s.drainGraceMs, 5000);
    assert.equal(s.drainTimeoutMs, 30000);
    assert.equal(s.watchConfig, true);
    assert.equal(s.workerId, undefined);
    assert.equal(s.logLevel, "info");
    assert.equal(readServerSettings({ TOLLGATE_LOG_LEVEL: " Debug " }).logLevel, "debug");
    assert.throws(() => readServerSettings({ TOLLGATE_LOG_LEVEL: "verbose" }), /TOLLGATE_LOG_LEVEL="verbose": expected debug, info, warn, error/);
    assert.throws(() => readServerSettings({ TOLLGATE_DRAIN_TIMEOUT_MS: "30s" }), /TOLLGATE_DRAIN_TIMEOUT_MS="30s": expected a whole number of milliseconds/);
    assert.throws(() => readServerSettings({ TOLLGATE_WATCH: "maybe" }), /TOLLGATE_WATCH="maybe": expected true or false/);
  });
});
