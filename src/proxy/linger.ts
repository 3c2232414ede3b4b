// How the gateway closes a client connection after its last answer: a lingering close, as
// Envoy's delayed close. The answer goes out with a FIN, and what the client still sends
// (the rest of an upload nobody read, requests behind the answer) is read and dropped, never
// parsed, until the client closes too, or LINGER_MS after the answer left. Closing at once
// instead has the kernel answer those later bytes with a reset, and a reset makes the
// client's kernel throw away whatever of the answer the client had not read yet: a client
// still uploading saw ECONNRESET instead of its 413.
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
  // A reset while lingering is the client going away: nothing to report.
  socket.on("error", ignoreError);
  stopParsing(socket);
  socket.resume();
  restartReads(socket);
}

/** A socket's native handle, as node:http drives it while its parser reads the socket. */
interface HandledSocket {
  _handle?: { reading?: boolean; readStart?: () => number } | null;
}

/**
 * node:http, while its parser read the socket, stopped the handle's reads for a body it held
 * back, beneath a stream that still reads as flowing, so resuming the stream does not start
 * them again. This starts them as node:http itself does on its socket's 'resume'.
 */
function restartReads(socket: Duplex): void {
  const handle = (socket as HandledSocket)._handle;
  if (handle === undefined || handle === null || handle.reading !== false || typeof handle.readStart !== "function") return;
  handle.reading = true;
  handle.readStart();
}

/**
 * Bytes that come in once the gateway ended the connection are dropped, never parsed: the
 * rest of a request body (which node's parser would stop reading once its consumer, such as
 * undici after the upstream answered, gave up), and requests sent behind the last answer.
 * Parsed, such a request would be served where its answer can never go out, and a flood of
 * them would queue without bound in node's pipelining queues. Listening for 'data' makes
 * node:http hand the socket's bytes back to JavaScript (it stops feeding its parser
 * directly); then only this listener gets them.
 */
function stopParsing(socket: Duplex): void {
  socket.on("data", dropData);
  for (const listener of socket.listeners("data")) {
    if (listener !== dropData) socket.off("data", listener as (chunk: Buffer) => void);
  }
}

function dropData(): void {}

function ignoreError(): void {}

function destroyOnceFlushed(this: Duplex): void {
  if (this.writableFinished) this.destroy();
  else this.once("finish", this.destroy);
}

function destroySocket(socket: Duplex): void {
  socket.destroy();
}
