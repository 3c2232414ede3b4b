// A JWT provider's keys at request time, chosen for a token as Envoy's jwt_verify_lib chooses:
// a key whose kid matches the token's when both have one (a key without a kid fits any token,
// and a token without a kid any key; an empty kid is none) and whose own alg, if any, is the
// token's. None such is Envoy's "kid or alg" failure. Of those, the keys of the type and curve
// the alg needs, for signatures, are tried (jose); any one may have signed the token. Each
// key is imported once per alg.
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
    let matched = 0;
    for (const [index, key] of this.#keys.entries()) {
      // jwt_verify_lib: an empty kid is none, on either side.
      if (kid !== undefined && kid !== "" && key.kid !== undefined && key.kid !== "" && key.kid !== kid) continue;
      if (key.alg !== undefined && key.alg !== alg) continue;
      matched++;
      // Matched by kid and alg, as jwt_verify_lib counts; only a key of the type and curve the
      // alg needs, for signatures, is tried.
      if (!fits(key, alg) || (key.use !== undefined && key.use !== "sig")) continue;
      const imported = await this.#import(index, key, alg);
      if (imported === undefined) continue;
      try {
        await compactVerify(token, imported, { algorithms: [alg] });
        return undefined;
      } catch {
        // the next key
      }
    }
    return matched === 0 ? JwtFailures.kidAlgMismatch : JwtFailures.verificationFails;
  }

  /** The key as jose verifies with it for `alg`; undefined when jose will not (the load checked what it could). */
  #import(index: number, key: VerificationKey, alg: string): Promise<ImportedKey | undefined> {
    const id = `${index} ${alg}`;
    let imported = this.#imported.get(id);
    if (imported === undefined) {
      // As in Envoy, what a key may do is its alg and use: WebCrypto would hold key_ops and
      // ext against it and refuse every token for a key Envoy verifies with.
      const { key_ops: _ops, ext: _ext, ...usable } = key as VerificationKey & { key_ops?: unknown; ext?: unknown };
      imported = importJWK({ ...usable, alg }, alg).catch(() => undefined);
      this.#imported.set(id, imported);
    }
    return imported;
  }
}
