// Which certificates a handshake on an HTTPS port gets, by the name the client sent in SNI:
// those of the listener whose hostname is that name, else of the listener with the longest
// wildcard that admits it, else of the port's listener with no hostname (which also answers
// clients that send no name). Listeners of several Gateways may share a port; the first by
// precedence keeps a hostname.
import type { ListenerTls } from "../config/listener-tls.ts";
import type { ClientValidation } from "../config/client-validation.ts";
import type { ListenerTlsOptions, TlsParameters } from "../config/listener-tls-options.ts";
import type { ListenerModel } from "../config/model.ts";
import { hostnameAdmits, isWildcardHostname, normalizeHostname } from "../router/hostnames.ts";

export class PortTls {
  readonly #exact = new Map<string, ListenerTls>();
  /** Longest pattern first, so the most specific wildcard wins. */
  readonly #wildcards: { readonly pattern: string; readonly tls: ListenerTls }[] = [];
  /** The listener with no hostname: names no other listener admits, and handshakes without SNI. */
  readonly fallback: ListenerTls | undefined;
  /** How the port checks client certificates; the config stage made every listener of the port agree. */
  readonly clientValidation: ClientValidation | undefined;
  /** The port's protocol versions, ciphers and groups; the config stage made every listener of the port agree. */
  readonly options: ListenerTlsOptions | undefined;

  /** `listeners`: the port's HTTPS listeners, in precedence order. */
  constructor(listeners: readonly ListenerModel[]) {
    let fallback: ListenerTls | undefined;
    let clientValidation: ClientValidation | undefined;
    let options: ListenerTlsOptions | undefined;
    let first = true;
    for (const l of listeners) {
      if (l.tls === undefined) continue;
      if (first) {
        clientValidation = l.tls.clientValidation;
        options = l.tls.options;
      }
      first = false;
      if (l.hostname === undefined) {
        fallback ??= l.tls;
        continue;
      }
      const pattern = normalizeHostname(l.hostname);
      if (!isWildcardHostname(pattern)) {
        if (!this.#exact.has(pattern)) this.#exact.set(pattern, l.tls);
      } else this.#wildcards.push({ pattern, tls: l.tls });
    }
    // Stable: of two listeners with one wildcard, the first by precedence stays ahead.
    this.#wildcards.sort((a, b) => b.pattern.length - a.pattern.length);
    this.fallback = fallback;
    this.clientValidation = clientValidation;
    this.options = options;
  }

  /**
   * What the server's default context is made of: it serves handshakes without SNI, and
   * OpenSSL takes a connection's protocol versions and ciphers from it before SNI picks a
   * listener's context, so it carries the port's options even with no listener to fall back on.
   */
  defaultContextOptions(): { cert?: string; key?: string; ca?: string } & TlsParameters {
    return this.fallback?.defaultContextOptions() ?? { ...this.options?.parameters };
  }

  /** The certificates for a client that sent `serverName`; undefined when no listener of the port admits it. */
  forServerName(serverName: string): ListenerTls | undefined {
    const name = normalizeHostname(serverName);
    const exact = this.#exact.get(name);
    if (exact !== undefined) return exact;
    for (const w of this.#wildcards) if (hostnameAdmits(w.pattern, name)) return w.tls;
    return this.fallback;
  }
}
