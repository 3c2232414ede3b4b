// A collector that is black-holed: it accepts TCP connections and then never reads or
// writes a byte, so the exporter's HTTP/2 handshake and every export hang until the
// exporter's own timeout.
import { createServer, type Socket } from "node:net";
import { announceReady, guard } from "./guard.ts";

guard();
const held = new Set<Socket>();
const server = createServer({ pauseOnConnect: true }, (socket) => {
  held.add(socket);
  socket.on("error", () => {});
  socket.on("close", () => held.delete(socket));
});
server.listen(0, "127.0.0.1", () => {
  const address = server.address();
  announceReady({ port: typeof address === "object" && address !== null ? address.port : 0 });
});
