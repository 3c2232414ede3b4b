// A TLS 1.3 server checks the client's certificate after the client has finished its side
// of the handshake, so a refusal (no certificate, an untrusted one) arrives as an alert on a
// connection the request was already written to: a read error, then the end of the stream.
// undici reports the end ("other side closed") in place of the error, and the refusal would
// read as the upstream resetting the request. Closing the socket at such an alert leaves the
// alert as the request's error, classified as the TLS failure it is. Only an alert before
// the connection read anything is taken so: a later one (mid-response, or on a reused
// connection) is the upstream ending a working connection, and stays a reset.
import type { Socket } from "node:net";

/** Watches a freshly connected TLS socket for the peer refusing it before sending anything. */
export function keepTlsAlerts(socket: Socket): void {
  let received = false;
  socket.once("readable", () => (received = true));
  socket.on("error", (error: Error & { code?: unknown }) => {
    if (!received && typeof error.code === "string" && error.code.startsWith("ERR_SSL_")) socket.destroy();
  });
}
