// What the client's TLS handshake settled, for Envoy's %REQUESTED_SERVER_NAME%,
// %DOWNSTREAM_TLS_VERSION% and %DOWNSTREAM_TLS_CIPHER% and CEL's `connection.*`: read once
// per connection, the first time one of its requests is logged, and kept on the socket.
import type { Socket } from "node:net";
import type { TLSSocket } from "node:tls";

export interface DownstreamTls {
  /** The SNI name the client sent; '' without one. */
  readonly serverName: string;
  /** `TLSv1.3`, `TLSv1.2`, as OpenSSL names it. */
  readonly version: string;
  /** OpenSSL's name of the cipher suite, e.g. `TLS_AES_256_GCM_SHA384`. */
  readonly cipher: string;
}

const kDownstreamTls = Symbol("tollgate.downstreamTls");

type NotedSocket = Socket & { [kDownstreamTls]?: DownstreamTls };

/** undefined for a plain-HTTP connection. */
export function downstreamTlsOf(socket: Socket): DownstreamTls | undefined {
  if ((socket as Partial<TLSSocket>).encrypted !== true) return undefined;
  const noted = socket as NotedSocket;
  let tls = noted[kDownstreamTls];
  if (tls === undefined) {
    const secure = socket as TLSSocket;
    const serverName = secure.servername;
    tls = { serverName: typeof serverName === "string" ? serverName : "", version: secure.getProtocol() ?? "", cipher: secure.getCipher()?.name ?? "" };
    noted[kDownstreamTls] = tls;
  }
  return tls;
}
