// One request written as raw bytes, for what node's HTTP client would refuse to send or hide
// in what it received: the bytes of everything the gateway answered, read as latin1.
import { once } from "node:events";
import net from "node:net";

/** Writes `bytes` on a fresh connection to 127.0.0.1:`port` and returns everything sent back until the connection closed. */
export async function rawExchange(port: number, bytes: string): Promise<string> {
  const socket = net.connect(port, "127.0.0.1");
  await once(socket, "connect");
  let text = "";
  socket.on("data", (c: Buffer) => (text += c.toString("latin1")));
  socket.write(bytes);
  await once(socket, "close");
  return text;
}
