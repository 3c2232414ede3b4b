// The keys a JWT provider verifies tokens with, in the forms kgateway and Envoy take them: a
// JWKS, one JWK, a PEM public key (as a JWK of RS256, ES256/384/512 by curve, or EdDSA), or a
// JSON object of key ids and X.509 certificates (the form Google publishes, which Envoy reads).
// Every key is checked with Node's crypto when it is read, so a key that could verify nothing
// is found at once: in the config file at its position, in a fetched JWKS when it arrives. A
// key for encryption (`use: enc`, or an alg that is not a JWS one) is left out, with a warning,
// as Envoy leaves it out.
import { type JsonWebKey, createPublicKey } from "node:crypto";
import { REDACTED } from "./url-credentials.ts";

/** A public JWK (or an HMAC `oct` key) as jose imports it. */
export type VerificationKey = JsonWebKey & { readonly kty: string; readonly kid?: string; readonly alg?: string; readonly use?: string };

/** A provider's keys; the admin API shows them without an HMAC secret. */
export class VerificationKeys {
  readonly list: readonly VerificationKey[];

  constructor(list: readonly VerificationKey[]) {
    this.list = list;
  }

  toJSON(): readonly VerificationKey[] {
    return this.list.map((key) => (key.kty === "oct" ? { ...key, k: REDACTED } : key));
  }
}

export type JwksRead =
  | { readonly ok: true; readonly keys: readonly VerificationKey[]; readonly warnings: readonly string[] }
  | { readonly ok: false; readonly message: string; readonly hint: string };

/** The JWS algorithms Envoy's jwt_authn verifies, by the key type each needs. */
const ALGORITHMS_OF_KTY: Readonly<Record<string, readonly string[]>> = {
  RSA: ["RS256", "RS384", "RS512", "PS256", "PS384", "PS512"],
  EC: ["ES256", "ES384", "ES512"],
  OKP: ["EdDSA"],
  oct: ["HS256", "HS384", "HS512"],
};
export const JWS_ALGORITHMS: readonly string[] = Object.values(ALGORITHMS_OF_KTY).flat();
const EC_ALGORITHM_OF_CURVE: Readonly<Record<string, string>> = { "P-256": "ES256", "P-384": "ES384", "P-521": "ES512" };
/** The members of a private JWK; only the public part verifies, so they are dropped. */
const PRIVATE_MEMBERS = ["d", "p", "q", "dp", "dq", "qi", "oth"];
/** jose verifies with RSA keys of this many bits or more. */
const MIN_RSA_BITS = 2048;
const PEM_BLOCK = /-----BEGIN ([A-Z0-9 ]+)-----[\s\S]*?-----END \1-----/;
const BASE64URL = /^[A-Za-z0-9_-]+$/;
const KEY_HINT = "publish the issuer's public signing keys as RFC 7517 JWKs (kty RSA, EC, OKP or oct)";

const fail = (message: string, hint: string): JwksRead => ({ ok: false, message, hint });

/** Reads `text` (from the config) as a JWKS, one JWK, a key id to certificate map, or a PEM public key. */
export function readJwks(text: string): JwksRead {
  const trimmed = text.trim();
  // As kgateway's PEM decoding, text before the block (a comment, bag attributes) is skipped.
  if (!trimmed.startsWith("{") && PEM_BLOCK.test(trimmed)) return readPem(trimmed);
  let parsed: unknown;
  try {
    parsed = JSON.parse(trimmed);
  } catch {
    return fail("the keys are neither JSON (a JWKS or a JWK) nor a PEM public key", 'write a JWKS ({"keys": [...]}), one JWK, or a PEM block (-----BEGIN PUBLIC KEY-----)');
  }
  if (parsed === null || typeof parsed !== "object" || Array.isArray(parsed)) return fail("the keys must be a JSON object: a JWKS or one JWK", 'write {"keys": [{"kty": ...}]}');
  const record = parsed as Record<string, unknown>;
  if (record["keys"] === undefined) {
    if (record["kty"] !== undefined) return readKeys([record], true);
    return readCertificateMap(record, true) ?? fail('the JSON is neither a JWKS (no "keys") nor a JWK (no "kty")', 'write {"keys": [{"kty": ...}]}');
  }
  if (!Array.isArray(record["keys"])) return fail('"keys" must be an array of JWKs', 'write {"keys": [{"kty": ...}]}');
  if (record["keys"].length === 0) return fail('"keys" is empty: no token could be verified', "add the issuer's public keys");
  return readKeys(record["keys"], true);
}

