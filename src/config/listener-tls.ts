// What an HTTPS listener presents: its certificates, read from kubernetes.io/tls Secrets,
// and the TLS contexts built from them. The private keys stay in private fields: the resolved
// config is walked for the admin API and printed in diagnostics, and neither may show a key.
import { type SecureContext, createSecureContext } from "node:tls";
import type { SecretCertificate } from "./secret-certificate.ts";
import { ClientValidation } from "./client-validation.ts";
import { ListenerTlsOptions, type TlsParameters } from "./listener-tls-options.ts";

/**
 * An HTTPS listener's certificates, each its own TLS context: a handshake gets the first
 * certificate valid for the name it asked for, else the first one (as Envoy picks among a
 * filter chain's certificates by SNI). Node serves a context chosen by SNI with a single
 * certificate, so an ECDSA and an RSA certificate for one name cannot be offered together:
 * the first listed is served.
 */
export class ListenerTls {
  readonly certificates: readonly SecretCertificate[];
  /** How the listener's port checks client certificates (the Gateway's `spec.tls.frontend`); undefined: it asks for none. */
  readonly clientValidation: ClientValidation | undefined;
  /** Protocol versions, ciphers, groups, signature algorithms (`tls.options`); undefined: OpenSSL's defaults. */
  readonly options: ListenerTlsOptions | undefined;
  readonly #contexts: (SecureContext | undefined)[];

  constructor(certificates: readonly SecretCertificate[], clientValidation?: ClientValidation, options?: ListenerTlsOptions) {
    this.certificates = certificates;
    this.clientValidation = clientValidation;
    this.options = options;
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
  defaultContextOptions(): { cert: string; key: string; ca?: string } & TlsParameters {
    return this.#contextOptions(0);
  }

  /**
   * A context verifies client certificates against the CAs it holds, so each carries the
   * port's validation CAs (a handshake's context is the one chosen by SNI).
   */
  #contextOptions(index: number): { cert: string; key: string; ca?: string } & TlsParameters {
    const certificate = this.certificates[index]!;
    const ca = this.clientValidation?.caPem;
    return { ...this.options?.parameters, cert: certificate.certificatePem, key: certificate.keyPem, ...(ca === undefined ? {} : { ca }) };
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
      context = createSecureContext(this.#contextOptions(index));
      this.#contexts[index] = context;
    }
    return context;
  }

  /** The same certificates and keys, in the same order, and the same client validation (a reload that changed nothing here). */
  sameAs(other: ListenerTls | undefined): boolean {
    if (other === undefined || other.certificates.length !== this.certificates.length) return false;
    if (!ClientValidation.same(this.clientValidation, other.clientValidation) || !ListenerTlsOptions.same(this.options, other.options)) return false;
    return this.certificates.every((c, i) => c.certificatePem === other.certificates[i]!.certificatePem && c.keyPem === other.certificates[i]!.keyPem);
  }

  toJSON(): { certificates: readonly SecretCertificate[]; clientValidation?: ClientValidation; options?: ListenerTlsOptions } {
    return {
      certificates: this.certificates,
      ...(this.clientValidation === undefined ? {} : { clientValidation: this.clientValidation }),
      ...(this.options === undefined ? {} : { options: this.options }),
    };
  }
}
