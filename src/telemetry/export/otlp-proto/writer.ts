// A protobuf writer for OTLP export requests: one pass into a growing Buffer. A nested
// message reserves the bytes its length will most likely need and moves its body only when
// the guess was wrong, so no size-estimation pass walks the data twice. The encoding is
// canonical (minimal varints, fields in number order), the same bytes the SDK's
// serializers produce.

import { epochNanos, epochSeconds } from "../../hr-time.ts";

const INITIAL_CAPACITY = 64 * 1024;
/** A scratch buffer grown past this is let go after the request, so one huge batch does not pin memory. */
const KEEP_CAPACITY = 1024 * 1024;

const HEX_VALUES = new Uint8Array(128);
for (let i = 0; i < 10; i++) HEX_VALUES[0x30 + i] = i;
for (let i = 0; i < 6; i++) {
  HEX_VALUES[0x41 + i] = 10 + i;
  HEX_VALUES[0x61 + i] = 10 + i;
}

export function varintSize(v: number): number {
  return v < 0x80 ? 1 : v < 0x4000 ? 2 : v < 0x200000 ? 3 : v < 0x10000000 ? 4 : 5;
}

export class ProtoWriter {
  buf: Buffer;
  pos = 0;

  constructor(capacity: number = INITIAL_CAPACITY) {
    this.buf = Buffer.allocUnsafe(capacity);
  }

  reset(): void {
    if (this.buf.length > KEEP_CAPACITY) this.buf = Buffer.allocUnsafe(INITIAL_CAPACITY);
    this.pos = 0;
  }

  /** A copy of what was written: the transport may hold it after the scratch buffer is reused. */
  finish(): Uint8Array {
    return Buffer.from(this.buf.subarray(0, this.pos));
  }

  ensure(extra: number): void {
    const needed = this.pos + extra;
    if (needed <= this.buf.length) return;
    let size = Math.max(64, this.buf.length * 2);
    while (size < needed) size *= 2;
    const next = Buffer.allocUnsafe(size);
    this.buf.copy(next, 0, 0, this.pos);
    this.buf = next;
  }

  /** A tag or any other unsigned value below 2^32. */
  uint32(v: number): void {
    this.ensure(5);
    const b = this.buf;
    let p = this.pos;
    while (v > 0x7f) {
      b[p++] = (v & 0x7f) | 0x80;
      v >>>= 7;
    }
    b[p++] = v;
    this.pos = p;
  }

  /** int64 as protobuf varint: negatives in two's complement (ten bytes). */
  int64(v: number): void {
    if (v >= 0 && v <= 0xffffffff) {
      this.uint32(v);
      return;
    }
    let low: number;
    let high: number;
    const abs = Math.abs(v);
    low = abs >>> 0;
    high = Math.floor(abs / 4294967296) >>> 0;
    if (v < 0) {
      low = ~low >>> 0;
      high = ~high >>> 0;
      low = (low + 1) >>> 0;
      if (low === 0) high = (high + 1) >>> 0;
    }
    this.ensure(10);
    const b = this.buf;
    let p = this.pos;
    while (high > 0 || low > 0x7f) {
      b[p++] = (low & 0x7f) | 0x80;
      low = ((low >>> 7) | (high << 25)) >>> 0;
      high >>>= 7;
    }
    b[p++] = low;
    this.pos = p;
  }

  fixed32(v: number): void {
    this.ensure(4);
    this.buf.writeUInt32LE(v >>> 0, this.pos);
    this.pos += 4;
  }

  double(v: number): void {
    this.ensure(8);
    this.buf.writeDoubleLE(v, this.pos);
    this.pos += 8;
  }

  /** Unix nanoseconds given as seconds and nanoseconds, as fixed64. */
  hrTime(seconds: number, nanos: number): void {
    // seconds * 1e9 overflows 2^53 after 2255, so the product is split at 2^32 by hand.
    const low16 = (seconds & 0xffff) * 1e9;
    const high = Math.floor(seconds / 65536) * 1e9;
    const lowSum = (low16 % 4294967296) + (high % 65536) * 65536 + nanos;
    const lo = lowSum >>> 0;
    const hi = (Math.floor(low16 / 4294967296) + Math.floor(high / 65536) + Math.floor(lowSum / 4294967296)) >>> 0;
    this.ensure(8);
    this.buf.writeUInt32LE(lo, this.pos);
    this.buf.writeUInt32LE(hi, this.pos + 4);
    this.pos += 8;
  }

  /** Epoch milliseconds as fixed64 Unix nanoseconds, exactly as hrTime(...msToHrTime(ms)). */
  epochMs(ms: number): void {
    this.hrTime(epochSeconds(ms), epochNanos(ms));
  }

  raw(bytes: Uint8Array): void {
    this.ensure(bytes.length);
    this.buf.set(bytes, this.pos);
    this.pos += bytes.length;
  }

