// A JWT provider's keys at request time, chosen for a token as Envoy's jwt_verify_lib chooses:
// a key whose type and curve fit the token's alg, whose own alg (if any) is that alg, whose
// use (if any) is `sig`, and whose kid matches the token's when both have one (a key without a
// kid fits any token, and a token without a kid any key). No key fitting is Envoy's "kid or
// alg" failure; otherwise the token verifies if any fitting key's signature check passes
// (jose). Each key is imported once per alg.
import { compactVerify, importJWK } from "jose";
import type { VerificationKey } from "../config/jwks.ts";
import { type JwtFailure, JwtFailures } from "./jwt-failures.ts";

type ImportedKey = Awaited<ReturnType<typeof importJWK>>;

/** The key type, and for EC and OKP the curve, each JWS alg needs. */
function fits(key: VerificationKey, alg: string): boolean {
  if (alg.startsWith("RS") || alg.startsWith("PS")) return key.kty === "RSA";
  if (alg.startsWith("HS")) return key.kty === "oct";
  if (alg === "EdDSA") return key.kty === "OKP" && key.crv === "Ed25519";
  const curve = alg === "ES256" ? "P-256" : alg === "ES384" ? "P-384" : alg === "ES512" ? "P-521" : undefined;
  return curve !== undefined && key.kty === "EC" && key.crv === curve;
}

export class JwtKeySet {
  readonly #keys: readonly VerificationKey[];
  readonly #imported = new Map<string, Promise<ImportedKey | undefined>>();

  constructor(keys: readonly VerificationKey[]) {
    this.#keys = keys;
  }

  /** Undefined when `token` (whose header holds `alg` and `kid`) is signed by one of the keys. */
  async signatureFailure(token: string, alg: string, kid: string | undefined): Promise<JwtFailure | undefined> {
    let fitting = 0;
    for (const [index, key] of this.#keys.entries()) {
      if (!fits(key, alg) || (key.alg !== undefined && key.alg !== alg) || (key.use !== undefined && key.use !== "sig")) continue;
      if (kid !== undefined && key.kid !== undefined && key.kid !== kid) continue;
      fitting++;
      const imported = await this.#import(index, key, alg);
      if (imported === undefined) continue;
      try {
        await compactVerify(token, imported, { algorithms: [alg] });
        return undefined;
      } catch {
        // the next key
      }
    }
    return fitting === 0 ? JwtFailures.kidAlgMismatch : JwtFailures.verificationFails;
  }

  /** The key as jose verifies with it for `alg`; undefined when jose will not (the load checked what it could). */
  #import(index: number, key: VerificationKey, alg: string): Promise<ImportedKey | undefined> {
    const id = `${index} ${alg}`;
    let imported = this.#imported.get(id);
    if (imported === undefined) {
      imported = importJWK({ ...key, alg }, alg).catch(() => undefined);
      this.#imported.set(id, imported);
    }
    return imported;
  }
}
