// What TrafficPolicy compression did, per route, rule, policy and outcome, as Envoy's
// compressor counts compressed, not_compressed and its reasons (no_accept_header,
// content_length_too_small, not_compressed_etag, ...): `tollgate.compression.responses` and
// `tollgate.compression.bytes` (total_uncompressed_bytes and total_compressed_bytes).
import type { CompressionOutcome } from "./response-compression.ts";
import { RuleCounts } from "./rule-counts.ts";

export class CompressionCounts extends RuleCounts<CompressionOutcome> {}

/** Response body bytes through compressors: `uncompressed` in, `compressed` out. */
export class CompressionBytes extends RuleCounts<"uncompressed" | "compressed"> {}
