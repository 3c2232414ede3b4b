// The response throttle on its own, ticked by hand against a recording sink: a slice a tick
// with the fraction carried, the upstream paused past a second's worth (at most 1 MiB) and
// resumed at half, the client's backlog (at most 1 MiB) stopping slices and engaging the
// stall watch, and `finish` once the last byte went out.
import { test } from "node:test";
import assert from "node:assert/strict";
import { ResponseThrottle, type ThrottledSink } from "../../src/proxy/response-throttle.ts";

class RecordingSink implements ThrottledSink {
  readonly writes: number[] = [];
  readonly events: string[] = [];
  pending = 0;
  write(chunk: Buffer): void {
    this.writes.push(chunk.length);
  }
  pendingBytes(): number {
    return this.pending;
  }
  clientBackedUp(): void {
    this.events.push("backed-up");
  }
  clientCaughtUp(): void {
    this.events.push("caught-up");
  }
  pauseUpstream(): void {
    this.events.push("pause");
  }
  resumeUpstream(): void {
    this.events.push("resume");
  }
}

const sum = (list: readonly number[]): number => list.reduce((a, b) => a + b, 0);

test("a slice a tick, the fraction a slow rate leaves carried to the next", (t) => {
  const sink = new RecordingSink();
  const throttle = new ResponseThrottle(128, sink); // 6.4 bytes a tick
  t.after(() => throttle.stop());
  throttle.push(Buffer.alloc(100));
  for (let i = 0; i < 10; i++) throttle.tick();
  assert.equal(sum(sink.writes), 64, "ten ticks of 6.4 bytes");
  assert.ok(Math.max(...sink.writes) <= 7);
});

test("the upstream pauses past a second's worth, capped at 1 MiB, and resumes at half", (t) => {
  const sink = new RecordingSink();
  const fast = new ResponseThrottle(100 * 1024 * 1024, sink); // 100 MiB/s: a second's worth is past the cap
  t.after(() => fast.stop());
  fast.push(Buffer.alloc(1024 * 1024));
  assert.deepEqual(sink.events, [], "1 MiB is not past the cap");
  fast.push(Buffer.alloc(1));
  assert.deepEqual(sink.events, ["pause"]);
  sink.pending = 0;
  fast.tick(); // 5 MiB a tick: the queue drains whole
  assert.deepEqual(sink.events, ["pause", "resume"]);
  const slowSink = new RecordingSink();
  const measured = new ResponseThrottle(64 * 1024, slowSink);
  t.after(() => measured.stop());
  measured.push(Buffer.alloc(64 * 1024 + 1));
  assert.deepEqual(slowSink.events, ["pause"], "64 KiB is the floor");
  // 3276.8 bytes a tick: resumed once no more than 32 KiB waits.
  let ticks = 0;
  while (!slowSink.events.includes("resume")) {
    measured.tick();
    ticks++;
  }
  assert.ok(measured.queuedBytes <= 32 * 1024 && measured.queuedBytes > 32 * 1024 - 3277, String(measured.queuedBytes));
  assert.equal(ticks, 11);
});

test("a client with more than two slices (at least 16 KiB, at most 1 MiB) untaken gets no more, and its stall is watched until it catches up", (t) => {
  const sink = new RecordingSink();
  const throttle = new ResponseThrottle(64 * 1024, sink);
  t.after(() => throttle.stop());
  throttle.push(Buffer.alloc(32 * 1024));
  sink.pending = 16 * 1024 + 1;
  throttle.tick();
  throttle.tick();
  assert.deepEqual(sink.writes, []);
  assert.deepEqual(sink.events, ["backed-up"], "watched once, not on every tick");
  sink.pending = 0;
  throttle.tick();
  assert.deepEqual(sink.events, ["backed-up", "caught-up"]);
  assert.equal(sink.writes.length, 1);
  const huge = new RecordingSink();
  const fast = new ResponseThrottle(100 * 1024 * 1024, huge);
  t.after(() => fast.stop());
  fast.push(Buffer.alloc(10));
  huge.pending = 1024 * 1024 + 1;
  fast.tick();
  assert.deepEqual(huge.events, ["backed-up"], "even at 100 MiB/s, more than 1 MiB untaken stops the slices");
});

test("finish runs once the last byte went out; stop drops the rest", (t) => {
  const sink = new RecordingSink();
  const throttle = new ResponseThrottle(20 * 1024, sink); // 1 KiB a tick
  t.after(() => throttle.stop());
  throttle.push(Buffer.alloc(1500));
  let finished = 0;
  throttle.finish(() => finished++);
  throttle.tick();
  assert.equal(finished, 0);
  throttle.tick();
  assert.deepEqual([finished, sum(sink.writes)], [1, 1500]);
  const stopped = new ResponseThrottle(20 * 1024, new RecordingSink());
  stopped.push(Buffer.alloc(10));
  stopped.finish(() => finished++);
  stopped.stop();
  stopped.tick();
  assert.equal(finished, 1, "a stopped throttle never finishes");
});
