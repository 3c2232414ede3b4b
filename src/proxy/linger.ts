// A connection the gateway ends after its last answer: the client gets a moment to read it,
// then the socket is cut, so a client that never closes its side cannot hold it open.
import type { Duplex } from "node:stream";

/** How long a client may take to read the last answer on a connection being ended. */
const LINGER_MS = 2_000;

/** Ends `socket` after `data`, and destroys it LINGER_MS later if the client has not closed it. */
export function endAndLinger(socket: Duplex, data?: string | Buffer): void {
  if (socket.destroyed) return;
  socket.end(data);
  setTimeout(destroySocket, LINGER_MS, socket).unref();
}

function destroySocket(socket: Duplex): void {
  socket.destroy();
}
