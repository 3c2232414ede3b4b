// Header bytes as the text a protobuf string carries to a gRPC service.
import { isUtf8 } from "node:buffer";

const NON_ASCII = /[^\x00-\x7f]/;

/**
 * Node reads header bytes as Latin-1 characters; the service gets UTF-8 text, so bytes that
 * are UTF-8 (a client's `José`) go as that text. Other bytes cannot travel in a protobuf
 * string: each goes as its Latin-1 character, which names the byte.
 */
/**
 * Header bytes as UTF-8 text for a comparison with text (rbac's CEL): bytes that are not
 * UTF-8 read as U+FFFD, so they never equal a literal, as Envoy compares the bytes.
 */
export function utf8Text(latin1: string): string {
  return NON_ASCII.test(latin1) ? Buffer.from(latin1, "latin1").toString("utf8") : latin1;
}

export function asText(latin1: string): string {
  if (!NON_ASCII.test(latin1)) return latin1;
  const bytes = Buffer.from(latin1, "latin1");
  return isUtf8(bytes) ? bytes.toString("utf8") : latin1;
}
