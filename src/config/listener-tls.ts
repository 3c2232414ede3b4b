// What an HTTPS listener presents: its certificates, read from kubernetes.io/tls Secrets,
// and the TLS contexts built from them. The private keys stay in private fields: the resolved
// config is walked for the admin API and printed in diagnostics, and neither may show a key.
import { type SecureContext, createSecureContext } from "node:tls";
import type { SecretCertificate } from "./secret-certificate.ts";

/**
 * An HTTPS listener's certificates, each its own TLS context: a handshake gets the first
 * certificate valid for the name it asked for, else the first one (as Envoy picks among a
 * filter chain's certificates by SNI). Node serves a context chosen by SNI with a single
 * certificate, so an ECDSA and an RSA certificate for one name cannot be offered together:
 * the first listed is served.
 */
export class ListenerTls {
  readonly certificates: readonly SecretCertificate[];
  readonly #contexts: (SecureContext | undefined)[];

  constructor(certificates: readonly SecretCertificate[]) {
    this.certificates = certificates;
    this.#contexts = certificates.map(() => undefined);
  }

  /** The context for a handshake that asked for `serverName` (none: the first certificate's). */
  contextFor(serverName: string | undefined): SecureContext {
    if (serverName !== undefined && this.certificates.length > 1) {
      const name = serverName.toLowerCase();
      const index = this.certificates.findIndex((c) => c.covers(name));
      if (index > 0) return this.#context(index);
    }
    return this.#context(0);
  }

  /** The options of the context a handshake without SNI gets (a server's default context is made from options). */
  defaultContextOptions(): { cert: string; key: string } {
    return { cert: this.certificates[0]!.certificatePem, key: this.certificates[0]!.keyPem };
  }

  /** Builds every context now; the reason when one cannot be built. */
  check(): string | undefined {
    try {
      this.certificates.forEach((_c, i) => this.#context(i));
      return undefined;
    } catch (error) {
      return error instanceof Error ? error.message : String(error);
    }
  }

  #context(index: number): SecureContext {
    let context = this.#contexts[index];
    if (context === undefined) {
      const certificate = this.certificates[index]!;
      context = createSecureContext({ cert: certificate.certificatePem, key: certificate.keyPem });
      this.#contexts[index] = context;
    }
    return context;
  }

  /** The same certificates and keys, in the same order (a reload that changed nothing here). */
  sameAs(other: ListenerTls | undefined): boolean {
    if (other === undefined || other.certificates.length !== this.certificates.length) return false;
    return this.certificates.every((c, i) => c.certificatePem === other.certificates[i]!.certificatePem && c.keyPem === other.certificates[i]!.keyPem);
  }

  toJSON(): { certificates: readonly SecretCertificate[] } {
    return { certificates: this.certificates };
  }
}
