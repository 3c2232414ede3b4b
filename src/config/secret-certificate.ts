// A certificate chain and its private key, read from a kubernetes.io/tls Secret: what an
// HTTPS listener presents to clients, or what the gateway presents to upstreams that ask for
// a client certificate. The key stays in a private field: the resolved config is walked for
// the admin API and printed in diagnostics, and neither may show a key.
import type { X509Certificate } from "node:crypto";

const CLIENT_AUTH_USAGE = "1.3.6.1.5.5.7.3.2";

/** One certificate chain and its key, from one kubernetes.io/tls Secret. */
export class SecretCertificate {
  /** `namespace/name` of the Secret. */
  readonly secret: string;
  /** The leaf certificate's expiry, as the certificate states it. */
  readonly notAfter: string;
  readonly #certificatePem: string;
  readonly #keyPem: string;
  readonly #leaf: X509Certificate;

  constructor(secret: string, certificatePem: string, keyPem: string, leaf: X509Certificate) {
    this.secret = secret;
    this.notAfter = leaf.validTo;
    this.#certificatePem = certificatePem;
    this.#keyPem = keyPem;
    this.#leaf = leaf;
  }

  get certificatePem(): string {
    return this.#certificatePem;
  }

  get keyPem(): string {
    return this.#keyPem;
  }

  /** Whether the leaf certificate is valid for `serverName` (its subjectAltName). */
  covers(serverName: string): boolean {
    return this.#leaf.checkHost(serverName, { subject: "never" }) !== undefined;
  }

  /**
   * Whether an upstream may accept the certificate as a client's: a leaf that lists extended
   * key usages without TLS client authentication is refused by OpenSSL-based servers
   * ("unsupported certificate purpose"); one that lists none may be used for anything.
   */
  get allowsClientAuth(): boolean {
    const usages = this.#leaf.keyUsage as string[] | undefined;
    return usages === undefined || usages.length === 0 || usages.includes(CLIENT_AUTH_USAGE);
  }

  toJSON(): { secret: string; notAfter: string } {
    return { secret: this.secret, notAfter: this.notAfter };
  }
}
