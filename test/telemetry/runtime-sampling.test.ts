// The draw of Envoy's access log RuntimeFilter: the integer Envoy's UUID request id extension
// reads from X-Request-Id (its last 8 hex digits), and the fractional percent check on it.
import assert from "node:assert/strict";
import { test } from "node:test";
import { fractionHolds, independentDraw, requestIdDraw } from "../../src/telemetry/logs/runtime-sampling.ts";

test("the draw is the last 8 hex digits of a 36-character id, as Envoy's UUID extension reads it", () => {
  assert.equal(requestIdDraw("4bf92f35-77b3-4da6-a3ce-929d00000031"), 0x31);
  assert.equal(requestIdDraw("4bf92f35-77b3-4da6-a3ce-929dFFFFFFFF"), 0xffff_ffff);
  assert.equal(requestIdDraw("4bf92f35-77b3-4da6-a3ce-929d0000003z"), undefined, "not hex");
  assert.equal(requestIdDraw("4bf92f35-77b3-4da6-a3ce-929d0000003"), undefined, "shorter than a UUID");
  assert.equal(requestIdDraw("4bf92f35-77b3-4da6-a3ce-929d00000031-extra"), 0x31, "Envoy reads positions 28 to 35 of a longer id too");
  assert.equal(requestIdDraw(undefined), undefined);
});

test("a fraction holds when the draw modulo the denominator is below the numerator; a numerator at or past it always holds", () => {
  assert.equal(fractionHolds(49, 50, 100), true);
  assert.equal(fractionHolds(50, 50, 100), false);
  assert.equal(fractionHolds(149, 50, 100), true);
  assert.equal(fractionHolds(4999, 5000, 10_000), true);
  assert.equal(fractionHolds(5000, 5000, 10_000), false);
  assert.equal(fractionHolds(0, 0, 100), false);
  assert.equal(fractionHolds(99, 100, 100), true);
  assert.equal(fractionHolds(99, 150, 100), true);
});

test("an independent draw is a 32-bit integer", () => {
  const draws = Array.from({ length: 1000 }, independentDraw);
  for (const draw of draws) assert.ok(Number.isInteger(draw) && draw >= 0 && draw < 2 ** 32, String(draw));
  assert.ok(new Set(draws).size > 990, "draws differ");
});
