// A token issuer for tests: key pairs made with Node's crypto, public keys as JWKs or PEM, and
// tokens signed with jose, as an identity provider would sign them.
import { type KeyObject, generateKeyPairSync } from "node:crypto";
import { type JWTPayload, SignJWT } from "jose";

export interface TestSigningKey {
  readonly alg: string;
  readonly kid: string | undefined;
  readonly privateKey: KeyObject;
  readonly publicKey: KeyObject;
  /** The public key as a JWK, with its kid and alg when it has them. */
  readonly jwk: Record<string, unknown>;
  readonly pem: string;
}

export function signingKey(alg: "RS256" | "ES256" | "ES384" | "EdDSA" | "PS256", kid?: string, withAlg = true): TestSigningKey {
  const pair =
    alg === "RS256" || alg === "PS256"
      ? generateKeyPairSync("rsa", { modulusLength: 2048 })
      : alg === "EdDSA"
        ? generateKeyPairSync("ed25519")
        : generateKeyPairSync("ec", { namedCurve: alg === "ES256" ? "P-256" : "P-384" });
  const jwk: Record<string, unknown> = { ...pair.publicKey.export({ format: "jwk" }), ...(kid === undefined ? {} : { kid }), ...(withAlg ? { alg } : {}), use: "sig" };
  return { alg, kid, privateKey: pair.privateKey, publicKey: pair.publicKey, jwk, pem: pair.publicKey.export({ format: "pem", type: "spki" }).toString() };
}

/** A JWKS of the keys' public halves, as JSON text. */
export const jwksOf = (...keys: TestSigningKey[]): string => JSON.stringify({ keys: keys.map((k) => k.jwk) });

/** A compact JWS of `claims`, signed by `key` (its kid in the header when it has one). */
export async function signToken(key: TestSigningKey, claims: JWTPayload): Promise<string> {
  return new SignJWT(claims).setProtectedHeader({ alg: key.alg, typ: "JWT", ...(key.kid === undefined ? {} : { kid: key.kid }) }).sign(key.privateKey);
}

export const nowSeconds = (): number => Math.floor(Date.now() / 1000);
