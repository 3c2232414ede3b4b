// A certificate's subject or issuer as Envoy's %DOWNSTREAM_PEER_SUBJECT% prints it: OpenSSL's
// RFC 2253 form, from the multi-line form Node's X509Certificate gives.

/**
 * Node prints a name one RDN per line, most significant first, the attributes of a
 * multi-valued RDN joined by " + ", special characters escaped as RFC 2253 asks but other
 * than ASCII kept as UTF-8. RFC 2253 as OpenSSL prints it: every attribute in reverse order
 * (`UID=42+OU=R`), joined by "," and "+", and each byte above 0x7f as `\XX`.
 */
export function rfc2253Name(nodeName: string): string {
  return nodeName
    .split("\n")
    .reverse()
    .map((rdn) => rdn.split(" + ").reverse().join("+"))
    .join(",")
    .replace(/[^\x00-\x7f]/gu, (character) => [...Buffer.from(character, "utf8")].map((byte) => `\\${byte.toString(16).toUpperCase()}`).join(""));
}
