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
  /** The body did not decode, or inflated past the limit. */
  failed(outcome: "invalid" | "inflate_limit", error: Error): void;
}

export class InflatedBody {
  readonly coding: ContentCoding;
  /** What the upstream reads. */
  readonly stream: Transform;
  readonly #source: Readable;
  readonly #decoder: Transform;
  compressedBytes = 0;
  uncompressedBytes = 0;
  outcome: DecompressionOutcome | undefined = undefined;

  constructor(source: Readable, coding: ContentCoding, sink: InflationSink) {
    this.coding = coding;
    this.#source = source;
    const decoder = decoderFor(coding);
    this.#decoder = decoder;
    const guard = new Transform({
      transform: (chunk: Buffer, _encoding: BufferEncoding, done: TransformCallback) => {
        this.uncompressedBytes += chunk.length;
        if (this.uncompressedBytes > inflateLimit(this.compressedBytes)) done(new InflateLimitError(`the request body inflates past ${inflateLimit(this.compressedBytes)} bytes`));
        else done(null, chunk);
      },
    });
    this.stream = guard;
    source.on("data", (chunk: Buffer) => {
      this.compressedBytes += chunk.length;
      sink.received(chunk.length);
    });
    // Listeners added before the upstream's own: the gateway answers before undici reports the body failed.
    const fail = (error: Error): void => {
      if (this.outcome !== undefined) return;
      this.outcome = error instanceof InflateLimitError ? "inflate_limit" : "invalid";
      source.unpipe(decoder);
      decoder.destroy();
      sink.failed(this.outcome, error);
    };
    decoder.on("error", (error: Error) => {
      fail(error);
      // Without an error: the upstream's reader sees the body cut, and the attempt is settled already.
      guard.destroy();
    });
    // undici destroys the body with its own error when the upstream fails mid-upload: that is
    // the attempt's failure, answered as one; only the inflation bound is the body's.
    guard.on("error", (error: Error) => {
      if (error instanceof InflateLimitError) fail(error);
    });
    guard.once("end", () => {
      this.outcome ??= "decompressed";
    });
    source.pipe(decoder).pipe(guard);
  }

  /** Decoded bytes the upstream has not taken yet, and compressed ones not decoded yet. */
  get pendingBytes(): number {
    return this.#decoder.writableLength + this.#decoder.readableLength + this.stream.writableLength + this.stream.readableLength;
  }

  /** The exchange ended first: stop decoding. */
  destroy(): void {
    this.outcome ??= "abandoned";
    this.#source.unpipe(this.#decoder);
    this.#decoder.destroy();
    this.stream.destroy();
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
