// Why a token does not let a request in: the statuses of Envoy's jwt_verify_lib, worded as
// Envoy words them (they are the answer's message and its response code details).

/** A status of Envoy's jwt_verify_lib, by its message; `forbidden` for the one Envoy answers with 403. */
export class JwtFailure {
  readonly message: string;
  readonly forbidden: boolean;

  constructor(message: string, forbidden = false) {
    this.message = message;
    this.forbidden = forbidden;
  }
}
const failure = (message: string, forbidden = false): JwtFailure => new JwtFailure(message, forbidden);

export const JwtFailures = {
  missing: failure("Jwt is missing"),
  badFormat: failure("Jwt is not in the form of Header.Payload.Signature"),
  headerParse: failure("Jwt header is an invalid Base64url input or an invalid JSON"),
  headerBadAlg: failure("Jwt header [alg] field is not a string"),
  headerUnknownAlg: failure("Jwt header [alg] field value is invalid"),
  headerBadKid: failure("Jwt header [kid] field is not a string"),
  payloadParse: failure("Jwt payload is an invalid Base64 or an invalid JSON"),
  unknownIssuer: failure("Jwt issuer is not configured"),
  notYetValid: failure("Jwt not yet valid"),
  expired: failure("Jwt is expired"),
  audienceNotAllowed: failure("Audiences in Jwt are not allowed", true),
  kidAlgMismatch: failure("Jwks doesn't have key to match kid or alg from Jwt"),
  verificationFails: failure("Jwt verification fails"),
  fetchFailed: failure("Jwks remote fetch is failed"),
} as const;
