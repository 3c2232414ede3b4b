// The decoding of a streamed request body (src/proxy/inflated-body.ts) on its own: nothing is
// read from the client before the upstream reads, corrupt data refuses the request or, once
// the upstream's answer is under way, ends the body short but well formed, and the
// inflation bound.
import { test } from "node:test";
import assert from "node:assert/strict";
import { PassThrough } from "node:stream";
import { constants, gzipSync } from "node:zlib";
import { InflatedBody } from "../../src/proxy/inflated-body.ts";

const TEXT = Buffer.from("a request body, sent compressed; ".repeat(300));

function sinkAnswering(refuses: boolean) {
  const failures: string[] = [];
  let received = 0;
  return {
    failures,
    received: () => received,
    sink: {
      received: (n: number) => void (received += n),
      failed: (outcome: "invalid" | "inflate_limit") => {
        failures.push(outcome);
        return refuses;
      },
    },
  };
}

async function readAll(body: InflatedBody): Promise<{ data: Buffer; error: unknown }> {
  const parts: Buffer[] = [];
  try {
    for await (const part of body.stream) parts.push(part as Buffer);
    return { data: Buffer.concat(parts), error: undefined };
  } catch (error) {
    return { data: Buffer.concat(parts), error };
  }
}

test("nothing is read from the client until the upstream reads; then the body decodes whole and counts the bytes sent", async () => {
  const client = new PassThrough();
  const gz = gzipSync(TEXT);
  client.end(gz);
  const { sink, received } = sinkAnswering(true);
  const body = new InflatedBody(client, "gzip", sink);
  await new Promise((r) => setImmediate(r));
  assert.equal(client.readableDidRead, false, "an attempt that never connects leaves the body for a retry");
  const { data, error } = await readAll(body);
  assert.equal(error, undefined);
  assert.deepEqual(data, TEXT);
  assert.equal(received(), gz.length);
  assert.equal(body.outcome, "decompressed");
});

test("corrupt data after a valid start: refused, the body is cut; not refused (the answer is under way), it ends short but well formed", async () => {
  const start = gzipSync(TEXT, { flush: constants.Z_SYNC_FLUSH }).subarray(0, 300);
  for (const refuses of [true, false]) {
    const client = new PassThrough();
    const { sink, failures } = sinkAnswering(refuses);
    const body = new InflatedBody(client, "gzip", sink);
    const reading = readAll(body);
    client.write(start);
    client.end(Buffer.alloc(512, 0xff));
    const { data, error } = await reading;
    assert.deepEqual(failures, ["invalid"], String(refuses));
    assert.equal(body.outcome, "invalid");
    assert.ok(data.length > 0 && TEXT.subarray(0, data.length).equals(data), "what decoded before the error went on");
    if (refuses) assert.ok(error !== undefined, "the reader sees the body cut");
    else assert.equal(error, undefined, "the reader sees the body end");
  }
});

test("a body inflating past 100 times its size and 1 MiB fails with inflate_limit: cut when refused, ended short once the answer is under way", async () => {
  for (const refuses of [true, false]) {
    const client = new PassThrough();
    const { sink, failures } = sinkAnswering(refuses);
    const body = new InflatedBody(client, "gzip", sink);
    const reading = readAll(body);
    client.end(gzipSync(Buffer.alloc(4 * 1024 * 1024, 0x20)));
    const { data, error } = await reading;
    assert.deepEqual(failures, ["inflate_limit"], String(refuses));
    assert.equal(body.outcome, "inflate_limit");
    assert.ok(data.length <= 1024 * 1024, String(refuses));
    if (refuses) assert.ok(error !== undefined, "the reader sees the body cut");
    else assert.equal(error, undefined, "the reader sees the body end");
  }
});
