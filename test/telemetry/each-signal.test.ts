// eachSignal: every signal's hook runs with the hook's arguments even when an earlier one
// throws, and the first error is what the caller sees.
import { test } from "node:test";
import assert from "node:assert/strict";
import { eachSignal } from "../../src/telemetry/each-signal.ts";

test("every hook runs with the arguments after another throws, and the first error is rethrown", () => {
  const seen: string[] = [];
  const hook = eachSignal([
    (a: string, b: number) => {
      seen.push(`first ${a} ${b}`);
      throw new Error("first");
    },
    (a: string, b: number) => void seen.push(`second ${a} ${b}`),
    () => {
      seen.push("third");
      throw new Error("third");
    },
    (a: string, b: number) => void seen.push(`fourth ${a} ${b}`),
  ]);
  assert.throws(() => hook("x", 1), { message: "first" });
  assert.deepEqual(seen, ["first x 1", "second x 1", "third", "fourth x 1"]);
});

test("hooks that all return run once each, in order, and nothing is thrown", () => {
  const seen: number[] = [];
  const hook = eachSignal([(n: number) => void seen.push(n), (n: number) => void seen.push(n * 10)]);
  hook(3);
  hook(4);
  assert.deepEqual(seen, [3, 30, 4, 40]);
});

test("a non-Error thrown is rethrown as it was", () => {
  const hook = eachSignal([
    () => {
      throw "text";
    },
    () => undefined,
  ]);
  assert.throws(() => hook(), (thrown: unknown) => thrown === "text");
});
