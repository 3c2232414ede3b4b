// kgateway TrafficPolicy `requestDecompression` (Envoy's decompressor filter, request
// direction): a request body in one of the rule's codings goes to the upstream decoded, its
// head saying so. Bodies that do not decode, or that inflate past a bound, are refused.
import type { IncomingHttpHeaders } from "node:http";
import { brotliDecompress, gunzip, zstdDecompress } from "node:zlib";
import type { ContentCoding } from "../config/model.ts";
import type { OutgoingHeaders } from "../telemetry/hooks.ts";
import { Failure } from "./failures.ts";
import { hasNoTransform } from "./response-compression.ts";

/** How a decoded request body ended, as counted by `tollgate.decompression.requests`. */
export type DecompressionOutcome = "decompressed" | "invalid" | "inflate_limit" | "abandoned";

/**
 * Envoy's decompressors stop at 100 bytes out per byte in (max_inflate_ratio); a body may
 * reach 1 MiB whatever its ratio, so a small, very regular document is not taken for a bomb.
 */
export const INFLATE_RATIO_LIMIT = 100;
export const INFLATE_FLOOR_BYTES = 1024 * 1024;

export const requestBodyInvalid = new Failure("400", "", 400, "invalid_request_body", "", false, false);
export const requestBodyInflateLimit = new Failure("413", "", 413, "request_body_too_large", "", false, false);

export function inflateLimit(compressedBytes: number): number {
  return Math.max(INFLATE_RATIO_LIMIT * compressedBytes, INFLATE_FLOOR_BYTES);
}

export class RequestDecompressionPolicy {
  readonly policy: string;
  readonly #codings: readonly ContentCoding[];

  constructor(policy: string, codings: readonly ContentCoding[]) {
    this.policy = policy;
    this.#codings = codings;
  }

  /**
   * The coding to undo on this request's body, with `upstream` (the head the upstream gets)
   * rewritten for the decoded body; undefined when the body goes as it is. The last coding
   * listed is the one applied last (RFC 9110 §8.4), so it is undone and any earlier stay.
   */
  takeCoding(request: IncomingHttpHeaders, upstream: OutgoingHeaders): ContentCoding | undefined {
    const encoding = upstream["content-encoding"];
    if (encoding === undefined || hasNoTransform(request["cache-control"])) return undefined;
    const codings = (typeof encoding === "string" ? encoding : encoding.join(",")).split(",").map((c) => c.trim()).filter((c) => c !== "");
    const outer = codings.at(-1)?.toLowerCase();
    const coding = this.#codings.find((c) => c === outer);
    if (coding === undefined) return undefined;
    codings.pop();
    if (codings.length === 0) delete upstream["content-encoding"];
    else upstream["content-encoding"] = codings.join(", ");
    delete upstream["content-length"];
    return coding;
  }
}

/** The most a body read whole is decoded to without a buffer limit: an ExternalAuth check's largest body. */
export const WHOLE_BODY_DECODED_MAX = 64 * 1024 * 1024;

/**
 * A body already read whole (for a buffer or an ExternalAuth check), decoded off the event
 * loop into at most `maxBytes` (over it: `inflate_limit`).
 */
export function inflateWhole(body: Buffer, coding: ContentCoding, maxBytes: number, done: (result: Buffer | "invalid" | "inflate_limit") => void): void {
  const options = { maxOutputLength: maxBytes };
  const settle = (error: Error | null, out: Buffer): void => {
    if (error === null) done(out);
    else done((error as NodeJS.ErrnoException).code === "ERR_BUFFER_TOO_LARGE" ? "inflate_limit" : "invalid");
  };
  switch (coding) {
    case "gzip":
      gunzip(body, options, settle);
      return;
    case "br":
      brotliDecompress(body, options, settle);
      return;
    case "zstd":
      zstdDecompress(body, options, settle);
      return;
  }
}
