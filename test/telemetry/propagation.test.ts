// W3C Trace Context Level 2, tracestate limits and B3 parsing, at the parser level. The
// end-to-end behaviour (what the upstream receives) is in propagation-e2e.test.ts.
import { test } from "node:test";
import assert from "node:assert/strict";
import { createPropagation, extract, inject, parsePropagators, parseTraceparent, validTraceState } from "../../src/telemetry/trace/propagation.ts";
import type { OutgoingHeaders } from "../../src/telemetry/hooks.ts";

const T = "4bf92f3577b34da6a3ce929d0e0e4736";
const S = "00f067aa0ba902b7";

test("traceparent version 00 is strict: exact length, lower-case hex, non-zero ids", () => {
  assert.deepEqual(parseTraceparent(`00-${T}-${S}-01`, undefined), { traceId: T, spanId: S, sampled: true, random: false, traceState: undefined });
  assert.equal(parseTraceparent(`00-${T}-${S}-00`, undefined)?.sampled, false);
  assert.equal(parseTraceparent(`00-${T}-${S}-03`, undefined)?.random, true);
  assert.equal(parseTraceparent(`00-${T.toUpperCase()}-${S}-01`, undefined), undefined, "upper-case trace id");
  assert.equal(parseTraceparent(`00-${T}-${S.toUpperCase()}-01`, undefined), undefined, "upper-case span id");
  assert.equal(parseTraceparent(`00-${"0".repeat(32)}-${S}-01`, undefined), undefined, "all-zero trace id");
  assert.equal(parseTraceparent(`00-${T}-${"0".repeat(16)}-01`, undefined), undefined, "all-zero span id");
  assert.equal(parseTraceparent(`00-${T}-${S}-01-extra`, undefined), undefined, "version 00 with extra fields");
  assert.equal(parseTraceparent(`00-${T}-${S}-1`, undefined), undefined, "short flags");
  assert.equal(parseTraceparent(`00-${T.slice(1)}-${S}-01`, undefined), undefined, "short trace id");
  assert.equal(parseTraceparent(`00_${T}_${S}_01`, undefined), undefined, "wrong separators");
  assert.equal(parseTraceparent("garbage", undefined), undefined);
  assert.equal(parseTraceparent(`0g-${T}-${S}-01`, undefined), undefined, "non-hex version");
});

test("traceparent: version ff is invalid, future versions parse by their 00 prefix", () => {
  assert.equal(parseTraceparent(`ff-${T}-${S}-01`, undefined), undefined);
  assert.deepEqual(parseTraceparent(`cc-${T}-${S}-01-what-the-future-will-be-like`, undefined)?.traceId, T);
  assert.equal(parseTraceparent(`cc-${T}-${S}-01`, undefined)?.spanId, S);
  assert.equal(parseTraceparent(`cc-${T}-${S}-01.extra`, undefined), undefined, "future version needs '-' after the flags");
});

test("tracestate is kept byte for byte when valid, dropped when invalid or over 32 members", () => {
  const ts = "congo=t61rcWkgMzE, rojo=00f067aa0ba902b7";
  assert.equal(parseTraceparent(`00-${T}-${S}-01`, ts)?.traceState, ts);
  assert.equal(validTraceState("a=1,b=2"), "a=1,b=2");
  assert.equal(validTraceState("tenant@vendor=x"), "tenant@vendor=x");
  assert.equal(validTraceState("a=1,,b=2"), "a=1,,b=2", "empty members are allowed");
  assert.equal(validTraceState("A=1"), undefined, "upper-case key");
  // Level 2 keys: any of a-z 0-9 _ - * / @ after a lower-case letter or digit, up to 256 characters.
  for (const key of ["foo@", "foo@@bar", "1vendor", `t@${"v".repeat(15)}`, `${"t".repeat(242)}@v`, "a".repeat(256)]) {
    assert.equal(validTraceState(`${key}=1,congo=abc`), `${key}=1,congo=abc`, key);
  }
  for (const key of ["a".repeat(257), "@foo", "_a", "a.b", "a b"]) assert.equal(validTraceState(`${key}=1,congo=abc`), undefined, key);
  assert.equal(validTraceState("a=1,a=2"), undefined, "duplicate key");
  assert.equal(validTraceState("a"), undefined, "no value");
  assert.equal(validTraceState("a=x=y=,"), undefined, "'=' not allowed in value");
  const thirtyTwo = Array.from({ length: 32 }, (_, i) => `k${i}=v${i}`).join(",");
  assert.equal(validTraceState(thirtyTwo), thirtyTwo);
  const thirtyThree = `${thirtyTwo},k32=v32`;
  assert.equal(validTraceState(thirtyThree), undefined);
  assert.equal(parseTraceparent(`00-${T}-${S}-01`, thirtyThree)?.traceState, undefined);
});

test("B3 single and multi headers, 64-bit ids padded", () => {
  const p = createPropagation(["b3", "b3multi"]);
  const single = extract(p, { b3: `${T}-${S}-1` });
  assert.deepEqual([single?.traceId, single?.spanId, single?.sampled], [T, S, true]);
  const short = extract(p, { b3: `a3ce929d0e0e4736-${S}-0` });
  assert.equal(short?.traceId, "0000000000000000a3ce929d0e0e4736");
  assert.equal(short?.sampled, false);
  assert.equal(extract(p, { b3: "1" }), undefined, "sampling state only carries no context");
  assert.equal(extract(p, { b3: `${T}-${S}-x` }), undefined);
  const multi = extract(p, { "x-b3-traceid": T, "x-b3-spanid": S, "x-b3-sampled": "1" });
  assert.deepEqual([multi?.traceId, multi?.spanId, multi?.sampled], [T, S, true]);
  assert.equal(extract(p, { "x-b3-traceid": T, "x-b3-spanid": S, "x-b3-flags": "1" })?.sampled, true, "debug implies sampled");
  assert.equal(extract(p, { "x-b3-traceid": T, "x-b3-spanid": "zz" }), undefined);
});

test("OTEL_PROPAGATORS: default, none, unknown names, and the injected headers", () => {
  assert.deepEqual(parsePropagators(undefined).names, ["tracecontext", "baggage"]);
  assert.deepEqual(parsePropagators(["none"]).names, []);
  const parsed = parsePropagators(["tracecontext", "xray", "b3multi"]);
  assert.deepEqual(parsed.names, ["tracecontext", "b3multi"]);
  assert.match(parsed.problems[0]!, /xray/);

  const p = createPropagation(["tracecontext", "baggage", "b3", "b3multi"]);
  const headers: OutgoingHeaders = { traceparent: "stale", "x-b3-parentspanid": "stale", other: "kept" };
  inject(p, headers, T, S, false, true, "a=1", "k=v");
  assert.deepEqual(headers, {
    other: "kept",
    traceparent: `00-${T}-${S}-02`,
    tracestate: "a=1",
    baggage: "k=v",
    b3: `${T}-${S}-0`,
    "x-b3-traceid": T,
    "x-b3-spanid": S,
    "x-b3-sampled": "0",
  });
});
