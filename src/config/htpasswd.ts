// htpasswd text as kgateway's TrafficPolicy `basicAuth` takes it, and Envoy's basic_auth
// filter reads it: one `user:{SHA}digest` line per user, the digest the base64 of the SHA-1
// of the password (what `htpasswd -s` writes). Other schemes are named in the error, so a
// bcrypt or apr1 file is not mistaken for a typo. As in kgateway and Envoy, each line is
// trimmed, and blank lines and `#` comments hold no user (a commented-out user is revoked,
// not renamed `#user`). No message ever quotes a digest.
import { createHash, timingSafeEqual } from "node:crypto";

export const SHA_PREFIX = "{SHA}";
const SHA1_BYTES = 20;
const BASE64 = /^[A-Za-z0-9+/]{27}=$/;
// A name goes upstream as a header value: a control character would end or forge a header.
const CONTROL = /[\u0000-\u001f\u007f]/;

export const HTPASSWD_HINT = "make the line with `htpasswd -nbs USER PASSWORD`, or `printf '%s:{SHA}%s\\n' USER \"$(printf %s PASSWORD | openssl sha1 -binary | base64)\"`";

export type HtpasswdLine = { readonly user: string; readonly digest: Buffer } | { readonly problem: string } | { readonly comment: true };

/** One line of htpasswd text: a user, a line that holds none (blank, or a `#` comment), or what is wrong with it. */
export function parseHtpasswdLine(raw: string): HtpasswdLine {
  const line = raw.trim();
  if (line === "" || line.startsWith("#")) return { comment: true };
  const colon = line.indexOf(":");
  if (colon < 0) return { problem: "an htpasswd line is USER:{SHA}DIGEST, and this one has no ':'" };
  const user = line.slice(0, colon);
  if (user === "") return { problem: "the user name before ':' is empty" };
  if (CONTROL.test(user)) return { problem: "the user name holds a control character" };
  // The upstream's parser trims a header value: a name ending in a space would be another name there.
  if (user.trimEnd() !== user) return { problem: "the user name ends with whitespace before ':'" };
  const hash = line.slice(colon + 1);
  const named = `user ${JSON.stringify(user)}`;
  if (!hash.startsWith(SHA_PREFIX)) return { problem: `${named} has ${schemeOf(hash)}; only SHA-1 ({SHA}) entries are supported, as in Envoy's basic_auth` };
  const digest = hash.slice(SHA_PREFIX.length);
  const bytes = Buffer.from(digest, "base64");
  // Envoy compares the base64 text: a digest spelt another way (the last character's unused bits) would never match there.
  if (!BASE64.test(digest) || bytes.toString("base64") !== digest) return { problem: `${named}: {SHA} must be followed by the base64 of a ${SHA1_BYTES}-byte SHA-1 digest (28 characters, ending in =)` };
  return { user, digest: bytes };
}

function schemeOf(hash: string): string {
  if (hash.startsWith("$apr1$")) return "an Apache MD5 ($apr1$) hash";
  if (/^\$2[abxy]?\$/.test(hash)) return "a bcrypt hash";
  if (hash.startsWith("$5$") || hash.startsWith("$6$")) return "a SHA-crypt hash";
  if (hash.startsWith("$")) return "a hash of an unknown $ scheme";
  if (hash === "") return "an empty hash";
  return "a crypt(3) hash or a plain-text password";
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
