// The kubernetes.io/tls Secrets a Gateway names: its HTTPS listeners' `tls.certificateRefs`
// and the client certificate it presents to backends. Each is found (across namespaces only
// with a ReferenceGrant), decoded and checked the way a handshake would use it, so a bad
// certificate fails the load with its position rather than the first connection. A Secret
// nothing names is not read at all, and no message ever quotes a Secret's values.
import { X509Certificate, createPrivateKey } from "node:crypto";
import { createSecureContext } from "node:tls";
import { SecretCertificate } from "./secret-certificate.ts";
import { formatPath } from "./yaml-source.ts";
import type { SecretStore } from "./secret-store.ts";
import type { Severity } from "./diagnostics.ts";
import { type Reporter, type Resource, type Segments, key } from "./resources.ts";
import type { KindSchema } from "./schema.ts";

const CERT_KEY = "tls.crt";
const KEY_KEY = "tls.key";
const TLS_SECRET_TYPE = "kubernetes.io/tls";
const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;
const MAKE_ONE_HINT = "make one with: kubectl create secret tls NAME --cert=tls.crt --key=tls.key --dry-run=client -o yaml";

/** What a certificate is for, as messages name it and say who would refuse it. */
export type CertificateUse = "listener" | "backend client";

const USE_WORDS: Record<CertificateUse, { what: string; refusedBy: string }> = {
  listener: { what: "a listener certificate", refusedBy: "clients" },
  "backend client": { what: "the client certificate for backends", refusedBy: "upstreams that ask for it" },
};

export interface CertificateRef {
  readonly group?: string;
  readonly kind?: string;
  readonly name: string;
  readonly namespace?: string;
}

/** Stands for core Secrets in the resource list; they have no schema of their own here. */
export const SECRET_KIND: KindSchema = { apiVersions: ["v1"], kind: "Secret", spec: {}, description: "Kubernetes Secret: certificates and keys, CA bundles, htpasswd text for basicAuth" };

export class TlsSecrets {
  readonly #store: SecretStore;
  readonly #reporter: Reporter;
  /** Each Secret is read once, however many places name it; null when it is unusable (already reported). */
  readonly #read = new Map<string, SecretCertificate | null>();

  constructor(store: SecretStore, reporter: Reporter) {
    this.#store = store;
    this.#reporter = reporter;
  }

