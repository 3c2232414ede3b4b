// TLS handshakes an HTTPS listener failed, counted by port and reason: no HTTP answer can
// carry such a failure, so without the count a client sending plain HTTP, a scanner or a
// certificate a client refuses would leave no trace.
export type TlsHandshakeFailure = "timeout" | "no_certificate" | "client_certificate" | "client_closed" | "protocol";

/** Marks the SNI callback's refusal of a name no listener of the port admits. */
export const NO_LISTENER_FOR_NAME = "TOLLGATE_NO_LISTENER_FOR_NAME";

/** Marks the port's refusal of a client without a valid certificate (its client validation). */
export const CLIENT_CERTIFICATE_REFUSED = "TOLLGATE_CLIENT_CERTIFICATE_REFUSED";

export class TlsHandshakeErrors {
  readonly #counts = new Map<string, { readonly port: number; readonly reason: TlsHandshakeFailure; count: number }>();

  count(port: number, error: unknown): void {
    const reason = failureOf(error);
    const key = `${port}|${reason}`;
    const entry = this.#counts.get(key);
    if (entry === undefined) this.#counts.set(key, { port, reason, count: 1 });
    else entry.count++;
  }

  *entries(): Iterable<[port: number, reason: TlsHandshakeFailure, count: number]> {
    for (const { port, reason, count } of this.#counts.values()) yield [port, reason, count];
  }
}

/**
 * - `timeout`: no handshake within the limit;
 * - `no_certificate`: a name no listener admits, or no certificate for a client without SNI
 *   (or none the client can verify);
 * - `client_certificate`: a port that checks client certificates refused the client's (or
 *   its lack of one);
 * - `client_closed`: the client closed or reset the connection during the handshake;
 * - `protocol`: anything else (not TLS, no common protocol version or ALPN, a client's alert).
 */
function failureOf(error: unknown): TlsHandshakeFailure {
  switch ((error as { code?: unknown } | null)?.code) {
    case "ERR_TLS_HANDSHAKE_TIMEOUT":
      return "timeout";
    case NO_LISTENER_FOR_NAME:
    case "ERR_SSL_NO_SUITABLE_SIGNATURE_ALGORITHM":
      return "no_certificate";
    case CLIENT_CERTIFICATE_REFUSED:
      return "client_certificate";
    case "ECONNRESET":
    case "EPIPE":
      return "client_closed";
    default:
      return "protocol";
  }
}
