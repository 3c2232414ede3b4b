// A client that writes before it reads: it sends a request's start, waits while the gateway
// answers and ends its side, sends more, and only then reads. Against a gateway that closed
// at once, the late bytes drew a reset that threw the unread answer away.
import { once } from "node:events";
import { type Socket, connect } from "node:net";
import { setTimeout as delay } from "node:timers/promises";

export interface LateUploadOutcome {
  /** Everything the client read, as Latin-1. */
  readonly received: string;
  /** The error the connection ended with, if any (ECONNRESET when the answer was lost). */
  readonly failure: Error | undefined;
}

/**
 * The late upload: a gateway that does not read and drop it still holds it in the kernel when
 * it closes, and the close becomes the reset (the loopback buffers may hold all of it).
 */
export const LATE_BYTES = 8 * 1024 * 1024;

export interface LateUploadTiming {
  /** How long after `first` the late bytes go: the answer went out and the gateway ended its side. */
  readonly beforeLateMs?: number;
  /** How long after the late bytes the client reads: they reached the gateway. */
  readonly afterLateMs?: number;
}

/** A plain TCP connection to 127.0.0.1:`port`, paused from before it connected: the client reads nothing yet. */
export async function pausedConnection(port: number): Promise<Socket> {
  const socket = connect(port, "127.0.0.1");
  const connected = once(socket, "connect");
  socket.pause();
  await connected;
  return socket;
}

/**
 * `socket`: connected and paused since before it connected (pausedConnection, or a TLS one). Writes `first`, then `lateBytes`
 * once the answer had time to go out, then reads until the connection closes.
 */
export async function readAfterLateUpload(socket: Socket, first: readonly (string | Buffer)[], lateBytes = LATE_BYTES, timing: LateUploadTiming = {}): Promise<LateUploadOutcome> {
  for (const part of first) await written(socket, part);
  await delay(timing.beforeLateMs ?? 300);
  await written(socket, Buffer.alloc(lateBytes, 98));
  await delay(timing.afterLateMs ?? 300);
  let received = "";
  let failure: Error | undefined;
  socket.on("error", (error) => (failure = error));
  socket.setEncoding("latin1");
  socket.on("data", (chunk: string) => (received += chunk));
  const closed = new Promise<void>((resolve) => socket.once("close", () => resolve()));
  socket.resume();
  await closed;
  return { received, failure };
}

export function written(socket: Socket, data: string | Buffer): Promise<void> {
  return new Promise((resolve, reject) => socket.write(data, (error) => (error ? reject(error) : resolve())));
}
