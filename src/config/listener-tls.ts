// What an HTTPS listener presents: its certificates, read from kubernetes.io/tls Secrets,
// and the TLS context built from them. The private keys stay in private fields: the resolved
// config is walked for the admin API and printed in diagnostics, and neither may show a key.
import { type SecureContext, createSecureContext } from "node:tls";

/** One certificate chain and its key, from one Secret. */
export class ListenerCertificate {
  /** `namespace/name` of the Secret. */
  readonly secret: string;
  /** The leaf certificate's expiry, as the certificate states it. */
  readonly notAfter: string;
  readonly #certificatePem: string;
  readonly #keyPem: string;

  constructor(secret: string, certificatePem: string, keyPem: string, notAfter: string) {
    this.secret = secret;
    this.notAfter = notAfter;
    this.#certificatePem = certificatePem;
    this.#keyPem = keyPem;
  }

  get certificatePem(): string {
    return this.#certificatePem;
  }

  get keyPem(): string {
    return this.#keyPem;
  }

  toJSON(): { secret: string; notAfter: string } {
    return { secret: this.secret, notAfter: this.notAfter };
  }
}

/** An HTTPS listener's certificates (several for several key types, e.g. ECDSA and RSA) as one TLS context. */
export class ListenerTls {
  readonly certificates: readonly ListenerCertificate[];
  #context: SecureContext | undefined;

  constructor(certificates: readonly ListenerCertificate[]) {
    this.certificates = certificates;
  }

  /** The context handshakes use; built once, on first use. */
  get context(): SecureContext {
    this.#context ??= createSecureContext(this.contextOptions());
    return this.#context;
  }

  /** The options that make this context (a server's default context is set from options, not from a context). */
  contextOptions(): { cert: string[]; key: string[] } {
    return { cert: this.certificates.map((c) => c.certificatePem), key: this.certificates.map((c) => c.keyPem) };
  }

  toJSON(): { certificates: readonly ListenerCertificate[] } {
    return { certificates: this.certificates };
  }
}
