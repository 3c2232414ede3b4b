// htpasswd text as kgateway's TrafficPolicy `basicAuth` takes it, and Envoy's basic_auth
// filter reads it: one `user:{SHA}digest` line per user, the digest the base64 of the SHA-1
// of the password (what `htpasswd -s` writes). Other schemes are named in the error, so a
// bcrypt or apr1 file is not mistaken for a typo. No message ever quotes a digest.
import { createHash, timingSafeEqual } from "node:crypto";

export const SHA_PREFIX = "{SHA}";
const SHA1_BYTES = 20;
const BASE64 = /^[A-Za-z0-9+/]{27}=$/;
// A name goes upstream as a header value: a control character would end or forge a header.
const CONTROL = /[\u0000-\u001f\u007f]/;

export const HTPASSWD_HINT = "make the line with `htpasswd -nbs USER PASSWORD`, or `printf '%s:{SHA}%s\\n' USER \"$(printf %s PASSWORD | openssl sha1 -binary | base64)\"`";

export type HtpasswdLine = { readonly user: string; readonly digest: Buffer } | { readonly problem: string };

/** One line of htpasswd text, trailing whitespace (a `\r`) already removed. */
export function parseHtpasswdLine(line: string): HtpasswdLine {
  const colon = line.indexOf(":");
  if (colon < 0) return { problem: "an htpasswd line is USER:{SHA}DIGEST, and this one has no ':'" };
  const user = line.slice(0, colon);
  if (user === "") return { problem: "the user name before ':' is empty" };
  if (CONTROL.test(user)) return { problem: "the user name holds a control character" };
  const hash = line.slice(colon + 1);
  if (!hash.startsWith(SHA_PREFIX)) return { problem: `user "${user}" has a ${schemeOf(hash)}; only SHA-1 ({SHA}) entries are supported, as in Envoy's basic_auth` };
  const digest = hash.slice(SHA_PREFIX.length);
  if (!BASE64.test(digest)) return { problem: `user "${user}": {SHA} must be followed by the base64 of a ${SHA1_BYTES}-byte SHA-1 digest (28 characters)` };
  return { user, digest: Buffer.from(digest, "base64") };
}

function schemeOf(hash: string): string {
  if (hash.startsWith("$apr1$")) return "Apache MD5 ($apr1$) hash";
  if (/^\$2[abxy]?\$/.test(hash)) return "bcrypt hash";
  if (hash.startsWith("$5$") || hash.startsWith("$6$")) return "SHA-crypt hash";
  if (hash.startsWith("$")) return "hash of an unknown $ scheme";
  if (hash === "") return "empty hash";
  return "crypt(3) hash or a plain-text password";
}

/** The users a basicAuth policy lets in, by name, each with the SHA-1 of its password. */
export class HtpasswdUsers {
  /** Where the users come from: `inline` or `Secret namespace/name key`. */
  readonly source: string;
  readonly #digests: ReadonlyMap<string, Buffer>;

  constructor(source: string, digests: ReadonlyMap<string, Buffer>) {
    this.source = source;
    this.#digests = digests;
  }

  get size(): number {
    return this.#digests.size;
  }

  /**
   * Whether `password` (the bytes the client sent) is `user`'s. The digest is taken for an
   * unknown user too, and compared in constant time, so the answer's timing tells neither
   * which users exist nor how much of a digest matched.
   */
  verify(user: string, password: Buffer): boolean {
    const actual = createHash("sha1").update(password).digest();
    const expected = this.#digests.get(user);
    return expected !== undefined && timingSafeEqual(expected, actual);
  }

  /** The admin API shows who may log in and from where, never a digest. */
  toJSON(): { source: string; users: readonly string[] } {
    return { source: this.source, users: [...this.#digests.keys()] };
  }
}
