// backoffDelayMs bounds: equal jitter under a ceiling of base·2^(n−1), capped at 10·base.
// Math.random is pinned at its extremes for the exact bounds, then left alone for a sweep.
import { test, mock } from "node:test";
import assert from "node:assert/strict";
import { backoffDelayMs } from "../../src/proxy/retry.ts";

const ceiling = (base: number, n: number): number => Math.min(base * 2 ** (n - 1), base * 10);

test("the lowest draw waits exactly half the ceiling; the highest stays just under it", (t) => {
  const random = mock.method(Math, "random", () => 0);
  t.after(() => random.mock.restore());
  const expectedCeilings = [10, 20, 40, 80, 100, 100, 100];
  for (let n = 1; n <= expectedCeilings.length; n++) {
    assert.equal(ceiling(10, n), expectedCeilings[n - 1]);
    assert.equal(backoffDelayMs(10, n), expectedCeilings[n - 1]! / 2, `retry ${n} at random 0`);
  }
  random.mock.mockImplementation(() => 0.9999);
  for (let n = 1; n <= expectedCeilings.length; n++) {
    const c = expectedCeilings[n - 1]!;
    const d = backoffDelayMs(10, n);
    assert.ok(Math.abs(d - (c / 2 + 0.9999 * (c / 2))) < 1e-9 && d < c, `retry ${n} at random 0.9999: ${d}`);
  }
  assert.ok(Math.abs(backoffDelayMs(25, 100) - (125 + 0.9999 * 125)) < 1e-9, "a huge retry number stays capped at 10x base");
});

test("no backoff configured means no wait, whatever the draw", () => {
  for (const base of [0, -5]) for (const n of [1, 2, 10]) assert.equal(backoffDelayMs(base, n), 0);
});

test("unpinned draws stay within [ceiling/2, ceiling) and spread over the range", () => {
  for (const base of [1, 7, 250]) {
    for (let n = 1; n <= 8; n++) {
      const c = ceiling(base, n);
      const draws = Array.from({ length: 200 }, () => backoffDelayMs(base, n));
      for (const d of draws) assert.ok(d >= c / 2 && d < c, `base ${base} retry ${n}: ${d} outside [${c / 2}, ${c})`);
      // 200 uniform draws all landing in one half of the jitter range has probability 2^-199.
      assert.ok(draws.some((d) => d < (c * 3) / 4) && draws.some((d) => d >= (c * 3) / 4), `base ${base} retry ${n}: jitter is spread`);
    }
  }
});
