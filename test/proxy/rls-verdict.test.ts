// A rate limit service's answer read on its own (src/proxy/rls-verdict.ts), and how its grant
// combines with an ExternalAuth check's (src/proxy/auth-grant.ts): the cases the end-to-end
// tests cannot reach without a service written for each.
import { test } from "node:test";
import assert from "node:assert/strict";
import { AuthGrant, combinedGrant } from "../../src/proxy/auth-grant.ts";
import type { OutgoingHeaders } from "../../src/telemetry/hooks.ts";
import type { DescriptorStatusMessage, RateLimitResponseMessage } from "../../src/proxy/rls-messages.ts";
import { readRlsVerdict } from "../../src/proxy/rls-verdict.ts";

const MINUTE = 2;
const HOUR = 3;
const answer = (overallCode: number, statuses: DescriptorStatusMessage[], extra: Partial<RateLimitResponseMessage> = {}): RateLimitResponseMessage => ({
  overallCode,
  statuses,
  responseHeadersToAdd: [],
  requestHeadersToAdd: [],
  rawBody: new Uint8Array(),
  ...extra,
});
const status = (requestsPerUnit: number, unit: number, limitRemaining: number, name = ""): DescriptorStatusMessage => ({ code: 1, currentLimit: { name, requestsPerUnit, unit }, limitRemaining, durationUntilReset: { seconds: 10, nanos: 0 } });

test("X-RateLimit-Limit lists only limits in a known unit; of two with the least remaining, the first names the limit", () => {
  const verdict = readRlsVerdict(answer(1, [status(100, 99, 3), status(10, MINUTE, 3, "a"), status(20, HOUR, 3, "b")]), true);
  assert.equal(verdict.kind, "ok");
  const headers: OutgoingHeaders = {};
  if (verdict.kind === "ok") verdict.grant.responseMutations!.forEach((m) => (headers[m.name] = m.value));
  assert.deepEqual(headers, { "x-ratelimit-limit": '100, 10;w=60;name="a", 20;w=3600;name="b"', "x-ratelimit-remaining": "3", "x-ratelimit-reset": "10" });
});

test("an over-limit answer keeps repeated Set-Cookie headers apart and joins other repeated names", () => {
  const verdict = readRlsVerdict(
    answer(2, [], {
      responseHeadersToAdd: [
        { key: "Set-Cookie", value: "a=1; Expires=Wed, 21 Oct 2026 07:28:00 GMT", rawValue: new Uint8Array() },
        { key: "set-cookie", value: "b=2", rawValue: new Uint8Array() },
        { key: "x-why", value: "burst", rawValue: new Uint8Array() },
        { key: "x-why", value: "daily", rawValue: new Uint8Array() },
      ],
    }),
    false,
  );
  assert.equal(verdict.kind, "over_limit");
  if (verdict.kind === "over_limit") {
    assert.deepEqual(verdict.headers, { "set-cookie": ["a=1; Expires=Wed, 21 Oct 2026 07:28:00 GMT", "b=2"], "x-why": "burst,daily", "x-envoy-ratelimited": "true" });
  }
});

test("overall code UNKNOWN is OK, as a release Envoy reads it", () => {
  assert.equal(readRlsVerdict(answer(0, []), false).kind, "ok");
});

test("a rate limit service's grant after an ExternalAuth check's: a header the check removed but the service sets stays; both sets of answer headers apply", () => {
  const auth = new AuthGrant([{ name: "x-user-id", value: "alice", action: "overwrite" }], ["x-tier", "authorization"], [{ name: "x-auth", value: "yes", action: "overwrite" }]);
  const service = new AuthGrant([{ name: "x-tier", value: "gold", action: "overwrite" }], [], [{ name: "x-rls", value: "yes", action: "append" }]);
  const combined = combinedGrant(auth, service)!;
  const request: OutgoingHeaders = { "x-tier": "bronze", authorization: "Bearer t", "x-user-id": "mallory" };
  combined.applyTo(request);
  assert.deepEqual(request, { "x-tier": "gold", "x-user-id": "alice" });
  assert.deepEqual(combined.responseMutations!.map((m) => m.name), ["x-auth", "x-rls"]);
  assert.equal(combinedGrant(undefined, service), service);
  assert.equal(combinedGrant(auth, undefined), auth);
});
