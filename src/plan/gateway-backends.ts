// The compiled backends as each Gateway reaches them. A Gateway with a client certificate
// (`spec.tls.backend.clientCertificateRef`) presents it to every backend it reaches under a
// BackendTLSPolicy, so those backends are compiled once more for it: their endpoints carry
// the certificate in their TLS options and pool keys, and the choice costs nothing per request.
import type { GatewayModel } from "../config/model.ts";
import type { SecretCertificate } from "../config/secret-certificate.ts";
import { compileBackend } from "./backends.ts";
import type { CompiledBackend } from "./types.ts";

export class GatewayBackends {
  readonly #plain: ReadonlyMap<string, CompiledBackend>;
  readonly #byCertificate = new Map<SecretCertificate, ReadonlyMap<string, CompiledBackend>>();

  /** `plain`: every backend compiled without a client certificate. */
  constructor(plain: ReadonlyMap<string, CompiledBackend>) {
    this.#plain = plain;
  }

  /** The backends, by key, as requests through `gateway` reach them. */
  of(gateway: GatewayModel): ReadonlyMap<string, CompiledBackend> {
    const certificate = gateway.backendClientCertificate;
    if (certificate === undefined) return this.#plain;
    let backends = this.#byCertificate.get(certificate);
    if (backends === undefined) {
      backends = new Map([...this.#plain].map(([key, backend]) => [key, presenting(backend, certificate)]));
      this.#byCertificate.set(certificate, backends);
    }
    return backends;
  }

  /** Every compiled backend, each Gateway's variants included: what the connection pools serve. */
  all(): CompiledBackend[] {
    const out = new Set(this.#plain.values());
    for (const backends of this.#byCertificate.values()) for (const backend of backends.values()) out.add(backend);
    return [...out];
  }
}

/** `backend` presenting `certificate` when it is reached over TLS; the same object when it is not. */
function presenting(backend: CompiledBackend, certificate: SecretCertificate): CompiledBackend {
  const tls = backend.model.tls;
  if (tls === undefined) return backend;
  return compileBackend({ ...backend.model, tls: tls.withClientCertificate(certificate) });
}
