// What TrafficPolicy compression did, per route, rule, policy and outcome, as Envoy's
// compressor counts compressed, not_compressed and its reasons (no_accept_header,
// content_length_too_small, not_compressed_etag, ...) and its decompressor counts decompressed
// requests: `tollgate.compression.responses`, `tollgate.compression.bytes`
// (total_uncompressed_bytes and total_compressed_bytes) and `tollgate.decompression.requests`.
import type { ContentCoding } from "../config/model.ts";
import type { CompressionOutcome } from "./response-compression.ts";
import type { DecompressionOutcome } from "./request-decompression.ts";
import { RuleCounts } from "./rule-counts.ts";

export class CompressionCounts extends RuleCounts<CompressionOutcome> {}

/** Response body bytes through compressors: `uncompressed` in, `compressed` out. */
export class CompressionBytes extends RuleCounts<"uncompressed" | "compressed"> {}

/** Decoded request bodies, by coding and how the decoding ended (`gzip decompressed`). */
export class DecompressionCounts extends RuleCounts<`${ContentCoding} ${DecompressionOutcome}`> {
  /** In the order of the metric's attributes: route, rule, policy, coding, outcome. */
  *byCoding(): Iterable<readonly [route: string, rule: string, policy: string, coding: ContentCoding, outcome: DecompressionOutcome, count: number]> {
    for (const [route, rule, policy, kind, n] of this.entries()) {
      const [coding, outcome] = kind.split(" ") as [ContentCoding, DecompressionOutcome];
      yield [route, rule, policy, coding, outcome, n];
    }
  }
}
