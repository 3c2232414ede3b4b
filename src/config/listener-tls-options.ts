// An HTTPS listener's `tls.options`, as kgateway spells them (`kgateway.dev/min-tls-version`,
// ...): the protocol versions, cipher suites, key-exchange groups and signature algorithms
// its port offers. OpenSSL fixes these for a connection from the server's first context,
// before SNI picks a listener, so they bind to the port like client validation: listeners
// sharing a port must agree. Every value is checked at load; an option that would change
// what clients may do and that Tollgate cannot apply is an error, never dropped.
import { DEFAULT_CIPHERS, createSecureContext, getCiphers } from "node:tls";
import type { Reporter, Resource, Segments } from "./resources.ts";

const PREFIX = "kgateway.dev/";
const VERSIONS: Record<string, "TLSv1.2" | "TLSv1.3"> = { "1.2": "TLSv1.2", "1.3": "TLSv1.3" };
/** TLS 1.3 suites are not configurable in Envoy: a list naming none keeps OpenSSL's, as there. */
const TLS13_DEFAULT_SUITES = "TLS_AES_256_GCM_SHA384:TLS_CHACHA20_POLY1305_SHA256:TLS_AES_128_GCM_SHA256";
/** The standard (IANA) names of the TLS 1.2 suites worth offering, as Envoy also takes them, to OpenSSL's. */
const IANA_TLS12_SUITES: Readonly<Record<string, string>> = {
  TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256: "ECDHE-ECDSA-AES128-GCM-SHA256",
  TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256: "ECDHE-RSA-AES128-GCM-SHA256",
  TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384: "ECDHE-ECDSA-AES256-GCM-SHA384",
  TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384: "ECDHE-RSA-AES256-GCM-SHA384",
  TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256: "ECDHE-ECDSA-CHACHA20-POLY1305",
  TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256: "ECDHE-RSA-CHACHA20-POLY1305",
};

/** What a port's TLS contexts are made with, beyond the certificates. */
export interface TlsParameters {
  readonly minVersion?: "TLSv1.2" | "TLSv1.3";
  readonly maxVersion?: "TLSv1.2" | "TLSv1.3";
  /** OpenSSL's cipher string (TLS 1.2 names, then TLS 1.3 ones). */
  readonly ciphers?: string;
  readonly ecdhCurve?: string;
  readonly sigalgs?: string;
}

export class ListenerTlsOptions {
  readonly parameters: TlsParameters;
  /** The options as written, for the admin view and messages. */
  readonly written: Readonly<Record<string, string>>;

  constructor(parameters: TlsParameters, written: Readonly<Record<string, string>>) {
    this.parameters = parameters;
    this.written = written;
  }

  sameAs(other: ListenerTlsOptions | undefined): boolean {
    if (other === undefined) return false;
    const a = this.parameters;
    const b = other.parameters;
    return a.minVersion === b.minVersion && a.maxVersion === b.maxVersion && a.ciphers === b.ciphers && a.ecdhCurve === b.ecdhCurve && a.sigalgs === b.sigalgs;
  }

  static same(a: ListenerTlsOptions | undefined, b: ListenerTlsOptions | undefined): boolean {
    return a === undefined ? b === undefined : a.sameAs(b);
  }

  toJSON(): Readonly<Record<string, string>> {
    return this.written;
  }
}

