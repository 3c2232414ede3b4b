// bench:profile --rate reads long tasks out of a .cpuprofile: a hand-made profile with known
// busy stretches checks the stretches found, the window and the attribution.
import assert from "node:assert/strict";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { longTasks } from "../../bench/lib/long-tasks.ts";

const frame = (functionName: string, url = "") => ({ functionName, url, lineNumber: 9, columnNumber: 0, scriptId: "0" });
// root ─┬─ (idle)
//       ├─ (garbage collector)
//       └─ processTicksAndRejections (node:) ── onTick (app.js) ── encode (app.js)
const nodes = [
  { id: 1, callFrame: frame("(root)"), children: [2, 3, 4] },
  { id: 2, callFrame: frame("(idle)") },
  { id: 3, callFrame: frame("(garbage collector)") },
  { id: 4, callFrame: frame("processTicksAndRejections", "node:internal/process/task_queues"), children: [5] },
  { id: 5, callFrame: frame("onTick", "file:///srv/app.js"), children: [6] },
  { id: 6, callFrame: frame("encode", "file:///srv/app.js") },
];
// Every sample lasts 500 µs. Busy stretches: 3 samples (1.5 ms), then 6 (3 ms), then 5 (2.5 ms).
const pattern = "IEEEI" + "EEGEEEI" + "IEEGGEI";
const samples = [...pattern].map((c) => (c === "I" ? 2 : c === "G" ? 3 : 6));

test("long tasks: busy stretches of at least the threshold, inside the window, attributed to what started them", async (t) => {
  const dir = await mkdtemp(join(tmpdir(), "long-tasks-"));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const file = join(dir, "p.cpuprofile");
  const n = samples.length;
  await writeFile(file, JSON.stringify({ nodes, startTime: 0, endTime: (n + 1) * 500, samples, timeDeltas: Array.from({ length: n }, () => 500) }));
  const whole = { fromEndMs: (n + 1) * 0.5, toEndMs: 0 };

  const all = longTasks(file, 2, whole, (url) => url.replace("file:///srv/", ""));
  assert.equal(all.count, 2);
  assert.deepEqual(all.longestMs, [3, 2.5]);
  assert.equal(all.totalMs, 5.5);
  assert.deepEqual(all.byEntry, [
    { name: "onTick (app.js:10)", ms: 4 },
    { name: "(garbage collector) (no user-land frame)", ms: 1.5 },
  ]);
  assert.deepEqual(all.bySelf[0], { name: "encode (app.js:10)", ms: 4 });

  // A lower threshold admits the 1.5 ms stretch; a window over the last 4 ms leaves only the last one.
  assert.equal(longTasks(file, 1, whole, (url) => url).count, 3);
  const tail = longTasks(file, 2, { fromEndMs: 4, toEndMs: 0 }, (url) => url);
  assert.deepEqual(tail.longestMs, [2.5]);
});
