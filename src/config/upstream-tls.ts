// How the gateway reaches a backend over TLS and decides whether to trust it, as the
// BackendTLSPolicy targeting the backend says: the SNI name, the CA certificates, and the
// names the upstream's certificate must carry. Built once per load; each connection to the
// backend's endpoints uses the same options object.
import { createHash } from "node:crypto";
import { type ConnectionOptions, type PeerCertificate, checkServerIdentity } from "node:tls";

export interface SubjectAltName {
  readonly type: "Hostname" | "URI";
  readonly value: string;
}

/** Where the trusted CA certificates come from: named ConfigMaps/Secrets, or the well-known set. */
export type UpstreamTrust = { readonly wellKnown: "System" } | { readonly refs: readonly string[] };

export class UpstreamTls {
  /** `namespace/name` of the BackendTLSPolicy. */
  readonly policy: string;
  /** Sent as SNI, and the name the certificate must carry when subjectAltNames is empty. */
  readonly hostname: string;
  readonly trust: UpstreamTrust;
  readonly subjectAltNames: readonly SubjectAltName[];
  /** The trusted CA certificates (PEM), undefined for the well-known set. */
  readonly caPem: string | undefined;
  /** Tells apart two policies' connections to one endpoint: pools are keyed by origin and this. */
  readonly fingerprint: string;
  readonly #connectOptions: ConnectionOptions;

  /** `caPem` undefined: Node's well-known CA store (Mozilla's, plus NODE_EXTRA_CA_CERTS). */
  constructor(policy: string, hostname: string, trust: UpstreamTrust, caPem: string | undefined, subjectAltNames: readonly SubjectAltName[]) {
    this.policy = policy;
    this.hostname = hostname;
    this.trust = trust;
    this.subjectAltNames = subjectAltNames;
    this.caPem = caPem;
    this.fingerprint = createHash("sha256")
      .update(JSON.stringify([hostname, caPem ?? null, subjectAltNames]))
      .digest("hex")
      .slice(0, 16);
    this.#connectOptions = Object.freeze({
      servername: hostname,
      ...(caPem === undefined ? {} : { ca: caPem }),
      rejectUnauthorized: true,
      checkServerIdentity: (_host: string, certificate: PeerCertificate) => this.#checkIdentity(certificate),
    });
  }

  /** Options for `tls.connect` (and undici's connector): SNI, trust and the identity check. */
  get connectOptions(): ConnectionOptions {
    return this.#connectOptions;
  }

  /** Why `certificate` is not the upstream's, or undefined when it is. */
  checkIdentity(certificate: PeerCertificate): Error | undefined {
    return this.#checkIdentity(certificate);
  }

  #checkIdentity(certificate: PeerCertificate): Error | undefined {
    if (this.subjectAltNames.length === 0) return checkServerIdentity(this.hostname, certificate);
    const names = certificateNames(certificate);
    for (const wanted of this.subjectAltNames) {
      if (wanted.type === "URI" ? names.uris.includes(wanted.value) : names.dns.includes(wanted.value) || checkServerIdentity(wanted.value, certificate) === undefined) return undefined;
    }
    const shown = this.subjectAltNames.map((s) => `${s.type === "URI" ? "URI" : "DNS"}:${s.value}`).join(", ");
    const error = new Error(`the upstream certificate (${certificate.subjectaltname ?? "no subjectAltName"}) carries none of ${shown}, which BackendTLSPolicy ${this.policy} asks for`);
    return Object.assign(error, { code: "ERR_TLS_CERT_ALTNAME_INVALID" });
  }

  toJSON(): { policy: string; hostname: string; trust: UpstreamTrust; subjectAltNames: readonly SubjectAltName[] } {
    return { policy: this.policy, hostname: this.hostname, trust: this.trust, subjectAltNames: this.subjectAltNames };
  }
}

/** The DNS and URI entries of a certificate's subjectAltName, as Node prints it (`DNS:a, URI:b`). */
function certificateNames(certificate: PeerCertificate): { dns: string[]; uris: string[] } {
  const dns: string[] = [];
  const uris: string[] = [];
  for (const entry of (certificate.subjectaltname ?? "").split(", ")) {
    if (entry.startsWith("DNS:")) dns.push(entry.slice(4).toLowerCase());
    else if (entry.startsWith("URI:")) uris.push(unquote(entry.slice(4)));
  }
  return { dns, uris };
}

/** Node quotes a name holding a comma or quote as a JSON string. */
function unquote(value: string): string {
  if (!value.startsWith('"')) return value;
  try {
    return String(JSON.parse(value));
  } catch {
    return value;
  }
}
