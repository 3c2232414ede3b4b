// The fault injection policy on its own: each share drawn per request, maxActiveFaults
// counting only requests that drew a fault, and slots held as Envoy holds them: to the
// exchange's end, but for a delay alone on a policy that slows no response.
import { test } from "node:test";
import assert from "node:assert/strict";
import { EventEmitter } from "node:events";
import type { FaultInjectionModel } from "../../src/config/model.ts";
import { FaultInjectionPolicy, FaultInjections } from "../../src/proxy/fault-injection.ts";

const model = (over: Partial<FaultInjectionModel>): FaultInjectionModel => ({ type: "FaultInjection", policy: "default/p", delay: undefined, abort: undefined, responseRateLimit: undefined, maxActiveFaults: undefined, ...over });
const key = { route: "default/r", rule: "rule-0", policy: "default/p" };
const kinds = (counts: FaultInjections): [string, number][] => [...counts.entries()].map(([, , , kind, n]): [string, number] => [kind, n]).sort();

test("each share is drawn on its own: a draw under a share gets that fault, one over it does not", (t) => {
  const policy = new FaultInjectionPolicy(model({ delay: { ms: 10, share: 0.5 }, abort: { httpStatus: 503, grpcStatus: undefined, share: 0.2 } }));
  const draws = [0.4, 0.1];
  t.mock.method(Math, "random", () => draws.shift()!);
  const counts = new FaultInjections();
  const both = policy.draw(key, counts, new EventEmitter(), true);
  assert.deepEqual([both?.delayMs, both?.abort, both?.responseBytesPerSecond], [10, true, undefined]);
  draws.push(0.6, 0.3);
  assert.equal(policy.draw(key, counts, new EventEmitter(), true), undefined);
  // The abort is counted when it is sent; the delay when drawn.
  assert.deepEqual(kinds(counts), [["delay", 1]]);
});

test("maxActiveFaults counts overflow only for requests that drew a fault; a slowed response holds its slot until it closes", (t) => {
  const policy = new FaultInjectionPolicy(model({ delay: { ms: 10, share: 0.5 }, responseRateLimit: { bytesPerSecond: 1024, share: 1 }, maxActiveFaults: 1 }));
  const random = t.mock.method(Math, "random", () => 0.9);
  const counts = new FaultInjections();
  const firstEnd = new EventEmitter();
  const slowed = policy.draw(key, counts, firstEnd, true)!;
  assert.equal(slowed.responseBytesPerSecond, 1024);
  slowed.releaseSlot();
  assert.equal(policy.draw(key, counts, new EventEmitter(), true), undefined, "the slowed response still holds the slot");
  assert.deepEqual(kinds(counts), [
    ["overflow", 1],
    ["response_rate_limit", 1],
  ]);
  firstEnd.emit("close");
  random.mock.mockImplementation(() => 0.1);
  const delayedOnly = new FaultInjectionPolicy(model({ delay: { ms: 10, share: 0.5 }, maxActiveFaults: 1 }));
  const delayCounts = new FaultInjections();
  const delayed = delayedOnly.draw(key, delayCounts, new EventEmitter(), true)!;
  random.mock.mockImplementation(() => 0.9);
  assert.equal(delayedOnly.draw(key, delayCounts, new EventEmitter(), true), undefined, "a request that draws no fault is not an overflow");
  assert.deepEqual(kinds(delayCounts), [["delay", 1]]);
  random.mock.mockImplementation(() => 0.1);
  assert.equal(delayedOnly.draw(key, delayCounts, new EventEmitter(), true), undefined, "the delayed request holds the slot");
  delayed.releaseSlot();
  delayed.releaseSlot();
  assert.equal(delayedOnly.draw(key, delayCounts, new EventEmitter(), true)?.delayMs, 10, "its delay over, the slot came back (once)");
  assert.equal(delayedOnly.draw(key, delayCounts, new EventEmitter(), true), undefined, "released twice, it still counted once");
});

test("as in Envoy, an abort, or a delay on a policy that may slow responses, holds its slot to the exchange's end", (t) => {
  t.mock.method(Math, "random", () => 0.1);
  for (const faults of [{ abort: { httpStatus: 503, grpcStatus: undefined, share: 1 } }, { delay: { ms: 10, share: 1 }, responseRateLimit: { bytesPerSecond: 1024, share: 0.05 } }]) {
    const policy = new FaultInjectionPolicy(model({ ...faults, maxActiveFaults: 1 }));
    const end = new EventEmitter();
    const first = policy.draw(key, undefined, end, true)!;
    assert.equal(first.responseBytesPerSecond, undefined);
    first.releaseSlot();
    assert.equal(policy.draw(key, undefined, new EventEmitter(), true), undefined, JSON.stringify(faults));
    end.emit("close");
    assert.notEqual(policy.draw(key, undefined, new EventEmitter(), true), undefined);
  }
});

test("an upgrade draws no response rate limit: a tunnel is never slowed", () => {
  const policy = new FaultInjectionPolicy(model({ responseRateLimit: { bytesPerSecond: 1024, share: 1 } }));
  assert.equal(policy.draw(key, undefined, new EventEmitter(), false), undefined);
  assert.equal(policy.draw(key, undefined, new EventEmitter(), true)?.responseBytesPerSecond, 1024);
});
