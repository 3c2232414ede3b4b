// The keys a JWT provider verifies tokens with, in the forms kgateway takes them: a JWKS, one
// JWK, or a PEM public key (as a JWK of RS256, ES256/384/512 by curve, or EdDSA). Every key is
// checked with Node's crypto when it is read, so a key that could verify nothing is found at
// once: in the config file at its position, in a fetched JWKS when it arrives.
import { type JsonWebKey, createPublicKey } from "node:crypto";

/** A public JWK (or an HMAC `oct` key) as jose's key sets take it. */
export type VerificationKey = JsonWebKey & { readonly kty: string; readonly kid?: string; readonly alg?: string; readonly use?: string };

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

const fail = (message: string, hint: string): JwksRead => ({ ok: false, message, hint });

/** Reads `text` as a JWKS, one JWK or a PEM public key. */
export function readJwks(text: string): JwksRead {
  const trimmed = text.trim();
  if (trimmed.startsWith("-----BEGIN")) return readPem(trimmed);
  let parsed: unknown;
  try {
    parsed = JSON.parse(trimmed);
  } catch {
    return fail("the keys are neither JSON (a JWKS or a JWK) nor a PEM public key", 'write a JWKS ({"keys": [...]}), one JWK, or a PEM block (-----BEGIN PUBLIC KEY-----)');
  }
  if (parsed === null || typeof parsed !== "object" || Array.isArray(parsed)) return fail("the keys must be a JSON object: a JWKS or one JWK", 'write {"keys": [{"kty": ...}]}');
  const record = parsed as Record<string, unknown>;
  if (record["keys"] === undefined) {
    if (record["kty"] === undefined) return fail('the JSON is neither a JWKS (no "keys") nor a JWK (no "kty")', 'write {"keys": [{"kty": ...}]}');
    return readKeys([record], true);
  }
  if (!Array.isArray(record["keys"])) return fail('"keys" must be an array of JWKs', 'write {"keys": [{"kty": ...}]}');
  if (record["keys"].length === 0) return fail('"keys" is empty: no token could be verified', "add the issuer's public keys");
  return readKeys(record["keys"], true);
}

/**
 * Keys fetched from a JWKS URL: one that is not usable is left out (as Envoy does) and said in
 * `warnings`; the set fails only when no key is left.
 */
export function readFetchedJwks(text: string): JwksRead {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return fail("Jwks is an invalid JSON", "");
  }
  const keys = parsed !== null && typeof parsed === "object" ? (parsed as Record<string, unknown>)["keys"] : undefined;
  if (!Array.isArray(keys)) return fail("Jwks does not have [keys] field", "");
  return readKeys(keys, false);
}

function readKeys(entries: readonly unknown[], strict: boolean): JwksRead {
  const keys: VerificationKey[] = [];
  const warnings: string[] = [];
  for (const [index, entry] of entries.entries()) {
    const name = entries.length === 1 ? "the key" : `key ${index + 1}`;
    const read = readKey(entry, name);
    if (typeof read === "string") {
      if (strict) return fail(read, "publish the issuer's public keys as RFC 7517 JWKs (kty RSA, EC, OKP or oct)");
      warnings.push(read);
      continue;
    }
    keys.push(read.key);
    if (read.warning !== undefined) warnings.push(read.warning);
  }
  if (keys.length === 0) return fail("Jwks doesn't have any valid public key", "");
  return { ok: true, keys, warnings };
}

function readKey(entry: unknown, name: string): { key: VerificationKey; warning?: string } | string {
  if (entry === null || typeof entry !== "object" || Array.isArray(entry)) return `${name} is not a JSON object`;
  const jwk: Record<string, unknown> = { ...(entry as Record<string, unknown>) };
  const kty = jwk["kty"];
  if (typeof kty !== "string" || ALGORITHMS_OF_KTY[kty] === undefined) return `${name} has kty ${JSON.stringify(kty)}; RSA, EC, OKP and oct keys verify tokens`;
  const alg = jwk["alg"];
  if (alg !== undefined && (typeof alg !== "string" || !ALGORITHMS_OF_KTY[kty]!.includes(alg))) {
    return `${name} has alg ${JSON.stringify(alg)}, which a ${kty} key cannot verify (${ALGORITHMS_OF_KTY[kty]!.join(", ")})`;
  }
  if (jwk["kid"] !== undefined && typeof jwk["kid"] !== "string") return `${name} has a kid that is not a string`;
  if (kty === "oct") {
    const k = jwk["k"];
    if (typeof k !== "string" || Buffer.from(k, "base64url").length === 0) return `${name} is an oct key without its k (the base64url secret)`;
    return { key: jwk as VerificationKey };
  }
  let warning: string | undefined;
  if (PRIVATE_MEMBERS.some((m) => jwk[m] !== undefined)) {
    for (const m of PRIVATE_MEMBERS) delete jwk[m];
    warning = `${name} is a private key: only its public part is used`;
  }
  try {
    createPublicKey({ key: jwk as JsonWebKey, format: "jwk" });
  } catch (e) {
    return `${name} is not a usable ${kty} public key (${(e as Error).message})`;
  }
  return warning === undefined ? { key: jwk as VerificationKey } : { key: jwk as VerificationKey, warning };
}

function readPem(pem: string): JwksRead {
  if (/-----BEGIN [A-Z ]*PRIVATE KEY-----/.test(pem)) return fail("the PEM block is a private key", "give the public key: openssl pkey -in key.pem -pubout");
  let jwk: JsonWebKey;
  let type: string | undefined;
  try {
    const key = createPublicKey(pem);
    type = key.asymmetricKeyType;
    jwk = key.export({ format: "jwk" });
  } catch (e) {
    return fail(`the PEM block is not a public key (${(e as Error).message})`, "give a PEM public key (-----BEGIN PUBLIC KEY----- or -----BEGIN RSA PUBLIC KEY-----)");
  }
  const alg = type === "rsa" ? "RS256" : type === "ec" ? EC_ALGORITHM_OF_CURVE[String(jwk.crv)] : type === "ed25519" ? "EdDSA" : undefined;
  if (alg === undefined) return fail(`the PEM public key is of type ${type ?? "unknown"}${jwk.crv === undefined ? "" : ` (${jwk.crv})`}; RSA, EC (P-256, P-384, P-521) and Ed25519 keys verify tokens`, "give the issuer's signing key");
  return { ok: true, keys: [{ ...jwk, kty: String(jwk.kty), alg, use: "sig" }], warnings: [] };
}