/** The listener's `tls.options` (at `at`); undefined when they set nothing Tollgate applies; null after reporting an error. */
export function listenerTlsOptions(gateway: Resource, options: Readonly<Record<string, string>> | undefined, at: Segments, reporter: Reporter): ListenerTlsOptions | undefined | null {
  if (options === undefined || Object.keys(options).length === 0) return undefined;
  const parameters: { -readonly [K in keyof TlsParameters]: TlsParameters[K] } = {};
  const written: Record<string, string> = {};
  let failed = false;
  const fail = (key: string, message: string, hint: string): void => {
    reporter.error(gateway, [...at, key], message, hint);
    failed = true;
  };
  for (const [key, raw] of Object.entries(options)) {
    if (!key.startsWith(PREFIX)) {
      reporter.warn(gateway, [...at, key], `${key} is not one of the ${PREFIX}* options Tollgate reads: ignored`, `Tollgate reads the ${PREFIX}* options kgateway defines (min-tls-version, max-tls-version, cipher-suites, ecdh-curves, signature-algorithms, alpn-protocols)`);
      continue;
    }
    const value = String(raw).trim();
    const list = value.split(",").map((v) => v.trim()).filter((v) => v !== "");
    written[key] = value;
    if (list.length === 0) {
      // An empty list would leave OpenSSL nothing to offer: every handshake would fail.
      fail(key, `${key} is empty`, "list at least one value, or remove the option");
      continue;
    }
    switch (key.slice(PREFIX.length)) {
      case "min-tls-version":
      case "max-tls-version": {
        const version = VERSIONS[value];
        if (version === undefined) fail(key, `"${value}" is not a TLS version Tollgate offers`, value === "1.0" || value === "1.1" ? "TLS 1.0 and 1.1 are not offered (insecure, and refused by OpenSSL's defaults); use 1.2 or 1.3" : 'write "1.2" or "1.3"');
        else if (key.endsWith("min-tls-version")) parameters.minVersion = version;
        else parameters.maxVersion = version;
        break;
      }
      case "cipher-suites": {
        const ciphers = cipherString(list);
        if (typeof ciphers !== "string") fail(key, `unknown cipher suite ${ciphers.unknown}`, `use OpenSSL names (ECDHE-RSA-AES128-GCM-SHA256) or standard ones (TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256); this Node knows: ${getCiphers().filter((c) => c.startsWith("ecdhe-")).slice(0, 6).join(", ").toUpperCase()}, ...`);
        else parameters.ciphers = ciphers;
        break;
      }
      case "ecdh-curves":
        if (usable({ ecdhCurve: list.join(":") })) parameters.ecdhCurve = list.join(":");
        else fail(key, `"${value}" holds a group OpenSSL does not know`, "use names such as X25519, P-256, P-384, X25519MLKEM768");
        break;
      case "signature-algorithms":
        if (usable({ sigalgs: list.join(":") })) parameters.sigalgs = list.join(":");
        else fail(key, `"${value}" holds a signature algorithm OpenSSL does not know`, "use TLS 1.3 names such as ecdsa_secp256r1_sha256, rsa_pss_rsae_sha256");
        break;
      case "alpn-protocols": {
        // kgateway's default is "h2,http/1.1"; clients offering both get HTTP/1.1 here, and
        // ones offering none are served too (kgateway's "allow-empty").
        const unknown = list.filter((p) => p !== "http/1.1" && p !== "h2" && p !== "allow-empty");
        if (unknown.length > 0) fail(key, `unknown ALPN protocol ${unknown.join(", ")}`, 'write "http/1.1" (HTTPS listeners speak HTTP/1.1 only)');
        else if (!list.includes("http/1.1")) fail(key, `HTTP/1.1 is the only protocol an HTTPS listener speaks, and ${key} leaves it out`, 'add "http/1.1"');
        else if (list.includes("h2")) reporter.warn(gateway, [...at, key], "h2 is not offered: HTTPS listeners speak HTTP/1.1 only, which clients offering both get", 'write "http/1.1"');
        break;
      }
      case "verify-subject-alt-names":
      case "verify-certificate-hash":
        fail(key, `${key} (checks on the client's certificate) is not supported yet`, "remove it; spec.tls.frontend checks client certificates against CAs");
        break;
      default:
        fail(key, `unknown TLS option ${key}`, `the ${PREFIX} options are min-tls-version, max-tls-version, cipher-suites, ecdh-curves, signature-algorithms, alpn-protocols`);
    }
  }
  if (parameters.minVersion !== undefined && parameters.maxVersion !== undefined && parameters.minVersion > parameters.maxVersion) {
    fail(`${PREFIX}max-tls-version`, `the maximum TLS version ${parameters.maxVersion} is below the minimum ${parameters.minVersion}`, "raise the maximum or lower the minimum");
  }
  if (failed) return null;
  return Object.keys(parameters).length === 0 ? undefined : new ListenerTlsOptions(parameters, written);
}

/**
 * OpenSSL's cipher string for `names`, or the first name it does not know. Names are
 * case-sensitive to OpenSSL (it drops a lower-case one silently), so they must be written as
 * OpenSSL or the standard spell them. A list naming only TLS 1.2 suites keeps OpenSSL's TLS
 * 1.3 ones, and one naming only TLS 1.3 suites keeps the TLS 1.2 defaults, so naming suites
 * of one version never turns the other off.
 */
function cipherString(names: readonly string[]): string | { unknown: string } {
  const known = new Set(getCiphers());
  const tls12: string[] = [];
  const tls13: string[] = [];
  for (const name of names) {
    const openssl = Object.hasOwn(IANA_TLS12_SUITES, name) ? IANA_TLS12_SUITES[name]! : name;
    if (openssl !== openssl.toUpperCase() || !known.has(openssl.toLowerCase())) return { unknown: name };
    (openssl.startsWith("TLS_") ? tls13 : tls12).push(openssl);
  }
  const defaults12 = DEFAULT_CIPHERS.split(":").filter((c) => !c.startsWith("TLS_"));
  return [...(tls12.length > 0 ? tls12 : defaults12), ...(tls13.length > 0 ? tls13 : TLS13_DEFAULT_SUITES.split(":"))].join(":");
}

function usable(options: { ecdhCurve?: string; sigalgs?: string }): boolean {
  try {
    createSecureContext(options);
    return true;
  } catch {
    return false;
  }
}
