// URL credentials are removed wherever the config or environment shows a URL: userinfo ends
// at the authority's last `@`, and an unparseable URL (a password holding `/`) loses
// everything up to its last `@`.
import assert from "node:assert/strict";
import { test } from "node:test";
import { redactUrlCredentials } from "../../src/config/url-credentials.ts";

test("userinfo up to the authority's last @ is replaced, anywhere in the text", () => {
  assert.equal(redactUrlCredentials("https://user:hun@ter2@collector.example:4318/v1"), "https://[REDACTED]@collector.example:4318/v1");
  assert.equal(redactUrlCredentials("export to http://a:b@one.example and grpc://c@two.example:4317 failed"), "export to http://[REDACTED]@one.example and grpc://[REDACTED]@two.example:4317 failed");
  assert.equal(redactUrlCredentials("'https://u:p@h:1/x'"), "'https://[REDACTED]@h:1/x'");
});

test("a URL inside another one, or right after it, is redacted on its own", () => {
  assert.equal(redactUrlCredentials("https://a.example/x,https://u:pw@b.example/"), "https://a.example/x,https://[REDACTED]@b.example/");
  assert.equal(redactUrlCredentials("https://h/p?next=https://u:pw@evil/"), "https://h/p?next=https://[REDACTED]@evil/");
});

test("a password that reads as a URL is redacted whole", () => {
  assert.equal(redactUrlCredentials("https://svc:s3cr3t+ftp://@c:4318"), "https://[REDACTED]@c:4318");
  assert.equal(redactUrlCredentials("endpoint grpc://u:x://y://z@c:4317/v1 refused"), "endpoint grpc://[REDACTED]@c:4317/v1 refused");
  assert.equal(redactUrlCredentials("https://u:ftp://p@ss@c/"), "https://[REDACTED]@c/");
  // Joined without a space, a list's first host goes with the userinfo after it: nothing secret is shown.
  assert.equal(redactUrlCredentials("https://a,https://u:pw@b/"), "https://[REDACTED]@b/");
});

test("text with many scheme-like words and an @ far away is redacted in time linear in its length", { timeout: 60_000 }, () => {
  // The first form of the userinfo pattern took 11.7 s on 18 repeats here: it would not end at 60.
  const text = `https://${"abc://".repeat(60)} contact ops@example.com`;
  assert.equal(redactUrlCredentials(text), text);
  const list = Array.from({ length: 200 }, (_, i) => `redis://h${i}:6379`).join(",");
  assert.equal(redactUrlCredentials(`${list} contact ops@example.com`), `${list} contact ops@example.com`);
});

test("a password holding / ? or # leaves an unparseable URL: all up to the last @ goes", () => {
  assert.equal(redactUrlCredentials("https://tenant:ab/cd@collector:4318"), "https://[REDACTED]@collector:4318");
  assert.equal(redactUrlCredentials("http://u:p?q#r@host:99999"), "http://[REDACTED]@host:99999");
});

test("URLs without userinfo, and an @ in a parseable path, are kept", () => {
  assert.equal(redactUrlCredentials("https://registry.example/@scope/pkg"), "https://registry.example/@scope/pkg");
  assert.equal(redactUrlCredentials("http://collector:4318/v1/traces"), "http://collector:4318/v1/traces");
  assert.equal(redactUrlCredentials("mail alice@example.com"), "mail alice@example.com");
});

test("sensitive query values are redacted; other parameters, the fragment and the path are kept", () => {
  assert.equal(
    redactUrlCredentials("https://bucket.example/o?X-Amz-Credential=AKIA%2F1&X-Amz-Signature=abc123&keep=1#frag"),
    "https://bucket.example/o?X-Amz-Credential=[REDACTED]&X-Amz-Signature=[REDACTED]&keep=1#frag",
  );
  assert.equal(redactUrlCredentials("endpoint https://c:4318/v1/traces?sig=s3cr3t refused"), "endpoint https://c:4318/v1/traces?sig=[REDACTED] refused");
  assert.equal(redactUrlCredentials("https://u:pw@c/?access_token=t0k"), "https://[REDACTED]@c/?access_token=[REDACTED]");
  // A percent-escaped name is what the receiving application reads.
  assert.equal(redactUrlCredentials("https://c/?si%67=s3cr3t"), "https://c/?si%67=[REDACTED]");
  assert.equal(redactUrlCredentials("https://c/?page=2&q=a?b"), "https://c/?page=2&q=a?b");
  assert.equal(redactUrlCredentials("what? no URL here"), "what? no URL here");
});

test("a password holding ? and a sensitive-looking name is still removed whole", () => {
  assert.equal(redactUrlCredentials("https://u:p?sig=x@collector:4318/v1"), "https://[REDACTED]@collector:4318/v1");
  assert.equal(redactUrlCredentials("https://u:p?sig=x@collector:4318/v1?sig=y"), "https://[REDACTED]@collector:4318/v1?sig=[REDACTED]");
});
