// How an HTTPS port checks its clients' certificates, as the Gateway's `spec.tls.frontend`
// says (Gateway API's frontend validation): the CAs a client certificate must chain to, and
// whether a client without a valid one is refused or let through as unauthenticated. It
// binds to the port, not the listener, because one TLS connection may carry requests for
// every listener of its port.

/** `AllowValidOnly`: a client without a valid certificate is refused. `AllowInsecureFallback`: it is served, as unauthenticated. */
export type ClientValidationMode = "AllowValidOnly" | "AllowInsecureFallback";

export class ClientValidation {
  /** `Kind/namespace/name` of each CA reference, for the admin view and messages. */
  readonly caRefs: readonly string[];
  readonly mode: ClientValidationMode;
  /** The PEM CA certificates; undefined when a reference could not be had (see unusable). */
  readonly caPem: string | undefined;
  /** Why the CAs cannot be had: every client is then refused, whatever the mode (fails closed). */
  readonly unusable: string | undefined;

  constructor(caRefs: readonly string[], mode: ClientValidationMode, caPem: string | undefined, unusable: string | undefined) {
    this.caRefs = caRefs;
    this.mode = mode;
    this.caPem = caPem;
    this.unusable = unusable;
  }

  /** Whether a connection whose certificate check ended so may be served. */
  admits(authorized: boolean): boolean {
    if (this.unusable !== undefined) return false;
    return authorized || this.mode === "AllowInsecureFallback";
  }

  /** Same CAs and mode: a reload that changed nothing here. */
  sameAs(other: ClientValidation | undefined): boolean {
    return other !== undefined && other.mode === this.mode && other.caPem === this.caPem && other.unusable === this.unusable;
  }

  /** Whether two ports' (or two plans') validations, either possibly absent, check clients alike. */
  static same(a: ClientValidation | undefined, b: ClientValidation | undefined): boolean {
    return a === undefined ? b === undefined : a.sameAs(b);
  }

  toJSON(): { caRefs: readonly string[]; mode: ClientValidationMode; unusable?: string } {
    return { caRefs: this.caRefs, mode: this.mode, ...(this.unusable === undefined ? {} : { unusable: this.unusable }) };
  }
}
