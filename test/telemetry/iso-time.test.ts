// %START_TIME% reuses the formatted second; it must still equal Date#toISOString everywhere.
import { test } from "node:test";
import assert from "node:assert/strict";
import { isoTime } from "../../src/telemetry/logs/envoy-render.ts";

test("isoTime equals toISOString across second boundaries, sub-millisecond times, the epoch and year 10000", () => {
  const edges = [0, 0.4, 999.9, 1000, -1, -0.5, 1_700_000_000_123.7, 1_700_000_000_999.99, 1_700_000_001_000, 1_700_000_000_005, 253402300799999, 253402300800000];
  for (const ms of edges) assert.equal(isoTime(ms), new Date(ms).toISOString(), String(ms));
  // Increasing times within and across seconds, as requests arrive.
  for (let ms = 1_700_000_000_990; ms < 1_700_000_001_020; ms += 0.7) assert.equal(isoTime(ms), new Date(ms).toISOString(), String(ms));
  for (let i = 0; i < 20_000; i++) {
    const ms = (i * 7_919_131.7) % 4_000_000_000_000;
    assert.equal(isoTime(ms), new Date(ms).toISOString(), String(ms));
  }
});
