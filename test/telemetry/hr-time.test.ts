import assert from "node:assert/strict";
import { test } from "node:test";
import { epochNanos, epochSeconds } from "../../src/telemetry/hr-time.ts";
import { msToHrTime } from "../../src/telemetry/trace/spans.ts";

test("epoch ms split into seconds and nanoseconds, rounded to the nanosecond", () => {
  assert.deepEqual(msToHrTime(1_700_000_000_123.5), [1_700_000_000, 123_500_000]);
  assert.deepEqual(msToHrTime(0), [0, 0]);
  assert.deepEqual(msToHrTime(1000), [1, 0]);
  assert.deepEqual(msToHrTime(1.0000004), [0, 1_000_000]);
  assert.deepEqual(msToHrTime(1.0000006), [0, 1_000_001]);
});

test("a fraction that rounds up to a whole second carries into the seconds", () => {
  assert.deepEqual([epochSeconds(1999.9999999), epochNanos(1999.9999999)], [2, 0]);
  assert.deepEqual([epochSeconds(1999.9999994), epochNanos(1999.9999994)], [1, 999_999_999]);
});

test("for times around now, nanoseconds stay in range and the pair is within a microsecond of the input", () => {
  const base = 1_795_000_000_000;
  for (let i = 0; i < 10_000; i++) {
    const ms = base + i * 997.123456;
    const [s, ns] = msToHrTime(ms);
    assert.ok(Number.isInteger(s) && Number.isInteger(ns) && ns >= 0 && ns < 1e9, `${ms} → ${s}, ${ns}`);
    assert.ok(Math.abs((s - base / 1000) * 1000 + ns / 1e6 - (ms - base)) < 1e-3, `${ms} → ${s}, ${ns}`);
  }
});
