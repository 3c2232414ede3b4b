// kgateway's TrafficPolicy `compression` (Envoy's compressor and decompressor filters):
// which encodings a rule's responses may be compressed in and under which conditions, and
// which encodings its request bodies are decompressed from. `disable: {}` turns a half off.
import type { CompressionModel, ContentCoding, ResponseCompressionModel } from "./model.ts";
import { type Reporter, type Resource, key } from "./resources.ts";

/** Envoy's min_content_length default, which kgateway keeps. */
const DEFAULT_MIN_CONTENT_LENGTH = 30;

const CODING_OF_LIBRARY: Readonly<Record<string, ContentCoding>> = { Gzip: "gzip", Brotli: "br", Zstd: "zstd" };

/** A media type as Content-Type carries it before any parameter (RFC 9110 §8.3.1). */
const MEDIA_TYPE = /^[!#$%&'*+.^_`|~0-9a-z-]+\/[!#$%&'*+.^_`|~0-9a-z-]+$/;

export function policyCompression(p: Resource, reporter: Reporter, cfg: Record<string, unknown>): CompressionModel | undefined {
  const at = ["spec", "compression"];
  const rc = cfg["responseCompression"] as Record<string, unknown> | undefined;
  const dc = cfg["requestDecompression"] as Record<string, unknown> | undefined;
  if (rc === undefined && dc === undefined) {
    reporter.error(p, at, "compression needs responseCompression or requestDecompression", "write responseCompression: {} to gzip the rules' responses, or requestDecompression: {} to inflate gzip request bodies");
    return undefined;
  }
  let usable = true;
  let response: ResponseCompressionModel | undefined;
  if (rc !== undefined) {
    const where = [...at, "responseCompression"];
    if (rc["disable"] !== undefined) {
      if (Object.keys(rc).length > 1) {
        reporter.error(p, [...where, "disable"], "disable is set with other fields; it turns response compression off whole", "keep disable: {} alone, or remove it");
        usable = false;
      }
    } else {
      const encodings = codings(p, reporter, rc, where);
      const contentTypes = mediaTypes(p, reporter, rc, where);
      if (encodings === undefined || contentTypes === null) usable = false;
      else {
        const weaken = rc["weakenEtagOnCompress"] === true;
        const skip = rc["disableOnEtag"] === true;
        if (weaken && skip) reporter.warn(p, [...where, "disableOnEtag"], "disableOnEtag has no effect: weakenEtagOnCompress wins, so responses with an ETag are compressed and their ETag weakened", "remove one of the two");
        response = {
          encodings,
          minContentLength: (rc["minContentLengthBytes"] as number | undefined) ?? DEFAULT_MIN_CONTENT_LENGTH,
          contentTypes,
          etag: weaken ? "weaken" : skip ? "skip" : "remove-strong",
        };
      }
    }
  }
  let request: { encodings: readonly ContentCoding[] } | undefined;
  if (dc !== undefined) {
    const where = [...at, "requestDecompression"];
    if (dc["disable"] !== undefined) {
      if (dc["libraries"] !== undefined) {
        reporter.error(p, [...where, "disable"], "disable is set with libraries; it turns request decompression off whole", "keep disable: {} alone, or remove it");
        usable = false;
      }
    } else {
      const encodings = codings(p, reporter, dc, where);
      if (encodings === undefined) usable = false;
      else request = { encodings };
    }
  }
  if (!usable) return undefined;
  return { type: "Compression", policy: key(p), response, request };
}

/** `libraries` as content codings, in order; Gzip alone when unset, as in kgateway. */
function codings(p: Resource, reporter: Reporter, cfg: Record<string, unknown>, where: (string | number)[]): ContentCoding[] | undefined {
  const libraries = (cfg["libraries"] as string[] | undefined) ?? ["Gzip"];
  const seen = new Set<string>();
  for (const [i, library] of libraries.entries()) {
    if (seen.has(library)) {
      reporter.error(p, [...where, "libraries", i], `${library} is listed twice`, "list each of Gzip, Brotli and Zstd at most once");
      return undefined;
    }
    seen.add(library);
  }
  return libraries.map((l) => CODING_OF_LIBRARY[l]!);
}

/** `contentTypes` in lower case; undefined when unset (Envoy's defaults), null when one is unusable. */
function mediaTypes(p: Resource, reporter: Reporter, cfg: Record<string, unknown>, where: (string | number)[]): string[] | undefined | null {
  const listed = cfg["contentTypes"] as string[] | undefined;
  if (listed === undefined) return undefined;
  const out: string[] = [];
  for (const [i, written] of listed.entries()) {
    const type = written.trim().toLowerCase();
    if (!MEDIA_TYPE.test(type)) {
      // A response's Content-Type is compared without its parameters, as in Envoy, so
      // "text/html; charset=utf-8" or "text/*" would match no response at all.
      reporter.error(p, [...where, "contentTypes", i], `"${written}" is not a media type type/subtype without parameters or wildcards`, "write the bare media type, such as text/html or application/json");
      return null;
    }
    if (!out.includes(type)) out.push(type);
  }
  return out;
}
