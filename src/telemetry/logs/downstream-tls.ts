// What the client's TLS handshake settled, for Envoy's %REQUESTED_SERVER_NAME%,
// %DOWNSTREAM_TLS_VERSION%, %DOWNSTREAM_TLS_CIPHER% and %DOWNSTREAM_PEER_*% and CEL's
// `connection.*`: read once per connection, the first time one of its requests is logged,
// and kept on the socket.
import type { Socket } from "node:net";
import type { TLSSocket } from "node:tls";
import type { ConnectionTlsActivation } from "../../cel/environment.ts";
import { subjectAltNames } from "../../config/subject-alt-names.ts";
import { rfc2253Name } from "./rfc2253-name.ts";
import { CIPHER_SUITE_NUMBERS } from "./cipher-suite-numbers.ts";

/** The certificate the client presented (on a port that asks for one). */
export interface DownstreamPeer {
  /** Whether it chained to the port's CAs; false only under AllowInsecureFallback. */
  readonly verified: boolean;
  /** RFC 2253, as Envoy prints it: `CN=client,O=Acme\, Inc,C=US`. */
  readonly subject: string;
  readonly issuer: string;
  readonly uriSans: readonly string[];
  readonly dnsSans: readonly string[];
  /** SHA-256 of the DER certificate, lower-case hex without separators. */
  readonly sha256: string;
  /** Lower-case hex. */
  readonly serial: string;
}

export interface DownstreamTls {
  /** The SNI name the client sent; '' without one. */
  readonly serverName: string;
  /** `TLSv1.3`, `TLSv1.2`, as OpenSSL names it. */
  readonly version: string;
  /** OpenSSL's name of the cipher suite, e.g. `TLS_AES_256_GCM_SHA384`. */
  readonly cipher: string;
  /** Its IANA registry number (0xC02F for TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256); undefined for one not in the table. */
  readonly cipherNumber: number | undefined;
  /** undefined when the client presented no certificate. */
  readonly peer: DownstreamPeer | undefined;
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
    const cipher = secure.getCipher();
    const standardName = cipher?.standardName;
    tls = {
      serverName: typeof serverName === "string" ? serverName : "",
      version: secure.getProtocol() ?? "",
      cipher: cipher?.name ?? "",
      cipherNumber: standardName !== undefined && Object.hasOwn(CIPHER_SUITE_NUMBERS, standardName) ? CIPHER_SUITE_NUMBERS[standardName] : undefined,
      peer: peerOf(secure),
    };
    noted[kDownstreamTls] = tls;
  }
  return tls;
}

function peerOf(socket: TLSSocket): DownstreamPeer | undefined {
  const certificate = socket.getPeerX509Certificate();
  if (certificate === undefined) return undefined;
  const names = subjectAltNames(certificate.subjectAltName);
  return {
    verified: socket.authorized,
    subject: rfc2253Name(certificate.subject),
    issuer: rfc2253Name(certificate.issuer),
    uriSans: names.uris,
    dnsSans: names.dns,
    sha256: certificate.fingerprint256.replaceAll(":", "").toLowerCase(),
    serial: certificate.serialNumber.toLowerCase(),
  };
}

/** The `connection` fields CEL environments read from the handshake; '' (and false) on plain HTTP or without a certificate. */
export function celConnectionTls(tls: DownstreamTls | undefined): ConnectionTlsActivation {
  const peer = tls?.peer;
  return {
    mtls: peer?.verified === true,
    requested_server_name: tls?.serverName ?? "",
    tls_version: tls?.version ?? "",
    subject_peer_certificate: peer?.subject ?? "",
    uri_san_peer_certificate: peer?.uriSans[0] ?? "",
    dns_san_peer_certificate: peer?.dnsSans[0] ?? "",
    sha256_peer_certificate_digest: peer?.sha256 ?? "",
  };
}