  /** The certificate `ref` (at `at` in `gateway`) names; undefined after reporting why there is none. */
  certificate(gateway: Resource, ref: CertificateRef, at: Segments, use: CertificateUse = "listener"): SecretCertificate | undefined {
    const group = ref.group ?? "";
    const kind = ref.kind ?? "Secret";
    if (group !== "" || kind !== "Secret") {
      this.#reporter.error(gateway, at, `${USE_WORDS[use].what} comes from a Secret, not ${group === "" ? "" : `${group}/`}${kind}`, 'reference a kubernetes.io/tls Secret: {kind: Secret, name: ...} (group "")');
      return undefined;
    }
    const secret = this.#store.find(gateway, "gateway.networking.k8s.io", ref, at, `add the kubernetes.io/tls Secret to the file; ${MAKE_ONE_HINT}`);
    if (secret === undefined) return undefined;
    const id = key(secret);
    let read = this.#read.get(id);
    if (read === undefined) {
      read = readTlsSecret(secret, this.#reporter, use) ?? null;
      this.#read.set(id, read);
    }
    return read ?? undefined;
  }
}

/** Whether `certificate` is valid for every name `hostname` (exact, or `*.suffix`) admits. */
export function certificateCovers(certificate: SecretCertificate, hostname: string): boolean {
  // A wildcard listener admits any one-label name under its suffix; a probe name stands for them.
  const probe = hostname.startsWith("*.") ? `tollgate-probe${hostname.slice(1)}` : hostname;
  return certificate.covers(probe);
}

function readTlsSecret(secret: Resource, reporter: Reporter, use: CertificateUse): SecretCertificate | undefined {
  const { what, refusedBy } = USE_WORDS[use];
  const document = secret.doc.value as Record<string, unknown>;
  const type = document["type"];
  if (type !== TLS_SECRET_TYPE) {
    const at = type === undefined ? [] : ["type"];
    const shown = type === undefined ? "Opaque (no type)" : typeof type === "string" ? type : `a ${typeof type}`;
    reporter.error(secret, at, `${what} needs a Secret of type ${TLS_SECRET_TYPE}, not ${shown}`, `set type: ${TLS_SECRET_TYPE}; ${MAKE_ONE_HINT}`);
    return undefined;
  }
  for (const field of ["data", "stringData"]) {
    const values = document[field];
    if (values === undefined) continue;
    if (values === null || typeof values !== "object" || Array.isArray(values)) {
      reporter.error(secret, [field], `${field} must be a mapping of names to strings`, `write ${field}: {tls.crt: ..., tls.key: ...}`);
      return undefined;
    }
  }
  const missingHint = `a ${TLS_SECRET_TYPE} Secret holds ${CERT_KEY} and ${KEY_KEY} in data (base64); ${MAKE_ONE_HINT}`;
  const certificatePem = secretValue(secret, document, CERT_KEY, reporter, { missingHint });
  const keyPem = secretValue(secret, document, KEY_KEY, reporter, { missingHint });
  if (certificatePem === undefined || keyPem === undefined) return undefined;

  let leaf: X509Certificate;
  try {
    leaf = new X509Certificate(certificatePem.text);
  } catch {
    reporter.error(secret, certificatePem.at, `${CERT_KEY} holds no PEM certificate`, "put the PEM certificate chain here, leaf first (-----BEGIN CERTIFICATE-----)");
    return undefined;
  }
  try {
    createPrivateKey(keyPem.text);
  } catch (error) {
    // Node's reason names the format or a missing passphrase; it never quotes the key.
    const reason = error instanceof Error ? error.message : String(error);
    reporter.error(secret, keyPem.at, `${KEY_KEY} holds no usable private key: ${reason}`, "put the unencrypted PEM private key here (-----BEGIN PRIVATE KEY-----)");
    return undefined;
  }
  try {
    createSecureContext({ cert: certificatePem.text, key: keyPem.text });
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    const mismatch = /key values mismatch/i.test(reason);
    reporter.error(
      secret,
      mismatch ? keyPem.at : certificatePem.at,
      mismatch ? `${KEY_KEY} is not the private key of the certificate in ${CERT_KEY}` : `the certificate and key cannot be used for TLS: ${reason}`,
      mismatch ? "put the key the certificate was issued for" : "check that tls.crt holds the certificate chain and tls.key its key",
    );
    return undefined;
  }
  const now = Date.now();
  if (Date.parse(leaf.validTo) < now) {
    reporter.warn(secret, certificatePem.at, `the certificate in ${CERT_KEY} expired on ${leaf.validTo}: ${refusedBy} will refuse it`, "renew the certificate");
  } else if (Date.parse(leaf.validFrom) > now) {
    reporter.warn(secret, certificatePem.at, `the certificate in ${CERT_KEY} is not valid before ${leaf.validFrom}: ${refusedBy} will refuse it until then`, "check the issuer's clock, or wait");
  }
  return new SecretCertificate(key(secret), certificatePem.text, keyPem.text, leaf);
}

/** How a problem with a Secret value is reported: what the Secret should hold, how severe, and what follows. */
export interface SecretValueReport {
  readonly missingHint: string;
  /** What the value holds, as messages name it; default "the PEM text". */
  readonly content?: string;
  readonly severity?: Severity;
  /** Appended to each message (e.g. what the gateway does without the value). */
  readonly consequence?: string;
}

/** `stringData` wins over `data`, as when the API server merges them. */
export function secretValue(secret: Resource, document: Record<string, unknown>, name: string, reporter: Reporter, how: SecretValueReport): { text: string; at: Segments } | undefined {
  const fail = (at: Segments, message: string, hint: string): undefined => {
    reporter.report(how.severity ?? "error", secret, at, message + (how.consequence ?? ""), hint);
    return undefined;
  };
  const content = how.content ?? "the PEM text";
  const plain = (document["stringData"] as Record<string, unknown> | undefined)?.[name];
  if (plain !== undefined) {
    if (typeof plain === "string") return { text: plain, at: ["stringData", name] };
    return fail(["stringData", name], `${formatPath(["stringData", name])} must be a string (${content})`, `write ${content} as a YAML block scalar (|)`);
  }
  const encoded = (document["data"] as Record<string, unknown> | undefined)?.[name];
  if (typeof encoded !== "string" && encoded !== undefined) {
    return fail(["data", name], `${formatPath(["data", name])} must be a string (base64 of ${content})`, "write the base64 text (base64 -w0 FILE)");
  }
  if (encoded === undefined) {
    return fail(document["data"] === undefined ? [] : ["data"], `the Secret has no ${name}`, how.missingHint);
  }
  const text = decodeBase64Value(encoded);
  if (text === undefined) {
    return fail(["data", name], `${formatPath(["data", name])} is not base64`, `data values are base64 of ${content} (base64 -w0 FILE); put ${content} under stringData instead`);
  }
  return { text, at: ["data", name] };
}

/** The UTF-8 text of a Kubernetes base64 value, or undefined when it is not base64. */
export function decodeBase64Value(encoded: string): string | undefined {
  // The API server takes base64 with line breaks (a folded YAML value, `base64` without -w0).
  const unwrapped = encoded.replace(/[\r\n ]/g, "");
  return BASE64.test(unwrapped) ? Buffer.from(unwrapped, "base64").toString("utf8") : undefined;
}