/**
 * Keys fetched from a JWKS URL: one that is not usable is left out (as Envoy does) and said in
 * `warnings`; the set fails only when no key is left. Failures are jwt_verify_lib's words.
 */
export function readFetchedJwks(text: string): JwksRead {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return fail("Jwks is an invalid JSON", "");
  }
  if (parsed === null || typeof parsed !== "object" || Array.isArray(parsed)) return fail("Jwks is an invalid JSON", "");
  const keys = (parsed as Record<string, unknown>)["keys"];
  if (keys === undefined) return readCertificateMap(parsed as Record<string, unknown>, false) ?? fail("Jwks does not have [keys] field", "");
  if (!Array.isArray(keys)) return fail("[keys] in Jwks is not an array", "");
  return readKeys(keys, false);
}

/** `strict` (the config's own keys): a malformed key is an error; otherwise it is left out. */
function readKeys(entries: readonly unknown[], strict: boolean): JwksRead {
  const keys: VerificationKey[] = [];
  const warnings: string[] = [];
  for (const [index, entry] of entries.entries()) {
    const name = entries.length === 1 ? "the key" : `key ${index + 1}`;
    const read = readKey(entry, name);
    if ("skipped" in read) {
      warnings.push(read.skipped);
      continue;
    }
    if ("problem" in read) {
      if (strict) return fail(read.problem, KEY_HINT);
      warnings.push(read.problem);
      continue;
    }
    keys.push(read.key);
    if (read.warning !== undefined) warnings.push(read.warning);
  }
  if (keys.length === 0) return strict ? fail("no key of the set verifies signatures", KEY_HINT) : fail("Jwks doesn't have any valid public key", "");
  return { ok: true, keys, warnings };
}

type KeyRead = { key: VerificationKey; warning?: string } | { problem: string } | { skipped: string };

function readKey(entry: unknown, name: string): KeyRead {
  if (entry === null || typeof entry !== "object" || Array.isArray(entry)) return { problem: `${name} is not a JSON object` };
  const jwk: Record<string, unknown> = { ...(entry as Record<string, unknown>) };
  const kty = jwk["kty"];
  const alg = jwk["alg"];
  // A key for encryption sits in many issuers' sets beside the signing keys.
  if (jwk["use"] === "enc" || (typeof alg === "string" && !JWS_ALGORITHMS.includes(alg) && alg !== "none")) return { skipped: `${name} is for encryption (${jwk["use"] === "enc" ? "use enc" : `alg ${alg}`}), not signatures: it is left out` };
  if (typeof kty !== "string" || ALGORITHMS_OF_KTY[kty] === undefined) return { problem: `${name} has kty ${JSON.stringify(kty)}; RSA, EC, OKP and oct keys verify tokens` };
  if (alg !== undefined && (typeof alg !== "string" || !ALGORITHMS_OF_KTY[kty]!.includes(alg))) {
    return { problem: `${name} has alg ${JSON.stringify(alg)}, which a ${kty} key cannot verify (${ALGORITHMS_OF_KTY[kty]!.join(", ")})` };
  }
  if (jwk["kid"] !== undefined && typeof jwk["kid"] !== "string") return { problem: `${name} has a kid that is not a string` };
  if (kty === "oct") {
    const k = jwk["k"];
    if (typeof k !== "string" || !BASE64URL.test(k)) return { problem: `${name} is an oct key without its k as base64url (the secret, without + / or padding)` };
    return { key: jwk as VerificationKey };
  }
  const curveAlg = EC_ALGORITHM_OF_CURVE[String(jwk["crv"])];
  if (kty === "EC" && curveAlg === undefined) return { problem: `${name} is an EC key on curve ${JSON.stringify(jwk["crv"])}; P-256, P-384 and P-521 keys verify tokens` };
  if (kty === "EC" && alg !== undefined && alg !== curveAlg) return { problem: `${name} is an EC key on ${String(jwk["crv"])} with alg ${String(alg)}; that curve verifies ${curveAlg}` };
  if (kty === "OKP" && jwk["crv"] !== "Ed25519") return { problem: `${name} is an OKP key on curve ${JSON.stringify(jwk["crv"])}; Ed25519 keys verify tokens` };
  let warning: string | undefined;
  if (PRIVATE_MEMBERS.some((m) => jwk[m] !== undefined)) {
    for (const m of PRIVATE_MEMBERS) delete jwk[m];
    warning = `${name} is a private key: only its public part is used`;
  }
  let bits: number | undefined;
  try {
    bits = createPublicKey({ key: jwk as JsonWebKey, format: "jwk" }).asymmetricKeyDetails?.modulusLength;
  } catch (e) {
    return { problem: `${name} is not a usable ${kty} public key (${(e as Error).message})` };
  }
  if (kty === "RSA" && (bits ?? 0) < MIN_RSA_BITS) return { problem: `${name} is a ${bits ?? 0}-bit RSA key; RSA keys of ${MIN_RSA_BITS} bits or more verify tokens` };
  return warning === undefined ? { key: jwk as VerificationKey } : { key: jwk as VerificationKey, warning };
}

