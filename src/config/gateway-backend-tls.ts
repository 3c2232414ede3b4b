// A Gateway's TLS settings as a client of its backends: the certificate it presents when an
// upstream reached under a BackendTLSPolicy asks for one. Gateway API v1.4 put it at
// `spec.tls.backend.clientCertificateRef`; the experimental channel before it used
// `spec.backendTLS.clientCertificateRef`. Both are read, so a file written for either loads.
import type { SecretCertificate } from "./secret-certificate.ts";
import type { CertificateRef, TlsSecrets } from "./tls-secrets.ts";
import type { Reporter, Resource, Segments } from "./resources.ts";

const STANDARD_AT = ["spec", "tls", "backend", "clientCertificateRef"];
const EXPERIMENTAL_AT = ["spec", "backendTLS", "clientCertificateRef"];

/** The client certificate `gateway` presents to TLS backends; undefined when it names none, or after reporting why it cannot. */
export function backendClientCertificate(gateway: Resource, reporter: Reporter, secrets: TlsSecrets): SecretCertificate | undefined {
  const tls = gateway.spec["tls"] as Record<string, unknown> | undefined;
  const standard = (tls?.["backend"] as Record<string, unknown> | undefined)?.["clientCertificateRef"] as CertificateRef | undefined;
  const experimental = (gateway.spec["backendTLS"] as Record<string, unknown> | undefined)?.["clientCertificateRef"] as CertificateRef | undefined;
  if (standard !== undefined && experimental !== undefined && !sameRef(standard, experimental, gateway.namespace)) {
    reporter.error(gateway, EXPERIMENTAL_AT, "spec.backendTLS.clientCertificateRef and spec.tls.backend.clientCertificateRef name different Secrets", "keep spec.tls.backend (Gateway API v1.4 and later) and remove spec.backendTLS");
    return undefined;
  }
  const ref = standard ?? experimental;
  if (ref === undefined) return undefined;
  const at: Segments = standard === undefined ? EXPERIMENTAL_AT : STANDARD_AT;
  const certificate = secrets.certificate(gateway, ref, at, "backend client");
  if (certificate !== undefined && !certificate.allowsClientAuth) {
    reporter.warn(
      gateway,
      at,
      `the certificate in Secret ${certificate.secret} lists extended key usages without TLS client authentication: upstreams that check client certificates will refuse it`,
      "issue the certificate with extendedKeyUsage = clientAuth",
    );
  }
  return certificate;
}

function sameRef(a: CertificateRef, b: CertificateRef, namespace: string): boolean {
  return (a.group ?? "") === (b.group ?? "") && (a.kind ?? "Secret") === (b.kind ?? "Secret") && a.name === b.name && (a.namespace ?? namespace) === (b.namespace ?? namespace);
}
