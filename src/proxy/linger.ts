// How the gateway closes a client connection after its last answer: a lingering close, as
// Envoy's delayed close. The answer goes out with a FIN, and what the client still sends
// (the rest of an upload nobody read) is read and dropped until the client closes too, or
// LINGER_MS after the answer left. Closing at once instead has the kernel answer those later
// bytes with a reset, and a reset makes the client's kernel throw away whatever of the answer
// the client had not read yet: a client still uploading saw ECONNRESET instead of its 413.
import type { IncomingMessage } from "node:http";
import type { Socket } from "node:net";
import type { Duplex } from "node:stream";

/** How long a client may take to read the last answer and close once all of it left. */
const LINGER_MS = 2_000;

const lingering = new WeakSet<Duplex>();

/** Ends `socket` after `data`, then lingers: see the top of this file. */
export function endAndLinger(socket: Duplex, data?: string | Buffer): void {
  if (socket.destroyed) return;
  socket.end(data);
  lingerOnceFlushed(socket);
}

/**
 * Makes node's own end of a connection (`Connection: close`, an unread body, a drain) a
 * lingering close. node ends a connection after its last response with `destroySoon`, which
 * destroys the socket as soon as the answer is handed to the kernel.
 */
export function closeByLingering(socket: Socket): void {
  socket.destroySoon = lingeringDestroySoon;
}

/** The gateway already ended `socket` and is letting the client read its last answer. */
export function isLingering(socket: Duplex): boolean {
  return lingering.has(socket);
}

function lingeringDestroySoon(this: Socket): void {
  if (this.writable) this.end();
  lingerOnceFlushed(this);
}

function lingerOnceFlushed(socket: Duplex): void {
  if (lingering.has(socket)) return;
  lingering.add(socket);
  // Callers end a socket whose answer node already handed to the kernel, or a short one of
  // their own, so the FIN leaves at once; a socket that cannot send even that (a TLS
  // handshake that never finished) is cut after LINGER_MS too. Once it left, the client gets
  // LINGER_MS from then.
  const timer = setTimeout(destroySocket, LINGER_MS, socket);
  timer.unref();
  socket.once("close", () => clearTimeout(timer));
  if (!socket.writableFinished) socket.once("finish", () => timer.refresh());
  // The client's FIN: it has read what it wanted.
  socket.once("end", destroyOnceFlushed);
  // Bytes nobody will read are dropped instead of left in the kernel to draw the reset: the
  // rest of the request's body (node's parser stops reading for a body its consumer gave
  // up, such as undici once the upstream answered), and whatever the socket still holds.
  dropUnreadBody(socket);
  socket.resume();
}

/**
 * A request that came in on a connection the gateway already ended cannot be answered: it is
 * neither served nor seen, and its body is dropped with the rest.
 */
export function ignoreBehindClose(req: IncomingMessage): void {
  req.removeAllListeners("data");
  req.resume();
}

/** node's parser and the request it is reading, on a socket node:http serves (its internals). */
interface ParsedSocket {
  parser?: { incoming?: (IncomingMessage & { _dump?: () => void }) | null } | null;
}

function dropUnreadBody(socket: Duplex): void {
  const incoming = (socket as ParsedSocket).parser?.incoming;
  if (incoming === undefined || incoming === null || incoming.complete) return;
  // What node does itself to a body nobody consumed: the parser skips pushing what follows,
  // where pushing into a request its consumer destroyed would pause the socket again.
  if (typeof incoming._dump === "function") incoming._dump();
  else ignoreBehindClose(incoming);
}

function destroyOnceFlushed(this: Duplex): void {
  if (this.writableFinished) this.destroy();
  else this.once("finish", this.destroy);
}

function destroySocket(socket: Duplex): void {
  socket.destroy();
}
