// One request written as raw bytes, for what node's HTTP client would refuse to send or hide
// in what it received: the bytes of everything the gateway answered, read as latin1.
import { once } from "node:events";
import net from "node:net";

/**
 * Writes `chunks` on a fresh connection to 127.0.0.1:`port`, a few milliseconds apart so the
 * gateway reads each on its own, and returns everything sent back until the connection
 * closed. A write after the gateway closed the connection is skipped: what it sent back is
 * the answer.
 */
export async function rawExchange(port: number, ...chunks: (string | Buffer)[]): Promise<string> {
  const socket = net.connect(port, "127.0.0.1");
  await once(socket, "connect");
  let text = "";
  socket.on("data", (c: Buffer) => (text += c.toString("latin1")));
  socket.on("error", () => {});
  const closed = once(socket, "close");
  for (const [i, chunk] of chunks.entries()) {
    if (socket.destroyed) break;
    socket.write(chunk);
    if (i < chunks.length - 1) await new Promise((resolve) => setTimeout(resolve, 5));
  }
  await closed;
  return text;
}
