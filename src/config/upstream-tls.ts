// How the gateway reaches a backend over TLS and decides whether to trust it, as the
// BackendTLSPolicy targeting the backend says: the SNI name, the CA certificates, and the
// names the upstream's certificate must carry; and, from the Gateway the request came
// through, the client certificate it presents. Built once per load; each connection to the
// backend's endpoints uses the same options object.
import { X509Certificate, createHash } from "node:crypto";
import { type ConnectionOptions, type PeerCertificate, createSecureContext, getCACertificates } from "node:tls";
import type { SecretCertificate } from "./secret-certificate.ts";
import { subjectAltNames } from "./subject-alt-names.ts";

export interface SubjectAltName {
  readonly type: "Hostname" | "URI";
  readonly value: string;
}

/** Where the trusted CA certificates come from: named ConfigMaps/Secrets, or the well-known set. */
export type UpstreamTrust = { readonly wellKnown: string } | { readonly refs: readonly string[] };

export class UpstreamTls {
  /** `namespace/name` of the BackendTLSPolicy. */
  readonly policy: string;
  /** Sent as SNI, and the name the certificate must carry when subjectAltNames is empty. */
  readonly hostname: string;
  readonly trust: UpstreamTrust;
  readonly subjectAltNames: readonly SubjectAltName[];
  /**
   * Why the policy cannot be used (a CA reference that did not resolve, an unknown
   * well-known CA set): every connection then fails its identity check, so the backend is
   * reached neither in plain text nor with less trust than the policy asked for.
   */
  readonly unusable: string | undefined;
  /** What the gateway presents when the upstream asks for a client certificate (the Gateway's `tls.backend`). */
  readonly clientCertificate: SecretCertificate | undefined;
  /**
   * Tells apart two policies' (or two client certificates') connections to one endpoint:
   * pools are keyed by origin and this.
   */
  readonly fingerprint: string;
  readonly #caPem: string | undefined;
  #connectOptions: ConnectionOptions | undefined;
  /** One variant per client certificate, so every endpoint of a backend shares its context. */
  readonly #withClient = new Map<SecretCertificate, UpstreamTls>();

  /** `caPem` undefined: the well-known CAs (see wellKnownCaPem). */
  constructor(
    policy: string,
    hostname: string,
    trust: UpstreamTrust,
    caPem: string | undefined,
    subjectAltNames: readonly SubjectAltName[],
    unusable?: string,
    clientCertificate?: SecretCertificate,
  ) {
    this.policy = policy;
    this.hostname = hostname;
    this.trust = trust;
    this.subjectAltNames = subjectAltNames;
    this.unusable = unusable;
    this.clientCertificate = clientCertificate;
    this.#caPem = caPem;
    // The client key is hashed in too: a rotated key in the same Secret must not reuse
    // connections that authenticated with the old one.
    const client = clientCertificate === undefined ? null : [clientCertificate.secret, clientCertificate.certificatePem, clientCertificate.keyPem];
    this.fingerprint = createHash("sha256")
      .update(JSON.stringify([policy, hostname, caPem ?? null, subjectAltNames, unusable ?? null, client]))
      .digest("hex")
      .slice(0, 16);
  }

  /** The same policy, presenting `certificate` to upstreams that ask for a client certificate. */
  withClientCertificate(certificate: SecretCertificate): UpstreamTls {
    let variant = this.#withClient.get(certificate);
    if (variant === undefined) {
      variant = new UpstreamTls(this.policy, this.hostname, this.trust, this.#caPem, this.subjectAltNames, this.unusable, certificate);
      this.#withClient.set(certificate, variant);
    }
    return variant;
  }

  /** The PEM certificates trusted: the policy's own, or the well-known set. */
  get trustedCaPem(): string {
    return this.#caPem ?? wellKnownCaPem();
  }

  /**
   * Options for `tls.connect` (and undici's connector): SNI, trust and the identity check.
   * The trust is one secure context, built on first use and shared by every connection:
   * a `ca` option would parse the whole bundle again for each handshake.
   */
  get connectOptions(): ConnectionOptions {
    this.#connectOptions ??= Object.freeze({
      servername: this.hostname,
      secureContext: createSecureContext({
        ca: this.trustedCaPem,
        ...(this.clientCertificate === undefined ? {} : { cert: this.clientCertificate.certificatePem, key: this.clientCertificate.keyPem }),
      }),
      rejectUnauthorized: true,
      checkServerIdentity: (_host: string, certificate: PeerCertificate) => this.checkIdentity(certificate),
    });
    return this.#connectOptions;
  }

  /**
   * Why `certificate` is not the upstream's, or undefined when it is. Names are matched
   * against the certificate's subjectAltNames only, never its subject CN.
   */
  checkIdentity(certificate: PeerCertificate): Error | undefined {
    if (this.unusable !== undefined) return this.unusableError();
    const leaf = new X509Certificate(certificate.raw);
    if (this.subjectAltNames.length === 0) {
      if (leaf.checkHost(this.hostname, { subject: "never" }) !== undefined) return undefined;
      return identityError(`the upstream certificate (${certificate.subjectaltname ?? "no subjectAltName"}) does not name ${this.hostname}, the hostname of BackendTLSPolicy ${this.policy}`);
    }
    const names = subjectAltNames(certificate.subjectaltname);
    for (const wanted of this.subjectAltNames) {
      if (wanted.type === "URI" ? names.uris.includes(wanted.value) : names.dns.some((name) => name.toLowerCase() === wanted.value.toLowerCase()) || leaf.checkHost(wanted.value, { subject: "never" }) !== undefined) return undefined;
    }
    const shown = this.subjectAltNames.map((s) => `${s.type === "URI" ? "URI" : "DNS"}:${s.value}`).join(", ");
    return identityError(`the upstream certificate (${certificate.subjectaltname ?? "no subjectAltName"}) carries none of ${shown}, which BackendTLSPolicy ${this.policy} asks for`);
  }

  /** What a connection under a policy that cannot be used fails with. */
  unusableError(): Error {
    return identityError(`BackendTLSPolicy ${this.policy} cannot be used: ${this.unusable ?? ""}`, "ERR_TLS_POLICY_UNUSABLE");
  }

  toJSON(): { policy: string; hostname: string; trust: UpstreamTrust; subjectAltNames: readonly SubjectAltName[]; unusable?: string; clientCertificate?: SecretCertificate } {
    return {
      policy: this.policy,
      hostname: this.hostname,
      trust: this.trust,
      subjectAltNames: this.subjectAltNames,
      ...(this.unusable === undefined ? {} : { unusable: this.unusable }),
      ...(this.clientCertificate === undefined ? {} : { clientCertificate: this.clientCertificate }),
    };
  }
}

function identityError(message: string, code = "ERR_TLS_CERT_ALTNAME_INVALID"): Error {
  return Object.assign(new Error(message), { code });
}

let wellKnown: string | undefined;

/**
 * `wellKnownCACertificates: System`: the operating system's trust store, as Gateway API
 * means it, together with Node's bundled Mozilla roots and NODE_EXTRA_CA_CERTS (a slim image
 * may have no system store at all).
 */
export function wellKnownCaPem(): string {
  wellKnown ??= [...new Set([...getCACertificates("default"), ...getCACertificates("system")])].join("\n");
  return wellKnown;
}