  /** Length-delimited bytes from a hex string (trace and span ids); decoded here, a native call costs more for 16 bytes. */
  hexBytes(hex: string): void {
    const n = hex.length >>> 1;
    this.ensure(n + 1);
    const b = this.buf;
    let p = this.pos;
    b[p++] = n;
    for (let i = 0; i < n; i++) b[p++] = (HEX_VALUES[hex.charCodeAt(2 * i) & 0x7f]! << 4) | HEX_VALUES[hex.charCodeAt(2 * i + 1) & 0x7f]!;
    this.pos = p;
  }

  /**
   * A KeyValue field whose value is a short ASCII string, written in one go: `key` is the
   * KeyValue's bytes up to the value's length. False, with nothing written, when the value
   * is long or not ASCII; the caller then takes the general path.
   */
  keyValueString(tag: number, key: Uint8Array, value: string): boolean {
    const len = value.length;
    const kvLen = key.length + 3 + len;
    if (kvLen > 0x7f) return false;
    this.ensure(2 + kvLen);
    const b = this.buf;
    let p = this.pos;
    b[p++] = tag;
    b[p++] = kvLen;
    for (let i = 0; i < key.length; i++) b[p++] = key[i]!;
    b[p++] = len + 2;
    b[p++] = 0x0a;
    b[p++] = len;
    for (let i = 0; i < len; i++) {
      const c = value.charCodeAt(i);
      if (c > 0x7f) return false;
      b[p++] = c;
    }
    this.pos = p;
    return true;
  }

  /** A KeyValue field whose value is a non-negative integer below 2^28 (int_value). */
  keyValueSmallInt(tag: number, key: Uint8Array, value: number): boolean {
    const size = varintSize(value);
    const kvLen = key.length + 2 + size;
    if (kvLen > 0x7f || size > 4) return false;
    this.ensure(2 + kvLen);
    const b = this.buf;
    let p = this.pos;
    b[p++] = tag;
    b[p++] = kvLen;
    for (let i = 0; i < key.length; i++) b[p++] = key[i]!;
    b[p++] = size + 1;
    b[p++] = 0x18;
    let v = value;
    while (v > 0x7f) {
      b[p++] = (v & 0x7f) | 0x80;
      v >>>= 7;
    }
    b[p++] = v;
    this.pos = p;
    return true;
  }

  /** A length-delimited UTF-8 string. */
  string(s: string): void {
    const len = s.length;
    if (len < 0x80) {
      this.ensure(1 + len * 3);
      const b = this.buf;
      const start = this.pos + 1;
      let p = start;
      // Short ASCII strings are copied here; a native call costs more than the loop.
      for (let i = 0; i < len; i++) {
        const c = s.charCodeAt(i);
        if (c > 0x7f) {
          p = start + b.write(s, start, "utf8");
          return this.#closeString(start, p);
        }
        b[p++] = c;
      }
      b[start - 1] = len;
      this.pos = p;
      return;
    }
    const guess = varintSize(len);
    this.ensure(guess + len * 3);
    const start = this.pos + guess;
    const written = this.buf.write(s, start, "utf8");
    this.pos = this.pos + guess;
    this.#closeLength(start - guess, guess, start + written);
  }

  /** UTF-8 bytes with no length: one piece of a string whose length a begin()/end() pair writes. */
  utf8(s: string): void {
    const len = s.length;
    this.ensure(len * 3);
    const b = this.buf;
    let p = this.pos;
    if (len < 0x80) {
      for (let i = 0; i < len; i++) {
        const c = s.charCodeAt(i);
        if (c > 0x7f) {
          this.pos += b.write(s, this.pos, "utf8");
          return;
        }
        b[p++] = c;
      }
      this.pos = p;
      return;
    }
    this.pos += b.write(s, p, "utf8");
  }

  #closeString(start: number, end: number): void {
    this.#closeLength(start - 1, 1, end);
  }

  /**
   * Opens a nested message: reserves `guess` bytes for its length and returns the mark
   * end() needs. Guess 1 for small messages, more for ones that hold many spans.
   */
  begin(guess: number): number {
    this.ensure(guess);
    this.pos += guess;
    return this.pos * 8 + guess;
  }

  end(mark: number): void {
    const guess = mark & 7;
    const bodyStart = (mark - guess) / 8;
    this.#closeLength(bodyStart - guess, guess, this.pos);
  }

  /** Writes the length of [lengthAt + reserved, end) at lengthAt, moving the body if the varint size differs. */
  #closeLength(lengthAt: number, reserved: number, end: number): void {
    const bodyStart = lengthAt + reserved;
    const length = end - bodyStart;
    const size = varintSize(length);
    if (size !== reserved) {
      this.ensure(size - reserved + (end - this.pos));
      this.buf.copyWithin(lengthAt + size, bodyStart, end);
      end += size - reserved;
    }
    const b = this.buf;
    let p = lengthAt;
    let v = length;
    while (v > 0x7f) {
      b[p++] = (v & 0x7f) | 0x80;
      v >>>= 7;
    }
    b[p] = v;
    this.pos = end;
  }
}
