// A response body compressed on its way to the client, with Envoy's codec defaults. Each
// upstream chunk is flushed through (Envoy compresses every data frame with a flush), so a
// streamed answer (server-sent events, long polls) reaches the client as it is produced
// rather than when the compressor's window fills. Backpressure runs both ways: a compressor
// with too much unread input pauses the upstream, a client that backs up pauses the output.
import { constants, createBrotliCompress, createGzip, createZstdCompress } from "node:zlib";
import type { Transform } from "node:stream";
import type { ContentCoding } from "../config/model.ts";
import type { RuleCountKey } from "./rule-counts.ts";

export interface CompressedSink {
  /** A compressed chunk for the client; false: hold the next until `resumeOutput`. */
  deliver(chunk: Buffer): boolean;
  pauseUpstream(): void;
  resumeUpstream(): void;
  /** Every compressed byte was delivered. */
  finished(): void;
  failed(error: Error): void;
}

export class CompressedBody {
  readonly coding: ContentCoding;
  /** Where its bytes are counted once the response closes. */
  readonly countKey: RuleCountKey;
  readonly #stream: Transform;
  readonly #sink: CompressedSink;
  uncompressedBytes = 0;
  compressedBytes = 0;

  constructor(coding: ContentCoding, countKey: RuleCountKey, sink: CompressedSink) {
    this.coding = coding;
    this.countKey = countKey;
    this.#sink = sink;
    const stream = compressorFor(coding);
    this.#stream = stream;
    stream.on("data", (chunk: Buffer) => {
      this.compressedBytes += chunk.length;
      if (!sink.deliver(chunk)) stream.pause();
    });
    stream.on("drain", () => sink.resumeUpstream());
    stream.once("end", () => sink.finished());
    stream.once("error", (error: Error) => sink.failed(error));
  }

  write(chunk: Buffer): void {
    this.uncompressedBytes += chunk.length;
    if (!this.#stream.write(chunk)) this.#sink.pauseUpstream();
  }

  /** The upstream body is whole: the rest is compressed and `finished` follows. */
  end(): void {
    this.#stream.end();
  }

  pauseOutput(): void {
    this.#stream.pause();
  }

  resumeOutput(): void {
    this.#stream.resume();
  }

  /** The response is over, finished or not: the codec's memory goes now. */
  destroy(): void {
    this.#stream.destroy();
  }
}

/**
 * Envoy's defaults: gzip at level 6 with memory level 5 and a 4 KiB window (2^12), brotli at
 * quality 3 with a 2^18 window, zstd at level 3.
 */
function compressorFor(coding: ContentCoding): Transform {
  switch (coding) {
    case "gzip":
      return createGzip({ level: 6, memLevel: 5, windowBits: 12, flush: constants.Z_SYNC_FLUSH });
    case "br":
      return createBrotliCompress({
        flush: constants.BROTLI_OPERATION_FLUSH,
        params: { [constants.BROTLI_PARAM_QUALITY]: 3, [constants.BROTLI_PARAM_LGWIN]: 18 },
      });
    case "zstd":
      return createZstdCompress({ flush: constants.ZSTD_e_flush, params: { [constants.ZSTD_c_compressionLevel]: 3 } });
  }
}
