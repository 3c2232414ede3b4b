// Trace and span ids from a pooled cryptographic random source: one randomFillSync per 4 KiB
// instead of one per id, hex-encoded once; an id is then a substring. Trace ids we create
// are fully random, so their right-most 7 bytes satisfy the W3C Level 2 random flag that
// consistent sampling relies on.
import { randomFillSync } from "node:crypto";

const POOL_BYTES = 4096;
const pool = Buffer.allocUnsafe(POOL_BYTES);
let hex = "";
let offset = 0;

function refill(): void {
  randomFillSync(pool);
  hex = pool.toString("hex");
  offset = 0;
}
refill();

const ZERO_TRACE = "00000000000000000000000000000000";
const ZERO_SPAN = "0000000000000000";

export function newTraceId(): string {
  if (offset + 32 > hex.length) refill();
  const id = hex.substring(offset, offset + 32);
  offset += 32;
  return id === ZERO_TRACE ? newTraceId() : id;
}

export function newSpanId(): string {
  if (offset + 16 > hex.length) refill();
  const id = hex.substring(offset, offset + 16);
  offset += 16;
  return id === ZERO_SPAN ? newSpanId() : id;
}