function readPem(text: string): JwksRead {
  const block = PEM_BLOCK.exec(text)!;
  const label = block[1]!;
  if (label.endsWith("PRIVATE KEY")) return fail("the PEM block is a private key", "give the public key: openssl pkey -in key.pem -pubout");
  if (label !== "PUBLIC KEY" && label !== "RSA PUBLIC KEY") return fail(`the PEM block is a ${label}, not a public key`, label === "CERTIFICATE" ? "give its public key: openssl x509 -in cert.pem -pubkey -noout" : "give a PEM public key (-----BEGIN PUBLIC KEY-----)");
  const read = pemKey(block[0], { alg: true });
  return typeof read === "string" ? fail(read, "give the issuer's signing key: RSA, EC (P-256, P-384, P-521) or Ed25519") : { ok: true, keys: [read], warnings: [] };
}

/**
 * A PEM public key or certificate's key as a JWK, or why it cannot be one. `alg`: with the alg
 * its type implies (kgateway gives a PEM key one; Envoy gives a certificate's key none, so it
 * verifies any of the type's algs).
 */
function pemKey(pem: string, how: { alg: boolean; kid?: string }): VerificationKey | string {
  let jwk: JsonWebKey;
  let type: string | undefined;
  let bits: number | undefined;
  try {
    const key = createPublicKey(pem);
    type = key.asymmetricKeyType;
    bits = key.asymmetricKeyDetails?.modulusLength;
    jwk = key.export({ format: "jwk" });
  } catch (e) {
    return `the PEM block is not a public key (${(e as Error).message})`;
  }
  const alg = type === "rsa" ? "RS256" : type === "ec" ? EC_ALGORITHM_OF_CURVE[String(jwk.crv)] : type === "ed25519" ? "EdDSA" : undefined;
  if (alg === undefined) return `the PEM public key is of type ${type ?? "unknown"}${jwk.crv === undefined ? "" : ` (${jwk.crv})`}; RSA, EC (P-256, P-384, P-521) and Ed25519 keys verify tokens`;
  if (type === "rsa" && (bits ?? 0) < MIN_RSA_BITS) return `the PEM key is a ${bits ?? 0}-bit RSA key; RSA keys of ${MIN_RSA_BITS} bits or more verify tokens`;
  return { ...jwk, kty: String(jwk.kty), ...(how.alg ? { alg } : {}), use: "sig", ...(how.kid === undefined ? {} : { kid: how.kid }) };
}

/**
 * `{"kid": "-----BEGIN CERTIFICATE-----..."}`: each certificate's key under its kid; undefined
 * when the object is not that. `strict` (the config's own): a certificate that cannot be used is an error.
 */
function readCertificateMap(record: Record<string, unknown>, strict: boolean): JwksRead | undefined {
  const entries = Object.entries(record);
  if (entries.length === 0 || !entries.every(([, v]) => typeof v === "string" && v.includes("-----BEGIN CERTIFICATE-----"))) return undefined;
  const keys: VerificationKey[] = [];
  const warnings: string[] = [];
  for (const [kid, pem] of entries) {
    const read = pemKey(pem as string, { alg: false, kid });
    if (typeof read !== "string") keys.push(read);
    else if (strict) return fail(`certificate ${JSON.stringify(kid)}: ${read}`, KEY_HINT);
    else warnings.push(`certificate ${JSON.stringify(kid)}: ${read}`);
  }
  return keys.length === 0 ? fail("Jwks doesn't have any valid public key", KEY_HINT) : { ok: true, keys, warnings };
}
