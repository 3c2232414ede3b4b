// A request body decoded on its way to the upstream. The client's bytes go through the
// coding's decompressor and a guard that fails the body once it inflates past
// `inflateLimit`; the upstream reads the guard. On failure the client's stream is unpiped,
// so the rest of its body is never read (the answer then closes the connection).
import type { Readable } from "node:stream";
import { Transform, type TransformCallback } from "node:stream";
import { createBrotliDecompress, createGunzip, createZstdDecompress } from "node:zlib";
import type { ContentCoding } from "../config/model.ts";
import { type DecompressionOutcome, inflateLimit } from "./request-decompression.ts";

export class InflateLimitError extends Error {
  override name = "InflateLimitError";
}

export interface InflationSink {
  /** Body bytes as the client sent them (compressed). */
  received(bytes: number): void;
  /**
   * The body did not decode, or inflated past the limit. True when the request was refused
   * for it; false when the upstream's answer was already under way and stands.
   */
  failed(outcome: "invalid" | "inflate_limit", error: Error): boolean;
}

export class InflatedBody {
  readonly coding: ContentCoding;
  /** What the upstream reads. */
  readonly stream: Transform;
  readonly #source: Readable;
  readonly #decoder: Transform;
  readonly #sink: InflationSink;
  #started = false;
  compressedBytes = 0;
  uncompressedBytes = 0;
  outcome: DecompressionOutcome | undefined = undefined;

  constructor(source: Readable, coding: ContentCoding, sink: InflationSink) {
    this.coding = coding;
    this.#source = source;
    this.#sink = sink;
    const decoder = decoderFor(coding);
    this.#decoder = decoder;
    // Nothing is read from the client until the upstream reads (undici starts once connected),
    // so an attempt that never connected leaves the body untouched for a retry.
    const guard = new ReadStartingTransform(() => this.#start(), (chunk, done) => {
      // Decoded before a failure and still on its way: dropped.
      if (this.outcome !== undefined) return done();
      this.uncompressedBytes += chunk.length;
      if (this.uncompressedBytes <= inflateLimit(this.compressedBytes)) return done(null, chunk);
      const error = new InflateLimitError(`the request body inflates past ${inflateLimit(this.compressedBytes)} bytes`);
      if (this.#fail(error)) return done(error);
      done();
      guard.end();
    });
    this.stream = guard;
    decoder.on("error", (error: Error) => {
      // Refused: the attempt is settled already and its reader sees the body cut. Otherwise
      // the upstream answered before this part of the body: it gets the body cut short but
      // well formed, as Envoy's decompressor truncates it, and its answer goes on.
      if (this.#fail(error)) guard.destroy();
      else guard.end();
    });
    // Its own bound, already handled; or undici's error when the upstream fails mid-upload,
    // which is the attempt's failure and answered as one.
    guard.on("error", ignore);
    guard.once("end", () => {
      this.outcome ??= "decompressed";
    });
    // The upstream let go of the body before its end (it answered early, or failed): stop decoding.
    guard.once("close", () => {
      if (this.outcome === undefined) this.destroy();
    });
  }

  #start(): void {
    if (this.#started) return;
    this.#started = true;
    this.#source.on("data", (chunk: Buffer) => {
      this.compressedBytes += chunk.length;
      this.#sink.received(chunk.length);
    });
    this.#source.pipe(this.#decoder).pipe(this.stream);
  }

  #fail(error: Error): boolean {
    if (this.outcome !== undefined) return true;
    this.outcome = error instanceof InflateLimitError ? "inflate_limit" : "invalid";
    this.#source.unpipe(this.#decoder);
    this.#decoder.destroy();
    return this.#sink.failed(this.outcome, error);
  }

  /** Decoded bytes the upstream has not taken yet, and compressed ones not decoded yet. */
  get pendingBytes(): number {
    return this.#decoder.writableLength + this.#decoder.readableLength + this.stream.writableLength + this.stream.readableLength;
  }

  /** The exchange ended first, or the upstream let go of the body: stop decoding. */
  destroy(): void {
    this.outcome ??= "abandoned";
    this.#source.unpipe(this.#decoder);
    this.#decoder.destroy();
    this.stream.destroy();
  }
}

function ignore(): void {}

/** A Transform that calls `onFirstRead` when its reader first asks for data. */
class ReadStartingTransform extends Transform {
  readonly #onFirstRead: () => void;
  readonly #check: (chunk: Buffer, done: TransformCallback) => void;

  constructor(onFirstRead: () => void, check: (chunk: Buffer, done: TransformCallback) => void) {
    super();
    this.#onFirstRead = onFirstRead;
    this.#check = check;
  }

  override _read(size: number): void {
    this.#onFirstRead();
    super._read(size);
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, done: TransformCallback): void {
    this.#check(chunk, done);
  }
}

function decoderFor(coding: ContentCoding): Transform {
  switch (coding) {
    case "gzip":
      return createGunzip();
    case "br":
      return createBrotliDecompress();
    case "zstd":
      return createZstdDecompress();
  }
}
