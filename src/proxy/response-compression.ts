// kgateway TrafficPolicy `responseCompression` (Envoy's compressor filter): whether an
// upstream response is compressed for this client, and the head it then goes out with.
import type { ContentCoding, ResponseCompressionModel } from "../config/model.ts";
import type { OutgoingHeaders } from "../telemetry/hooks.ts";
import { type NoCoding, chooseCoding } from "./accept-encoding.ts";

/** Envoy's default content types: the eight kgateway names, their synonyms and gRPC-Web. */
const DEFAULT_CONTENT_TYPES: ReadonlySet<string> = new Set([
  "application/javascript",
  "application/json",
  "application/xhtml+xml",
  "image/svg+xml",
  "text/css",
  "text/html",
  "text/plain",
  "text/xml",
  "application/x-javascript",
  "text/javascript",
  "text/x-javascript",
  "text/ecmascript",
  "text/js",
  "text/jscript",
  "text/x-js",
  "application/ecmascript",
  "application/x-json",
  "application/xml",
  "application/grpc-web",
  "application/grpc-web+proto",
]);

/** Why a response of a rule with compression went out as it was. */
export type Uncompressed = NoCoding | "no_body" | "too_small" | "content_type" | "no_transform" | "etag" | "already_encoded";

/** What a rule with compression did to a response, as counted by `tollgate.compression.responses`. */
export type CompressionOutcome = ContentCoding | Uncompressed;

export function isCoding(outcome: CompressionOutcome): outcome is ContentCoding {
  return outcome === "gzip" || outcome === "br" || outcome === "zstd";
}

export class ResponseCompressionPolicy {
  readonly policy: string;
  readonly #model: ResponseCompressionModel;
  readonly #contentTypes: ReadonlySet<string>;

  constructor(policy: string, model: ResponseCompressionModel) {
    this.policy = policy;
    this.#model = model;
    this.#contentTypes = model.contentTypes === undefined ? DEFAULT_CONTENT_TYPES : new Set(model.contentTypes);
  }

  /**
   * The coding this response is compressed in, or why it is not. `headers` is the response
   * head as it will go out; on a coding, it is rewritten for the compressed body.
   */
  decide(method: string, acceptEncoding: string | string[] | undefined, status: number, headers: OutgoingHeaders): CompressionOutcome {
    // Envoy's order: what the response is rules it out first; Vary is added once only the
    // request can still decide; then a body must follow and the client accept a coding.
    const length = headers["content-length"];
    if (length !== undefined && !(Number(first(length)) >= this.#model.minContentLength)) return "too_small";
    const contentType = headers["content-type"];
    if (contentType !== undefined && !this.#contentTypes.has(mediaType(first(contentType)))) return "content_type";
    if (hasNoTransform(headers["cache-control"])) return "no_transform";
    const etag = headers["etag"];
    if (etag !== undefined && this.#model.etag === "skip") return "etag";
    if (headers["content-encoding"] !== undefined) return "already_encoded";
    varyOnAcceptEncoding(headers);
    if (method === "HEAD" || status === 204 || status === 304 || (length !== undefined && Number(first(length)) === 0)) return "no_body";
    const coding = chooseCoding(acceptEncoding, this.#model.encodings);
    if (coding === "no_accept_encoding" || coding === "not_accepted") return coding;
    delete headers["content-length"];
    headers["content-encoding"] = coding;
    if (etag !== undefined) weakenOrDropEtag(headers, first(etag), this.#model.etag);
    return coding;
  }
}

/**
 * Caches must tell the compressed answer from the plain one: Accept-Encoding joins Vary
 * whenever the answer depends on it, compressed or not, unless Vary already covers it.
 */
function varyOnAcceptEncoding(headers: OutgoingHeaders): void {
  const vary = headers["vary"];
  if (vary === undefined) {
    headers["vary"] = "Accept-Encoding";
    return;
  }
  const values = typeof vary === "string" ? [vary] : vary;
  const named = values.some((v) => v.split(",").some((t) => ["*", "accept-encoding"].includes(t.trim().toLowerCase())));
  if (!named) headers["vary"] = [...values, "Accept-Encoding"].join(", ");
}

function first(value: string | string[]): string {
  return typeof value === "string" ? value : (value[0] ?? "");
}

function mediaType(contentType: string): string {
  const semi = contentType.indexOf(";");
  return (semi < 0 ? contentType : contentType.slice(0, semi)).trim().toLowerCase();
}

export function hasNoTransform(cacheControl: string | string[] | undefined): boolean {
  if (cacheControl === undefined) return false;
  const text = typeof cacheControl === "string" ? cacheControl : cacheControl.join(",");
  return text.split(",").some((d) => d.trim().toLowerCase() === "no-transform");
}

/** A weak ETag stays (it still names an equivalent body); a strong one is dropped or weakened. */
function weakenOrDropEtag(headers: OutgoingHeaders, etag: string, handling: ResponseCompressionModel["etag"]): void {
  if (/^w\//i.test(etag)) return;
  if (handling === "weaken") headers["etag"] = `W/${etag}`;
  else delete headers["etag"];
}
